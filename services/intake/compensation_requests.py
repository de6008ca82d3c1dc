"""Requests for advance compensation on a complaint; the compensation service decides and pays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.intake.errors import AlreadyRequested, AmountAboveInvolved, CompensationWindowClosed, NotInProgram
from services.intake.lifecycle import ACTIONS
from services.intake.models import Complaint
from services.intake.repository.merchants import MerchantRepository
from services.intake.transitions import Transitions
from shared.clock import shanghai_text
from shared.contracts.compensation import CompensationRequestIn
from shared.contracts.complaints import AtFault, ComplaintState
from shared.contracts.events import CompensationRequested
from shared.contracts.identity import Identity, Role
from shared.errors import InvalidTransition

S = ComplaintState

COMPENSATION = Identity(subject="compensation", role=Role.service, display_name="先行赔付")
ASK_PAYEE_NAME = "请补充收款人真实姓名以领取先行赔付"


@dataclass
class CompensationRequests:
    """Advance compensation (先行赔付) as the complaint sees it: asked for, and the payee's name the payout
    waits for."""

    work: Transitions

    async def request_compensation(self, c: Complaint, actor: Identity, body: CompensationRequestIn) -> Complaint:
        """Ask compensation to pay first; the complainant may once a deadline is missed or a response rejected."""
        self.work.authorize(c, actor, "compensation-requests")
        if c.compensation_requested_at is not None:
            raise AlreadyRequested("Compensation was already requested for this complaint.")
        if c.consumer_id is None:
            raise InvalidTransition(
                "Only a complaint filed from a mini-program account can be paid.",
                state=c.state,
                action="compensation_requested",
            )
        if c.state not in ACTIONS["compensation-requests"].allowed_from:
            raise InvalidTransition(
                f"A complaint in state {c.state} cannot be compensated.", state=c.state, action="compensation_requested"
            )
        after_closing: dict[str, Any] = {}
        if c.state == S.closed:
            # Only so long after closing (per region): then the case is settled for good.
            window = self.work.regions.get(c.region_code).compensation_after_closing
            closed_at = c.closed_at or c.resolved_at or c.submitted_at
            if self.work.clock.now() > closed_at + window:
                raise CompensationWindowClosed(
                    f"Compensation can be requested until {window.days} days after closing; this complaint was "
                    f"closed on {shanghai_text(closed_at)}.",
                    state=c.state,
                    closed_at=closed_at.isoformat(),
                    window_days=window.days,
                )
            after_closing = {"after_closing": True, "closed_at": closed_at.isoformat(), "window_days": window.days}
        missed = c.dispose_overdue or c.settle_overdue
        rejected_response = c.state == S.escalated and c.responded_at is not None
        if actor.role == Role.consumer and not (missed or rejected_response):
            raise InvalidTransition(
                "Compensation can be requested once the merchant missed its deadline or you rejected its response.",
                state=c.state,
                action="compensation_requested",
            )
        merchant = await MerchantRepository(self.work.session).get(c.merchant_id) if c.merchant_id else None
        if merchant is None or not merchant.settled or not merchant.in_compensation_program:
            raise NotInProgram("Only merchants settled in and enrolled in advance compensation are covered.")
        if c.amount_involved_fen and body.amount_requested_fen > c.amount_involved_fen and body.scenario is None:
            raise AmountAboveInvolved(
                "The amount requested exceeds the amount involved in the complaint.",
                errors=[{"field": "body.amount_requested_fen", "message": "exceeds amount_involved_fen"}],
            )
        c.compensation_requested_at, c.compensation_state = self.work.clock.now(), "requested"
        evidence = await self.work.evidence.counts([c.id])
        self.work.record(
            c,
            "compensation_requested",
            actor,
            note=body.reason,
            data={
                "amount_requested_fen": body.amount_requested_fen,
                "scenario": body.scenario,
                "payee_name_given": body.payee_name is not None,  # the name itself goes to compensation only
                **after_closing,
            },
        )
        await self.work.emit(
            c,
            CompensationRequested,
            amount_requested_fen=body.amount_requested_fen,
            reason=body.reason,
            amount_involved_fen=c.amount_involved_fen,
            evidence_count=evidence.get(c.id, 0),
            liability_clear=c.at_fault == AtFault.merchant or missed,
            scenario=body.scenario,
            facts=body.facts,
            requested_by="consumer" if actor.role == Role.consumer else actor.subject,
        )
        return c

    async def ask_for_payee_name(self, c: Complaint, claim_id: str, amount_fen: int, at: datetime) -> None:
        """The approved compensation waits for the payee's real name (the provider needs it for this amount): the
        timeline says so and the tourist is asked, in the app they complained from, though the state stays."""
        c.compensation_state = "awaiting_payee_name"
        data = {"claim_id": claim_id, "amount_fen": amount_fen}
        self.work.record(c, "payee_name_required", COMPENSATION, note=ASK_PAYEE_NAME, data=data, at=at)
        await self.work.announce(c, "payee_name_required", note=ASK_PAYEE_NAME, data=data, asks_consumer=True)

    def payee_name_given(self, c: Complaint, claim_id: str, by: str, at: datetime) -> None:
        """The payee's name was given on the claim (the name itself stays with compensation)."""
        if c.compensation_state == "awaiting_payee_name":
            c.compensation_state = "approved"
        self.work.record(c, "payee_name_given", COMPENSATION, data={"claim_id": claim_id, "given_by": by}, at=at)
