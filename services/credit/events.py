"""What credit applies from other services' events: each becomes credit records, and the subject is rescored.

The record's source is the event id and the kind, so an event delivered twice counts once even past
the inbox. Complaints count against the merchant they were accepted against; a complaint resolved
with the consumer not at fault counts for the consumer (honest use).
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.archive import Archive
from shared.contracts.events import (
    ClaimEvent,
    ComplaintAccepted,
    ComplaintEvaluated,
    ComplaintResolved,
    EventEnvelope,
    RecoveryDefaulted,
)
from shared.outbox import EventHandler


def handlers(app: FastAPI) -> dict[str, EventHandler]:
    def archive(session: AsyncSession) -> Archive:
        state = app.state
        return Archive(session=session, clock=state.clock, outbox=state.outbox,
                       defence_days=state.settings.defence_days)

    async def record(session: AsyncSession, subject_id: str | None, kinds: list[tuple[str, int | None]],
                     envelope: EventEnvelope, reference: str, *, consumer: bool = False) -> None:
        if not subject_id or not kinds:
            return
        books = archive(session)
        ref = await books.subject(subject_id, consumer_on_first_use=consumer)
        if ref is None:
            return  # a merchant credit never settled in (named by the tourist only): nothing to score
        await books.record_and_rescore(ref, kinds, by=envelope.producer, source=envelope.id, reference=reference,
                                       occurred_at=envelope.occurred_at)

    async def accepted(session: AsyncSession, event: ComplaintAccepted, envelope: EventEnvelope) -> None:
        await record(session, event.merchant_id, [("complaint_accepted", None)], envelope, event.complaint_id)

    async def resolved(session: AsyncSession, event: ComplaintResolved, envelope: EventEnvelope) -> None:
        kinds: list[tuple[str, int | None]] = []
        if event.responded_in_time is not None:
            kinds.append(("responded_in_time" if event.responded_in_time else "responded_late",
                          event.minutes_to_respond))
        if event.at_fault in ("merchant", "shared"):
            kinds.append(("resolved_at_fault", None))
        await record(session, event.merchant_id, kinds, envelope, event.complaint_id)
        if event.at_fault != "consumer":
            await record(session, event.consumer_id, [("honest_complaint", None)], envelope, event.complaint_id,
                         consumer=True)

    async def evaluated(session: AsyncSession, event: ComplaintEvaluated, envelope: EventEnvelope) -> None:
        await record(session, event.merchant_id, [("rating", event.score)], envelope, event.complaint_id)

    async def recovery(session: AsyncSession, event: ClaimEvent, envelope: EventEnvelope) -> None:
        kind = "recovery_defaulted" if isinstance(event, RecoveryDefaulted) else "recovery_settled"
        await record(session, event.merchant_id, [(kind, None)], envelope, event.claim_id)

    return {
        "complaint.accepted": accepted,  # type: ignore[dict-item]
        "complaint.resolved": resolved,  # type: ignore[dict-item]
        "complaint.evaluated": evaluated,  # type: ignore[dict-item]
        "recovery.settled": recovery,  # type: ignore[dict-item]
        "recovery.defaulted": recovery,  # type: ignore[dict-item]
    }
