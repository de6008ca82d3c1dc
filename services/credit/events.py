"""What credit applies from other services' events: each becomes credit records, and the subject is rescored.

The record's source is the event id and the kind, so an event delivered twice counts once even past
the inbox. Complaints count against the merchant they were accepted against; a complaint resolved
with the consumer not at fault counts for the consumer (honest use).

A batch of events is recorded at its end, all together (`Records.record_all`): its subjects read in one
query, its records written in one statement, each subject rescored once.

A complaint counts once, however it goes: merged into another (complaint.merged), its records are voided,
the other's count; reopened (complaint.reopened), the records of its resolution and rating are voided, and
its next resolution and rating count instead. A void keeps its place in the batch: what came before it in
the batch is written first, so a resolution, a reopening and a second resolution in one batch count once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.archive import Archive, Entry
from shared.contracts.events import (
    ClaimEvent,
    ComplaintAccepted,
    ComplaintEvaluated,
    ComplaintMerged,
    ComplaintReopened,
    ComplaintResolved,
    EventEnvelope,
    RecoveryDefaulted,
)
from shared.outbox import EventHandler, at_batch_end

_PENDING = "credit_records"
# What a complaint's resolution and rating record (complaint.resolved, complaint.evaluated): a reopening voids them.
RESOLUTION_KINDS = frozenset({"responded_in_time", "responded_late", "resolved_at_fault", "honest_complaint", "rating"})


@dataclass(frozen=True)
class _Void:
    """Void what `producer` recorded about complaint `reference` (these kinds, or all), at its place in the batch."""

    reference: str
    producer: str
    kinds: frozenset[str] | None
    reason: str


def handlers(app: FastAPI) -> dict[str, EventHandler]:
    async def record(
        session: AsyncSession,
        subject_id: str | None,
        kinds: list[tuple[str, int | None]],
        envelope: EventEnvelope,
        reference: str,
        *,
        consumer: bool = False,
    ) -> None:
        """Keep the records for the end of the batch of events."""
        if subject_id and kinds:
            at_batch_end(session, _PENDING, write).append((subject_id, consumer, kinds, envelope, reference))

    async def write(session: AsyncSession, pending: list[Any]) -> None:
        """The batch's records in order: each run of records together, each void at its place between them."""
        state = app.state
        books = Archive.open(session, state.clock, state.outbox, state.settings.defence_days)
        run: list[tuple[str, bool, list[tuple[str, int | None]], EventEnvelope, str]] = []
        for item in pending:
            if isinstance(item, _Void):
                await write_records(books, run)
                run = []
                await books.records.void(item.reference, by=item.producer, kinds=item.kinds, reason=item.reason)
            else:
                run.append(item)
        await write_records(books, run)

    async def write_records(
        books: Archive, pending: list[tuple[str, bool, list[tuple[str, int | None]], EventEnvelope, str]]
    ) -> None:
        if not pending:
            return
        wanted: dict[str, bool] = {}
        for subject_id, consumer, *_ in pending:
            wanted[subject_id] = wanted.get(subject_id, False) or consumer
        refs = await books.refs.subjects(wanted)
        # A merchant credit never settled in (named by the tourist only) has nothing to score.
        await books.records.record_all(
            [
                Entry(
                    refs[subject_id],
                    kinds,
                    by=envelope.producer,
                    source=envelope.id,
                    reference=reference,
                    occurred_at=envelope.occurred_at,
                )
                for subject_id, _, kinds, envelope, reference in pending
                if subject_id in refs
            ]
        )

    async def accepted(session: AsyncSession, event: ComplaintAccepted, envelope: EventEnvelope) -> None:
        await record(session, event.merchant_id, [("complaint_accepted", None)], envelope, event.complaint_id)

    async def resolved(session: AsyncSession, event: ComplaintResolved, envelope: EventEnvelope) -> None:
        kinds: list[tuple[str, int | None]] = []
        if event.responded_in_time is not None:
            kinds.append(
                ("responded_in_time" if event.responded_in_time else "responded_late", event.minutes_to_respond)
            )
        if event.at_fault in ("merchant", "shared"):
            kinds.append(("resolved_at_fault", None))
        await record(session, event.merchant_id, kinds, envelope, event.complaint_id)
        if event.at_fault != "consumer":
            await record(
                session, event.consumer_id, [("honest_complaint", None)], envelope, event.complaint_id, consumer=True
            )

    async def evaluated(session: AsyncSession, event: ComplaintEvaluated, envelope: EventEnvelope) -> None:
        await record(session, event.merchant_id, [("rating", event.score)], envelope, event.complaint_id)

    async def merged(session: AsyncSession, event: ComplaintMerged, envelope: EventEnvelope) -> None:
        """Merged into another complaint: one case, counted by the complaint worked for both."""
        reason = f"合并至 {event.merged_into}"
        at_batch_end(session, _PENDING, write).append(_Void(event.complaint_id, envelope.producer, None, reason))

    async def reopened(session: AsyncSession, event: ComplaintReopened, envelope: EventEnvelope) -> None:
        """Reopened: its resolution and rating no longer stand; the next ones count instead."""
        void = _Void(event.complaint_id, envelope.producer, RESOLUTION_KINDS, "重新办理")
        at_batch_end(session, _PENDING, write).append(void)

    async def recovery(session: AsyncSession, event: ClaimEvent, envelope: EventEnvelope) -> None:
        kind = "recovery_defaulted" if isinstance(event, RecoveryDefaulted) else "recovery_settled"
        await record(session, event.merchant_id, [(kind, None)], envelope, event.claim_id)

    return {
        "complaint.accepted": accepted,
        "complaint.resolved": resolved,
        "complaint.evaluated": evaluated,
        "complaint.merged": merged,
        "complaint.reopened": reopened,
        "recovery.settled": recovery,
        "recovery.defaulted": recovery,
    }
