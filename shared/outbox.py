"""The transactional outbox, its dispatcher, and the idempotent inbox (DESIGN.md, "Events").

A service writes each event it emits as outbox rows (one per subscriber) in the same transaction
as the state change. The dispatcher POSTs them to each subscriber's `/internal/event-batches`, in
order per subscriber and up to 50 a request, retrying with backoff until acknowledged. On
PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas may run it. A
receiver records each event id in its inbox and applies it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.context import Context
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import ServiceCaller, service_identity
from shared.clock import Clock
from shared.contracts.events import CATALOGUE, DomainEvent, EventEnvelope, subscribers_of
from shared.db import Session, UTCDateTime, for_update_skip_locked
from shared.errors import Problem
from shared.http import ServiceClient
from shared.ids import new_id

log = logging.getLogger("shared.outbox")

LEASE = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=5)
# Events per delivery request: under load a subscriber's rows go over together, one request and one
# transaction at each end instead of one per event.
POST_BATCH = 50


class EventBatch(BaseModel):
    events: list[EventEnvelope] = Field(min_length=1, max_length=500)


class EventInvalid(Problem):
    """An event whose payload is not what its type says: a producer's bug, refused until it is fixed."""

    status, code, title = 422, "event_invalid", "Event not valid"


class EventConflict(Problem):
    """Another delivery of one of the events is being applied at this moment: send the batch again later."""

    status, code, title = 409, "event_conflict", "Event being applied"


def outbox_table(metadata: MetaData) -> Table:
    table = Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(40), nullable=False),
        Column("event_type", String(64), nullable=False),
        Column("subscriber", String(32), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("available_at", UTCDateTime(), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("delivered_at", UTCDateTime(), nullable=True),
        Column("last_error", Text, nullable=True),
    )
    pending = table.c.delivered_at.is_(None)
    Index("ix_outbox_pending", table.c.available_at, postgresql_where=pending, sqlite_where=pending)
    Index(
        "ix_outbox_subscriber_pending", table.c.subscriber, table.c.id, postgresql_where=pending, sqlite_where=pending
    )
    return table


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("event_id", String(40), primary_key=True),
        Column("event_type", String(64), nullable=False),
        Column("producer", String(32), nullable=False),
        Column("received_at", UTCDateTime(), nullable=False),
    )


class Outbox:
    """Writes events into this service's outbox inside the caller's transaction."""

    def __init__(self, table: Table, producer: str, clock: Clock) -> None:
        self.table = table
        self.producer = producer
        self.clock = clock

    async def emit(self, session: AsyncSession, event: DomainEvent) -> EventEnvelope:
        return (await self.emit_all(session, [event]))[0]

    async def emit_all(self, session: AsyncSession, events: list[DomainEvent]) -> list[EventEnvelope]:
        """Every event's rows in one insert, in the given order (the order subscribers receive them)."""
        now = self.clock.now()
        envelopes, rows = [], []
        for event in events:
            envelope = EventEnvelope(
                id=new_id("evt"),
                type=event.type,
                version=event.version,
                occurred_at=now,
                producer=self.producer,
                payload=event.model_dump(mode="json"),
            )
            envelopes.append(envelope)
            data = envelope.model_dump(mode="json")
            rows.extend(
                {
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                    "subscriber": s,
                    "envelope": data,
                    "created_at": now,
                    "available_at": now,
                    "attempts": 0,
                }
                for s in subscribers_of(event.type, data["payload"])
            )
        if rows:
            await session.execute(insert(self.table), rows)
            session.info["outbox_written"] = True
        return envelopes


class OutboxDispatcher:
    """Delivers outbox rows to subscribers; one per service process, safe with many replicas."""

    def __init__(
        self,
        table: Table,
        sessionmaker: async_sessionmaker[AsyncSession],
        clients: dict[str, ServiceClient],
        producer: str,
        clock: Clock,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 100,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.table = table
        self.tracer = tracer
        self.sessionmaker = sessionmaker
        self.clients = clients
        self.identity = service_identity(producer)
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        self._stopping = False
        self.delivered_total = 0

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                delivered = await self.deliver_once()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("outbox dispatch failed")
                delivered = 0
            if delivered:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def _claim(self) -> list[Any]:
        t = self.table
        now = self.clock.now()
        earlier = t.alias("earlier")
        # A row waits while an earlier row of the same subscriber is leased or backing off: order holds.
        blocked = exists().where(
            and_(
                earlier.c.subscriber == t.c.subscriber,
                earlier.c.delivered_at.is_(None),
                earlier.c.id < t.c.id,
                earlier.c.available_at > now,
            )
        )
        async with self.sessionmaker() as session, session.begin():
            query = (
                select(t.c.id, t.c.subscriber, t.c.envelope, t.c.attempts)
                .where(t.c.delivered_at.is_(None), t.c.available_at <= now, ~blocked)
                .order_by(t.c.id)
                .limit(self.batch_size)
                .with_for_update(**for_update_skip_locked(session))
            )
            rows = (await session.execute(query)).all()
            if rows:
                await session.execute(
                    update(t).where(t.c.id.in_([r.id for r in rows])).values(available_at=now + LEASE)
                )
        return rows

    async def deliver_once(self) -> int:
        """Claim a batch and deliver it; returns how many rows were delivered."""
        rows = await self._claim()
        if not rows:
            return 0
        by_subscriber: dict[str, list[Any]] = {}
        for row in rows:
            by_subscriber.setdefault(row.subscriber, []).append(row)
        deliveries = (self._deliver_in_order(s, rs) for s, rs in by_subscriber.items())
        if self.tracer is None:
            return sum(await asyncio.gather(*deliveries))
        # A batch is a trace of its own (only one that found rows): each POST is a client span under it, and
        # the subscriber's handling continues it.
        with self.tracer.start_as_current_span(
            "outbox deliver", context=Context(), attributes={"outbox.rows": len(rows)}
        ):
            return sum(await asyncio.gather(*deliveries))

    async def _deliver_in_order(self, subscriber: str, rows: list[Any]) -> int:
        """POST the rows in order, up to POST_BATCH events a request; a failed request holds back the rest."""
        t = self.table
        delivered = 0
        for start in range(0, len(rows), POST_BATCH):
            chunk = rows[start : start + POST_BATCH]
            error = await self._post(subscriber, [row.envelope for row in chunk])
            now = self.clock.now()
            async with self.sessionmaker() as session, session.begin():
                if error is None:
                    await session.execute(
                        update(t)
                        .where(t.c.id.in_([row.id for row in chunk]))
                        .values(delivered_at=now, attempts=t.c.attempts + 1, last_error=None)
                    )
                    delivered += len(chunk)
                    continue
                first = chunk[0]
                backoff = min(timedelta(seconds=2 ** min(first.attempts, 12)), MAX_BACKOFF)
                await session.execute(
                    update(t)
                    .where(t.c.id == first.id)
                    .values(attempts=first.attempts + 1, last_error=error[:2000], available_at=now + backoff)
                )
                # Release the rest of this subscriber's batch so it follows the failed row later.
                rest = [row.id for row in rows[start + 1 :]]
                if rest:
                    await session.execute(update(t).where(t.c.id.in_(rest)).values(available_at=now + backoff))
            log.warning(
                "events from %s to %s failed: %s",
                first.envelope["id"],
                subscriber,
                error,
                extra={"event_id": first.envelope["id"], "event_type": first.envelope["type"]},
            )
            break
        self.delivered_total += delivered
        return delivered

    async def _post(self, subscriber: str, envelopes: list[dict[str, Any]]) -> str | None:
        client = self.clients.get(subscriber)
        if client is None:
            return f"no client for subscriber {subscriber}"
        try:
            response = await client.request(
                "POST", "/internal/event-batches", identity=self.identity, json={"events": envelopes}, retry=True
            )
        except Exception as exc:  # unreachable, timed out: try again later
            return f"{type(exc).__name__}: {exc}"
        if response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:500]}"

    async def backlog(self) -> tuple[int, float]:
        """Undelivered rows and the age in seconds of the oldest: the lag ops watch."""
        t = self.table
        async with self.sessionmaker() as session:
            count, oldest = (
                await session.execute(select(func.count(), func.min(t.c.created_at)).where(t.c.delivered_at.is_(None)))
            ).one()
        lag = (self.clock.now() - oldest).total_seconds() if oldest else 0.0
        return count, lag


EventHandler = Callable[[AsyncSession, Any, EventEnvelope], Awaitable[None]]
BatchEnd = Callable[[AsyncSession, Any], Awaitable[None]]
_AT_BATCH_END = "inbox_at_batch_end"


def at_batch_end(session: AsyncSession, key: str, finish: BatchEnd, start: Callable[[], Any] = list) -> Any:
    """The batch's collection under `key` (made by `start` when first asked for), which `finish` gets once,
    after every event of the batch being applied in `session`, before its commit.

    For a handler that gathers what its events change and writes it in one statement: a submission's
    burst of changes arrives in one batch, and a row rewritten by each of them would be an INSERT and
    UPDATEs where one INSERT does."""
    pending = session.info.setdefault(_AT_BATCH_END, {})
    if key not in pending:
        pending[key] = (start(), finish)
    return pending[key][0]


async def finish_batch(session: AsyncSession) -> None:
    """Run what the batch's handlers left for its end, in the order they asked (the inbox calls this)."""
    while pending := session.info.pop(_AT_BATCH_END, None):
        for gathered, finish in pending.values():
            await finish(session, gathered)


class Inbox:
    """Applies each received event once: the event id goes into the inbox with the change it causes."""

    def __init__(self, table: Table, clock: Clock, handlers: dict[str, EventHandler]) -> None:
        self.table = table
        self.clock = clock
        self.handlers = handlers

    async def receive(self, session: AsyncSession, envelope: EventEnvelope) -> str:
        """Apply one event, the session's only work: `applied`, `duplicate` or `ignored`."""
        try:
            [status] = await self.receive_all(session, [envelope])
        except EventConflict:
            return "duplicate"  # another delivery got here first; nothing else was written in this session
        return status

    async def receive_all(self, session: AsyncSession, envelopes: list[EventEnvelope]) -> list[str]:
        """Apply a batch in its order in one transaction, each event once: the inbox is read in one query
        and written in one statement, whatever the batch's size."""
        ids = [envelope.id for envelope in envelopes]
        seen = set((await session.scalars(select(self.table.c.event_id).where(self.table.c.event_id.in_(ids)))).all())
        fresh: dict[str, EventEnvelope] = {}
        for envelope in envelopes:
            if envelope.id not in seen:
                fresh.setdefault(envelope.id, envelope)  # the same event twice in a batch is applied once
        if fresh:
            try:
                await session.execute(insert(self.table), [self._row(envelope) for envelope in fresh.values()])
            except IntegrityError as exc:
                # Another delivery is applying one of these events: the whole batch is refused and sent
                # again, when that event will be found seen.
                await session.rollback()
                raise EventConflict("An event of this batch is being applied by another delivery.") from exc
        statuses = []
        for envelope in envelopes:
            statuses.append(await self._apply(session, envelope) if fresh.pop(envelope.id, None) else "duplicate")
        await finish_batch(session)
        return statuses

    def _row(self, envelope: EventEnvelope) -> dict[str, Any]:
        return {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "producer": envelope.producer,
            "received_at": self.clock.now(),
        }

    async def _apply(self, session: AsyncSession, envelope: EventEnvelope) -> str:
        handler = self.handlers.get(envelope.type)
        model = CATALOGUE.get(envelope.type)
        if handler is None or model is None:
            log.warning(
                "ignoring event type %s nobody here handles",
                envelope.type,
                extra={"event_id": envelope.id, "event_type": envelope.type},
            )
            return "ignored"
        try:
            event = model.model_validate(envelope.payload)
        except ValidationError as exc:
            raise EventInvalid(
                f"Event {envelope.id} is not a valid {envelope.type}: {exc.error_count()} errors.", event_id=envelope.id
            ) from exc
        await handler(session, event, envelope)
        await session.flush()  # the next event of a batch sees what this one did
        return "applied"


def events_router(inbox_of: Callable[[], Inbox]) -> APIRouter:
    """`POST /internal/event-batches`, where other services' dispatchers deliver to this one, and
    `POST /internal/events` for one event (a replay by hand)."""
    router = APIRouter(tags=["internal"], include_in_schema=False)

    @router.post("/internal/events")
    async def receive_event(envelope: EventEnvelope, caller: ServiceCaller, session: Session) -> dict[str, str]:
        """Apply an event from another service, once."""
        return {"status": await inbox_of().receive(session, envelope)}

    @router.post("/internal/event-batches")
    async def receive_events(batch: EventBatch, caller: ServiceCaller, session: Session) -> dict[str, list[str]]:
        """Apply another service's events in their order, each once, in one transaction: all or none."""
        return {"statuses": await inbox_of().receive_all(session, batch.events)}

    return router
