"""What compensation applies from other services' events."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation.models import ProgramMerchant
from services.compensation.service import Compensation
from shared.contracts.events import CompensationRequested, EventEnvelope, SubjectEvent
from shared.outbox import EventHandler


async def apply_subject(session: AsyncSession, event: SubjectEvent, envelope: EventEnvelope) -> None:
    """Keep who is settled in and enrolled; an older revision never overwrites a newer one."""
    if event.kind != "merchant":
        return
    merchant = await session.get(ProgramMerchant, event.subject_id)
    if merchant is None:
        merchant = ProgramMerchant(id=event.subject_id)
        session.add(merchant)
    elif merchant.revision > event.revision:
        return
    merchant.name, merchant.region_code = event.name, event.region_code
    merchant.industry = event.industry.value if event.industry else None
    merchant.settled, merchant.in_compensation_program = event.settled, event.in_compensation_program
    merchant.revision, merchant.updated_at = event.revision, envelope.occurred_at


def handlers(app: FastAPI) -> dict[str, EventHandler]:
    async def open_claim(session: AsyncSession, event: CompensationRequested, envelope: EventEnvelope) -> None:
        """A compensation request becomes a claim, decided by the rules at once."""
        state = app.state
        await Compensation(
            session=session, clock=state.clock, settings=state.settings, outbox=state.outbox
        ).claims.open_claim(event, registered_at=envelope.occurred_at)

    return {
        "subject.registered": apply_subject,
        "subject.updated": apply_subject,
        "compensation.requested": open_claim,
    }
