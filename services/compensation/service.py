"""Compensation's rules in motion: claims and approvals, funds and deposits, payout outcomes, recovery.

No HTTP here and no provider calls (payouts.py sends the money); every movement of money goes
through the ledger in the same transaction as the state it explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation import deposits
from services.compensation import ledger as accounts
from services.compensation.config import CompensationSettings
from services.compensation.funds import paying_fund
from services.compensation.ledger import InsufficientBalance, Ledger
from services.compensation.models import (
    Claim,
    ClaimApproval,
    Fund,
    Payout,
    ProgramMerchant,
    RecoveryOrder,
    RuleSet,
)
from services.compensation.payee_names import PayeeNames, awaits_name, check_open, given_by, may_give
from services.compensation.rules import ClaimFacts, evaluate, first_rules
from shared.auth import may_see
from shared.clock import SHANGHAI, Clock
from shared.contracts.compensation import (
    ApprovalIn,
    ClaimRejectionIn,
    ClaimState,
    ContestIn,
    DryRunIn,
    DryRunOut,
    PayoutState,
    RecoveryPaymentIn,
    RecoveryState,
    RuleSetIn,
    TopUpIn,
    WriteOffIn,
)
from shared.contracts.events import (
    ClaimApproved,
    ClaimRejected,
    CompensationRequested,
    PayeeNameGiven,
    PayeeNameRequired,
    PayoutFailed,
    PayoutSucceeded,
    RecoveryDefaulted,
    RecoverySettled,
)
from shared.contracts.identity import Identity, Role, region_covers
from shared.errors import Conflict, Forbidden, InvalidTransition, Problem
from shared.ids import new_id
from shared.outbox import Outbox

WECHAT_CHANNELS = {"wechat_miniprogram", "wechat_official_account"}


class FundInsufficient(Conflict):
    code, title = "fund_insufficient", "Fund insufficient"


class AlreadyApproved(Conflict):
    code, title = "already_approved", "Already approved"


class LiabilityNotEstablished(Conflict):
    code, title = "liability_not_established", "Liability not established"


class NotYourRegion(Forbidden):
    code, title = "not_your_region", "Not your region"


def payout_channel(complaint_channel: str) -> str:
    return "wechat" if complaint_channel in WECHAT_CHANNELS else "alipay"


def start_of_year(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    return datetime(local.year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Compensation:
    session: AsyncSession
    clock: Clock
    settings: CompensationSettings
    outbox: Outbox
    batch: bool = False  # the payout worker's mode: ledger postings and events are written by `flush()`

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.session, self.clock, deferred=self.batch)
        self.payee_names = PayeeNames.of(self.session, self.settings)
        self._events: list[Any] = []
        self._finished: set[str] = set()  # batch mode: complaints whose claims finished, their payee names to forget

    async def _emit(self, event: Any) -> None:
        if self.batch:
            self._events.append(event)
        else:
            await self.outbox.emit(self.session, event)

    async def flush(self) -> None:
        """Batch mode: write the deferred ledger postings, then the events, each in one go."""
        await self.ledger.flush()
        events, self._events = self._events, []
        await self.outbox.emit_all(self.session, events)
        finished, self._finished = self._finished, set()
        await self.payee_names.forget(finished)

    async def _claim_finished(self, claim: Claim) -> None:
        """A paid or rejected claim needs its payee's name no more: it goes in the same transaction."""
        if self.batch:
            self._finished.add(claim.complaint_id)
        else:
            await self.payee_names.forget([claim.complaint_id])

    # --- rules ------------------------------------------------------------------------------------
    async def current_rules(self) -> RuleSet:
        rules = (
            await self.session.execute(select(RuleSet).order_by(RuleSet.version.desc()).limit(1))
        ).scalar_one_or_none()
        if rules is None:  # the first version, as issued, on a new database
            rules = RuleSet(
                version=1,
                document=first_rules().model_dump(mode="json"),
                created_by="system",
                created_at=self.clock.now(),
            )
            self.session.add(rules)
            await self.session.flush()
        return rules

    async def new_rules(self, body: RuleSetIn, actor: Identity) -> RuleSet:
        """A new version; claims keep the version they were decided under."""
        current = await self.current_rules()
        rules = RuleSet(
            version=current.version + 1,
            document=body.model_dump(mode="json"),
            created_by=actor.subject,
            created_at=self.clock.now(),
        )
        self.session.add(rules)
        await self.session.flush()
        return rules

    async def dry_run(self, rules_row: RuleSet, body: DryRunIn) -> DryRunOut:
        """What a claim would get under one version of the rules; nothing is written."""
        rules = RuleSetIn.model_validate(rules_row.document)
        enrolled = ProgramMerchant(id="dry-run", name="dry run", settled=True, in_compensation_program=True)
        decision = evaluate(
            rules,
            ClaimFacts(
                industry=body.industry,
                merchant=enrolled,
                amount_involved_fen=body.amount_involved_fen,
                amount_requested_fen=body.amount_requested_fen,
                scenario=body.scenario,
                evidence_count=1,
                liability_clear=True,
                paid_this_year_fen=body.paid_this_year_fen,
                fund_balance_fen=10**15,
                fund_floor_fen=0,
                region_code=body.region_code,
                registered_at=body.registered_at or self.clock.now(),
                given=dict(body.facts),
            ),
        )
        assumed = {"merchant_settled", "merchant_in_program", "evidence_present", "liability_clear", "fund_above_floor"}
        return DryRunOut(
            rule_version=rules_row.version,
            eligible=decision.eligible,
            amount_fen=decision.amount_fen,
            approvals_needed=decision.approvals_needed,
            decided_by=decision.decided_by,
            reasons=[r for r in decision.reasons if r.code not in assumed],
            assumed="a settled merchant in the program, evidence attached, liability clear, a fund that can pay",
        )

    # --- funds and deposits -----------------------------------------------------------------------
    async def fund(self, region_code: str) -> Fund:
        fund = await self.session.get(Fund, region_code)
        if fund is None:
            fund = Fund(region_code=region_code, floor_fen=0, created_at=self.clock.now())
            self.session.add(fund)
            await self.session.flush()
        return fund

    async def top_up_fund(self, region_code: str, body: TopUpIn, actor: Identity) -> None:
        await self.fund(region_code)
        await self.ledger.post(
            "fund_top_up",
            body.reference,
            [(accounts.external("budget"), -body.amount_fen), (accounts.fund(region_code), body.amount_fen)],
            region_code=region_code,
            memo=f"by {actor.subject}",
        )

    async def top_up_deposit(self, merchant: ProgramMerchant, body: TopUpIn, actor: Identity) -> None:
        await self.ledger.post(
            "deposit_top_up",
            body.reference,
            [(accounts.external("merchants"), -body.amount_fen), (accounts.deposit(merchant.id), body.amount_fen)],
            region_code=merchant.region_code,
            memo=f"by {actor.subject}",
        )
        await deposits.note_top_up(self.session, self.ledger, merchant.id, self.clock.now())

    # --- claims -----------------------------------------------------------------------------------
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
        rules_row = await self.current_rules()
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
            raise Conflict("This complaint already has a claim.", code="claim_exists") from exc
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
            raise Forbidden("Only officials decide on claims.", code="action_not_allowed")
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
            raise Problem("Only a complainant with a mini-program account can be paid.", status=409, code="no_payee")
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
                channel=payout_channel(claim.channel),
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

    # --- payout outcomes (payouts.py and notifications call these with the payout row locked) -----
    async def payout_processing(self, payout: Payout, provider_ref: str | None) -> None:
        """The provider took the money order: it is in transit (payable -> clearing)."""
        if not payout.in_clearing:
            await self.ledger.post(
                "payout_sent",
                payout.id,
                [
                    (accounts.payable(payout.consumer_id), -payout.amount_fen),
                    (accounts.clearing(payout.channel), payout.amount_fen),
                ],
                region_code=payout.region_code,
            )
            payout.in_clearing = True
        payout.state, payout.provider_ref = PayoutState.processing, provider_ref or payout.provider_ref
        payout.next_attempt_at = self.clock.now() + timedelta(seconds=self.settings.payout_poll_seconds)

    async def payout_succeeded(self, payout: Payout, provider_ref: str | None) -> None:
        """The consumer has the money. Records first, money last: the ledger's hot rows stay locked briefly."""
        if payout.state == PayoutState.succeeded:
            return
        now = self.clock.now()
        source = accounts.clearing(payout.channel) if payout.in_clearing else accounts.payable(payout.consumer_id)
        payout.state, payout.succeeded_at, payout.in_clearing, payout.lease_until = (
            PayoutState.succeeded,
            now,
            False,
            None,
        )
        payout.provider_ref = provider_ref or payout.provider_ref
        claim = await self.session.get(Claim, payout.claim_id)
        assert claim is not None
        claim.state = ClaimState.paid
        await self._claim_finished(claim)
        await self._emit(
            PayoutSucceeded(
                claim_id=claim.id,
                complaint_id=claim.complaint_id,
                merchant_id=claim.merchant_id,
                payout_id=payout.id,
                amount_fen=payout.amount_fen,
            )
        )
        order = self._new_recovery(claim, payout) if claim.merchant_id else None
        if not self.batch:
            await self.session.flush()
        await self.ledger.post(
            "payout_succeeded",
            payout.id,
            [(source, -payout.amount_fen), (accounts.external("consumers"), payout.amount_fen)],
            region_code=payout.region_code,
        )
        if order is not None:
            await self._open_recovery(order)

    async def payout_failed(self, payout: Payout, reason: str) -> None:
        if payout.state in (PayoutState.succeeded, PayoutState.failed):
            return
        if payout.in_clearing:
            await self.ledger.post(
                "payout_returned",
                payout.id,
                [
                    (accounts.clearing(payout.channel), -payout.amount_fen),
                    (accounts.payable(payout.consumer_id), payout.amount_fen),
                ],
                region_code=payout.region_code,
            )
            payout.in_clearing = False
        payout.state, payout.failure_reason, payout.lease_until = PayoutState.failed, reason, None
        claim = await self.session.get(Claim, payout.claim_id)
        assert claim is not None
        claim.state = ClaimState.payout_failed
        await self._emit(
            PayoutFailed(
                claim_id=claim.id,
                complaint_id=claim.complaint_id,
                merchant_id=claim.merchant_id,
                payout_id=payout.id,
                reason=reason,
            )
        )

    async def payout_awaiting_payee_name(self, payout: Payout) -> None:
        """Not sent: the provider needs the payee's real name for this amount. It waits (the money stays reserved)
        and the tourist is asked; giving the name sends it."""
        claim = await self.session.get(Claim, payout.claim_id)
        assert claim is not None
        if await self.payee_names.rows([claim.complaint_id]):
            # Given while this payout was on its way out without it: send it again now, with the name.
            payout.state, payout.lease_until, payout.next_attempt_at = PayoutState.pending, None, self.clock.now()
            self.session.info["payouts_queued"] = True
            return
        payout.state, payout.lease_until, payout.failure_reason = PayoutState.awaiting_payee_name, None, None
        claim.state = ClaimState.awaiting_payee_name
        await self._emit(
            PayeeNameRequired(
                claim_id=claim.id,
                complaint_id=claim.complaint_id,
                merchant_id=claim.merchant_id,
                payout_id=payout.id,
                amount_fen=payout.amount_fen,
                channel=payout.channel,
            )
        )

    async def give_payee_name(self, claim: Claim, payout: Payout | None, name: str, actor: Identity) -> Claim:
        """Keep the payee's name (given with consent) for an open claim; a payout waiting for it goes out."""
        may_give(actor, claim)
        check_open(claim)
        if claim.consumer_id is None:
            raise Problem("Only a complainant with a mini-program account can be paid.", status=409, code="no_payee")
        await self.payee_names.keep(claim.complaint_id, claim.consumer_id, name, given_by(actor), self.clock.now())
        if awaits_name(claim, payout):
            assert payout is not None
            payout.state, payout.next_attempt_at = PayoutState.pending, self.clock.now()
            claim.state = ClaimState.approved
            self.session.info["payouts_queued"] = True
        await self._emit(
            PayeeNameGiven(
                claim_id=claim.id,
                complaint_id=claim.complaint_id,
                merchant_id=claim.merchant_id,
                given_by=given_by(actor),
            )
        )
        await self.session.flush()
        return claim

    async def withdraw_payee_name(self, claim: Claim, actor: Identity) -> Claim:
        """The tourist takes the name back (or an official for them): a payout that needs it waits again."""
        may_give(actor, claim)
        await self.payee_names.forget([claim.complaint_id])
        return claim

    # --- recovery ---------------------------------------------------------------------------------
    def _new_recovery(self, claim: Claim, payout: Payout) -> RecoveryOrder:
        """Every payout is owed back by the merchant."""
        assert claim.merchant_id is not None
        now = self.clock.now()
        order = RecoveryOrder(
            id=new_id("rcv"),
            claim_id=claim.id,
            complaint_id=claim.complaint_id,
            merchant_id=claim.merchant_id,
            region_code=claim.region_code,
            fund_region_code=claim.fund_region_code,
            amount_fen=payout.amount_fen,
            recovered_fen=0,
            state=RecoveryState.open,
            due_by=now + timedelta(days=self.settings.recovery_days),
            created_at=now,
        )
        self.session.add(order)
        return order

    async def _open_recovery(self, order: RecoveryOrder) -> None:
        """Book what the merchant owes, and draw it from the deposit at once where the deposit can."""
        await self.ledger.post(
            "recovery_opened",
            order.id,
            [
                (accounts.receivable(order.merchant_id), order.amount_fen),
                (accounts.advanced(order.fund_region_code), -order.amount_fen),
            ],
            region_code=order.region_code,
        )
        available = await self.ledger.balance(accounts.deposit(order.merchant_id))
        draw = min(available, order.amount_fen)
        if draw > 0:
            await self._recover(order, draw, source=accounts.deposit(order.merchant_id), kind="deposit_drawn")

    async def _recover(
        self, order: RecoveryOrder, amount: int, *, source: str, kind: str, reference: str | None = None
    ) -> None:
        await self.ledger.post(
            kind,
            reference or order.id,
            [
                (source, -amount),
                (accounts.fund(order.fund_region_code), amount),
                (accounts.receivable(order.merchant_id), -amount),
                (accounts.advanced(order.fund_region_code), amount),
            ],
            region_code=order.region_code,
        )
        order.recovered_fen += amount
        if order.recovered_fen >= order.amount_fen:
            order.state, order.closed_at = RecoveryState.settled, self.clock.now()
            await self._emit(
                RecoverySettled(
                    claim_id=order.claim_id,
                    complaint_id=order.complaint_id,
                    merchant_id=order.merchant_id,
                    recovery_id=order.id,
                    amount_fen=order.recovered_fen,
                )
            )

    def _open_for_action(self, order: RecoveryOrder, *states: RecoveryState) -> None:
        if order.state not in states:
            raise InvalidTransition(f"A recovery order in state {order.state} does not allow that.", state=order.state)

    async def record_payment(self, order: RecoveryOrder, actor: Identity, body: RecoveryPaymentIn) -> RecoveryOrder:
        """Money recovered: paid by the merchant, or returned by the consumer after a private settlement."""
        self._require_official(order, actor)
        self._open_for_action(order, RecoveryState.open, RecoveryState.contested, RecoveryState.defaulted)
        outstanding = order.amount_fen - order.recovered_fen
        if body.amount_fen > outstanding:
            raise Conflict(f"Only {outstanding} fen is outstanding.", code="amount_above_outstanding")
        source = accounts.external("consumers" if body.source == "private_settlement" else "merchants")
        await self._recover(
            order, body.amount_fen, source=source, kind=f"recovery_{body.source}", reference=body.reference
        )
        return order

    async def draw_deposit(self, order: RecoveryOrder, actor: Identity, amount_fen: int | None) -> RecoveryOrder:
        """An official draws the merchant's deposit for a recovery order, at any time (all it can, by default)."""
        self._require_official(order, actor)
        self._open_for_action(order, RecoveryState.open, RecoveryState.contested, RecoveryState.defaulted)
        outstanding = order.amount_fen - order.recovered_fen
        available = await self.ledger.balance(accounts.deposit(order.merchant_id))
        amount = amount_fen if amount_fen is not None else min(outstanding, available)
        if amount > outstanding:
            raise Conflict(f"Only {outstanding} fen is outstanding.", code="amount_above_outstanding")
        if amount <= 0 or amount > available:
            raise InsufficientBalance(
                f"The deposit holds {available} fen; {amount} fen cannot be drawn from it.",
                account=accounts.deposit(order.merchant_id),
            )
        await self._recover(order, amount, source=accounts.deposit(order.merchant_id), kind="deposit_drawn")
        return order

    async def contest(self, order: RecoveryOrder, actor: Identity, body: ContestIn) -> RecoveryOrder:
        if actor.role != Role.merchant_staff or actor.merchant_id != order.merchant_id:
            raise Forbidden("Only the merchant can contest its recovery order.", code="action_not_allowed")
        self._open_for_action(order, RecoveryState.open, RecoveryState.defaulted)
        order.state, order.contest_reason = RecoveryState.contested, body.reason
        return order

    async def write_off(self, order: RecoveryOrder, actor: Identity, body: WriteOffIn) -> RecoveryOrder:
        """An official gives up the rest (a contest upheld, a merchant gone); the fund bears the loss."""
        self._require_official(order, actor)
        self._open_for_action(order, RecoveryState.open, RecoveryState.contested, RecoveryState.defaulted)
        rest = order.amount_fen - order.recovered_fen
        await self.ledger.post(
            "recovery_written_off",
            order.id,
            [(accounts.receivable(order.merchant_id), -rest), (accounts.advanced(order.fund_region_code), rest)],
            region_code=order.region_code,
        )
        order.state, order.write_off_reason, order.closed_at = RecoveryState.written_off, body.reason, self.clock.now()
        return order

    def _require_official(self, order: RecoveryOrder, actor: Identity) -> None:
        if actor.role not in (Role.official, Role.admin) or not may_see(actor, region=order.region_code):
            raise Forbidden("Only the region's officials can do that.", code="action_not_allowed")

    async def default_overdue_recoveries(self) -> int:
        """Open orders past their due date default; credit hears of it."""
        now = self.clock.now()
        orders = (
            await self.session.scalars(
                select(RecoveryOrder)
                .where(RecoveryOrder.state == RecoveryState.open, RecoveryOrder.due_by <= now)
                .with_for_update()
            )
        ).all()
        for order in orders:
            order.state = RecoveryState.defaulted
            await self._emit(
                RecoveryDefaulted(
                    claim_id=order.claim_id,
                    complaint_id=order.complaint_id,
                    merchant_id=order.merchant_id,
                    recovery_id=order.id,
                    amount_fen=order.amount_fen - order.recovered_fen,
                )
            )
        return len(orders)
