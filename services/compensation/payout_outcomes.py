"""Payouts' outcomes, as the payout worker and the providers' notifications learn them (with the payout row
locked), and the payee's real name a payout may wait for."""

from __future__ import annotations

from datetime import timedelta

from services.compensation import ledger as accounts
from services.compensation.errors import NoPayee
from services.compensation.models import Claim, Payout
from services.compensation.part import Part
from services.compensation.payee_names import awaits_name, check_open, given_by, may_give
from shared.contracts.compensation import ClaimState, PayoutState
from shared.contracts.events import PayeeNameGiven, PayeeNameRequired, PayoutFailed, PayoutSucceeded
from shared.contracts.identity import Identity


class PayoutOutcomes(Part):
    """What happened to a payout, in the ledger and the claim; and the name it may wait for."""

    async def processing(self, payout: Payout, provider_ref: str | None) -> None:
        """The provider took the money order: it is in transit (payable -> clearing)."""
        if not payout.in_clearing:
            await self.ledger.post(
                "payout_sent",
                payout.id,
                [
                    (accounts.payable(payout.consumer_id), -payout.amount_fen),
                    (accounts.clearing(payout.provider), payout.amount_fen),
                ],
                region_code=payout.region_code,
            )
            payout.in_clearing = True
        payout.state, payout.provider_ref = PayoutState.processing, provider_ref or payout.provider_ref
        payout.next_attempt_at = self.clock.now() + timedelta(seconds=self.settings.payout_poll_seconds)

    async def succeeded(self, payout: Payout, provider_ref: str | None) -> None:
        """The consumer has the money. Records first, money last: the ledger's hot rows stay locked briefly."""
        if payout.state == PayoutState.succeeded:
            return
        now = self.clock.now()
        source = accounts.clearing(payout.provider) if payout.in_clearing else accounts.payable(payout.consumer_id)
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
        order = self.compensation.recovery.new_order(claim, payout) if claim.merchant_id else None
        if not self.batch:
            await self.session.flush()
        await self.ledger.post(
            "payout_succeeded",
            payout.id,
            [(source, -payout.amount_fen), (accounts.external("consumers"), payout.amount_fen)],
            region_code=payout.region_code,
        )
        if order is not None:
            await self.compensation.recovery.open_order(order)

    async def failed(self, payout: Payout, reason: str) -> None:
        if payout.state in (PayoutState.succeeded, PayoutState.failed):
            return
        if payout.in_clearing:
            await self.ledger.post(
                "payout_returned",
                payout.id,
                [
                    (accounts.clearing(payout.provider), -payout.amount_fen),
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

    async def awaiting_payee_name(self, payout: Payout) -> None:
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
                provider=payout.provider,
            )
        )

    async def give_payee_name(self, claim: Claim, payout: Payout | None, name: str, actor: Identity) -> Claim:
        """Keep the payee's name (given with consent) for an open claim; a payout waiting for it goes out."""
        may_give(actor, claim)
        check_open(claim)
        if claim.consumer_id is None:
            raise NoPayee("Only a complainant with a mini-program account can be paid.")
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
