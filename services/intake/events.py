"""What intake applies from other services' events."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.compensation_requests import CompensationRequests
from services.intake.dependencies import work_of
from services.intake.models import Complaint, Merchant, TimelineEntry
from services.intake.repository.merchants import MerchantRepository
from shared.contracts.events import (
    ClaimApproved,
    ClaimEvent,
    ClaimRejected,
    EventEnvelope,
    PayeeNameGiven,
    PayeeNameRequired,
    PayoutFailed,
    PayoutSucceeded,
    SubjectEvent,
)
from shared.outbox import EventHandler


async def apply_subject(session: AsyncSession, event: SubjectEvent, envelope: EventEnvelope) -> None:
    """Keep the merchant read model that routing uses; an older revision never overwrites a newer one."""
    if event.kind != "merchant":
        return
    repo = MerchantRepository(session)
    merchant = await repo.get(event.subject_id)
    if merchant is None:
        merchant = Merchant(id=event.subject_id)
        repo.add(merchant)
    elif merchant.revision > event.revision:
        return
    merchant.name = event.name
    merchant.region_code = event.region_code
    merchant.industry = event.industry.value if event.industry else None
    merchant.settled = event.settled
    merchant.uscc = event.uscc
    merchant.in_compensation_program = event.in_compensation_program
    merchant.revision = event.revision
    merchant.updated_at = envelope.occurred_at


async def apply_claim(session: AsyncSession, event: ClaimEvent, envelope: EventEnvelope) -> None:
    """The claim's progress shows on the complaint's timeline, and a payout on the complaint itself."""
    complaint = await session.get(Complaint, event.complaint_id)
    if complaint is None:
        return
    data: dict[str, Any] = {"claim_id": event.claim_id}
    note = None
    if isinstance(event, ClaimApproved):
        kind, state, data["amount_fen"] = "compensation_approved", "approved", event.amount_fen
    elif isinstance(event, ClaimRejected):
        kind, state, note = "compensation_rejected", "rejected", event.reason
    elif isinstance(event, PayoutSucceeded):
        kind, state, data["amount_fen"] = "advance_compensation_paid", "paid", event.amount_fen
        complaint.compensation_paid_fen = event.amount_fen
    else:
        assert isinstance(event, PayoutFailed)
        kind, state, note = "compensation_payout_failed", "payout_failed", event.reason
    complaint.compensation_state = state
    session.add(
        TimelineEntry(
            complaint_id=complaint.id,
            at=envelope.occurred_at,
            kind=kind,
            actor_role="service",
            actor_id="compensation",
            actor_name="先行赔付",
            note=note,
            data=data,
        )
    )


HANDLERS: dict[str, EventHandler] = {
    "subject.registered": apply_subject,
    "subject.updated": apply_subject,
    "claim.approved": apply_claim,
    "claim.rejected": apply_claim,
    "payout.succeeded": apply_claim,
    "payout.failed": apply_claim,
}


def handlers(app: FastAPI) -> dict[str, EventHandler]:
    """HANDLERS, and those that act through the lifecycle (they write events of their own)."""

    def requests(session: AsyncSession) -> CompensationRequests:
        return CompensationRequests(work_of(app.state, session))

    async def payee_name_required(session: AsyncSession, event: PayeeNameRequired, envelope: EventEnvelope) -> None:
        """The payout waits for the payee's real name: the timeline shows it and the tourist is asked for it."""
        complaint = await session.get(Complaint, event.complaint_id)
        if complaint is not None:
            await requests(session).ask_for_payee_name(
                complaint, event.claim_id, event.amount_fen, envelope.occurred_at
            )

    async def payee_name_given(session: AsyncSession, event: PayeeNameGiven, envelope: EventEnvelope) -> None:
        complaint = await session.get(Complaint, event.complaint_id)
        if complaint is not None:
            requests(session).payee_name_given(complaint, event.claim_id, event.given_by, envelope.occurred_at)

    return {
        **HANDLERS,
        "claim.payee_name_required": payee_name_required,
        "claim.payee_name_given": payee_name_given,
    }
