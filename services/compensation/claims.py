"""Claims: opened from a compensation request and decided by the rules, approved by officials (the money
reserved and the payout queued), rejected, or their failed payout retried."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.compensation import ledger as accounts
from services.compensation.errors import (
    ActionNotAllowed,
    AlreadyApproved,
    ClaimExists,
    FundInsufficient,
    InsufficientBalance,
    LiabilityNotEstablished,
    NoPayee,
    NotYourRegion,
)
from services.compensation.funds import paying_fund
from services.compensation.models import Claim, ClaimApproval, Fund, Payout, ProgramMerchant
from services.compensation.part import Part
from services.compensation.providers.registry import registry
from services.compensation.rules import ClaimFacts, evaluate
from shared.clock import SHANGHAI
from shared.contracts.compensation import ApprovalIn, ClaimRejectionIn, ClaimState, PayoutState, RuleSetIn
from shared.contracts.events import ClaimApproved, ClaimRejected, CompensationRequested
from shared.contracts.identity import Identity, Role, region_covers
from shared.errors import InvalidTransition
from shared.ids import new_id


def start_of_year(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    return datetime(local.year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)


class Claims(Part):
    """A claim from its request to its decision; the payout it queues is the payout worker's."""

    async def open_claim(self, request: CompensationRequested, registered_at: datetime | None = None) -> Claim:
        """A claim for a complaint, decided by the current rules; the same request twice is one claim.

        `registered_at` is when the request was made (the event's time), a fact standards may compare.
        """
        existing = (
            await self.session.execute(select(Claim).where(Claim.complaint_id == request.complaint_id))
        ).scalar_one_or_none()
        if existing is not None:
            return existing
        now = self.clock.now()
        rules_row = await self.compensation.rules.current_rules()
        rules = RuleSetIn.model_validate(rules_row.document)
        merchant = await self.session.get(ProgramMerchant, request.merchant_id) if request.merchant_id else None
        fund_region = await paying_fund(self.session, request.region_code)
        fund = await self.session.get(Fund, fund_region)
        paid_this_year = (
            await self.session.execute(
                select(func.coalesce(func.sum(Claim.amount_fen), 0)).where(
                    Claim.consumer_id == request.consumer_id,
                    Claim.state.in_(
                        [
                            ClaimState.approved,
                            ClaimState.awaiting_payee_name,
                            ClaimState.paid,
                            ClaimState.payout_failed,
                        ]
                    ),
                    Claim.created_at >= start_of_year(now),
                )
            )
        ).scalar_one()
        decision = evaluate(
            rules,
            ClaimFacts(
                industry=request.industry,
                merchant=merchant,
                amount_involved_fen=request.amount_involved_fen,
                amount_requested_fen=request.amount_requested_fen,
                scenario=request.scenario,
                evidence_count=request.evidence_count,
                liability_clear=request.liability_clear,
                paid_this_year_fen=int(paid_this_year),
                fund_balance_fen=await self.ledger.balance(accounts.fund(fund_region)),
                fund_floor_fen=fund.floor_fen if fund is not None else 0,
                region_code=request.region_code,
                registered_at=registered_at or now,
                given=dict(request.facts),
            ),
        )
        claim = Claim(
            id=new_id("clm"),
            complaint_id=request.complaint_id,
            consumer_id=request.consumer_id,
            channel=request.channel,
            merchant_id=request.merchant_id,
            region_code=request.region_code,
            fund_region_code=fund_region,
            industry=request.industry,
            amount_involved_fen=request.amount_involved_fen,
            amount_requested_fen=request.amount_requested_fen,
            amount_fen=decision.amount_fen,
            scenario=request.scenario,
            facts=dict(request.facts),
            request_reason=request.reason,
            state=ClaimState.pending_approval,
            rule_version=rules_row.version,
            decided_by=decision.decided_by,
            reasons=[r.model_dump() for r in decision.reasons],
            approvals_needed=decision.approvals_needed,
            liability_clear=request.liability_clear,
            opened_by=request.requested_by,
            created_at=now,
        )
        self.session.add(claim)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the same complaint's claim was opened concurrently
            raise ClaimExists("This complaint already has a claim.") from exc
        if not decision.eligible:
            failed = [
                r.code
                for r in decision.reasons
                if not r.passed and r.code not in ("liability_clear", "fund_above_floor")
            ]
            await self._reject(claim, "; ".join(failed))
        elif decision.approvals_needed == 0:
            await self._approve_fully(claim)
        return claim

    def _may_decide(self, claim: Claim, actor: Identity) -> None:
        if actor.role == Role.admin:
            return
        if actor.role != Role.official or not actor.region_code:
            raise ActionNotAllowed("Only officials decide on claims.")
        if not region_covers(actor.region_code, claim.region_code):
            raise NotYourRegion("This claim belongs to another region.")

    async def approve(self, claim: Claim, actor: Identity, body: ApprovalIn) -> Claim:
        """One official's approval; the claim is approved once the rules' number of officials agree."""
        self._may_decide(claim, actor)
        if claim.state != ClaimState.pending_approval:
            raise InvalidTransition(f"A claim in state {claim.state} cannot be approved.", state=claim.state)
        if not claim.liability_clear:
            if not body.liability_confirmed:
                raise LiabilityNotEstablished(
                    "The record does not show the merchant liable; confirm liability to approve."
                )
            claim.liability_clear = True
        approvals = list(
            (await self.session.scalars(select(ClaimApproval).where(ClaimApproval.claim_id == claim.id))).all()
        )
        if any(a.official_id == actor.subject for a in approvals):
            raise AlreadyApproved("You have already approved this claim; another official must approve.")
        self.session.add(
            ClaimApproval(
                claim_id=claim.id,
                official_id=actor.subject,
                official_name=actor.display_name,
                note=body.note,
                at=self.clock.now(),
            )
        )
        await self.session.flush()
        if len(approvals) + 1 >= claim.approvals_needed:
            await self._approve_fully(claim)
        return claim

    async def _approve_fully(self, claim: Claim) -> None:
        """Reserve the money (fund -> payable) and queue the payout, whose id is the provider's key."""
        if claim.consumer_id is None:
            raise NoPayee("Only a complainant with a mini-program account can be paid.")
        try:
            await self.ledger.post(
                "claim_approved",
                claim.id,
                [
                    (accounts.fund(claim.fund_region_code), -claim.amount_fen),
                    (accounts.payable(claim.consumer_id), claim.amount_fen),
                ],
                region_code=claim.region_code,
            )
        except InsufficientBalance as exc:
            raise FundInsufficient(f"The fund of region {claim.fund_region_code} cannot cover this claim.") from exc
        now = self.clock.now()
        claim.state, claim.decided_at = ClaimState.approved, now
        payout_id = new_id("pay")
        self.session.add(
            Payout(
                id=payout_id,
                claim_id=claim.id,
                provider=registry(self.settings).provider_for(claim.channel),
                consumer_id=claim.consumer_id,
                region_code=claim.region_code,
                out_no=payout_id.replace("_", ""),
                amount_fen=claim.amount_fen,
                state=PayoutState.pending,
                attempts=0,
                next_attempt_at=now,
                in_clearing=False,
                created_at=now,
            )
        )
        await self.session.flush()
        await self._emit(
            ClaimApproved(
                claim_id=claim.id,
                complaint_id=claim.complaint_id,
                merchant_id=claim.merchant_id,
                amount_fen=claim.amount_fen,
            )
        )
        self.session.info["payouts_queued"] = True

    async def reject(self, claim: Claim, actor: Identity, body: ClaimRejectionIn) -> Claim:
        self._may_decide(claim, actor)
        if claim.state == ClaimState.awaiting_payee_name:
            # Never sent (the tourist did not give the name): the payout is given up, its money goes back below.
            payout = (
                await self.session.execute(select(Payout).where(Payout.claim_id == claim.id).with_for_update())
            ).scalar_one()
            payout.state, payout.failure_reason = (
                PayoutState.failed,
                f"cancelled without the payee's name: {body.reason}",
            )
        if claim.state in (ClaimState.payout_failed, ClaimState.awaiting_payee_name):
            # The money was reserved for the consumer: give it back to the fund.
            await self.ledger.post(
                "claim_cancelled",
                claim.id,
                [
                    (accounts.payable(claim.consumer_id or ""), -claim.amount_fen),
                    (accounts.fund(claim.fund_region_code), claim.amount_fen),
                ],
                region_code=claim.region_code,
            )
        elif claim.state != ClaimState.pending_approval:
            raise InvalidTransition(f"A claim in state {claim.state} cannot be rejected.", state=claim.state)
        await self._reject(claim, body.reason)
        return claim

    async def _reject(self, claim: Claim, reason: str) -> None:
        claim.state, claim.rejection_reason, claim.decided_at = ClaimState.rejected, reason, self.clock.now()
        await self.session.flush()
        await self._claim_finished(claim)
        await self._emit(
            ClaimRejected(
                claim_id=claim.id, complaint_id=claim.complaint_id, merchant_id=claim.merchant_id, reason=reason
            )
        )

    async def retry_payout(self, claim: Claim, payout: Payout, actor: Identity) -> Claim:
        """Send a failed payout again, with the same key: the provider can never pay it twice."""
        self._may_decide(claim, actor)
        if claim.state != ClaimState.payout_failed or payout.state != PayoutState.failed:
            raise InvalidTransition("Only a failed payout can be retried.", state=claim.state)
        payout.state, payout.next_attempt_at, payout.failure_reason = PayoutState.pending, self.clock.now(), None
        claim.state = ClaimState.approved
        await self.session.flush()
        self.session.info["payouts_queued"] = True
        return claim
