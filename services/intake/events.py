"""What intake applies from other services' events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Merchant
from services.intake.repository import MerchantRepository
from shared.contracts.events import EventEnvelope, SubjectEvent
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
    merchant.in_compensation_program = event.in_compensation_program
    merchant.revision = event.revision
    merchant.updated_at = envelope.occurred_at


HANDLERS: dict[str, EventHandler] = {
    "subject.registered": apply_subject,  # type: ignore[dict-item]
    "subject.updated": apply_subject,  # type: ignore[dict-item]
}
