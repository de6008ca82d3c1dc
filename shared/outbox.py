"""The transactional outbox, its dispatcher, and the idempotent inbox (DESIGN.md, "Events").

A service writes each event it emits as outbox rows (one per subscriber) in the same transaction
as the state change. The dispatcher POSTs them to each subscriber's `/internal/event-batches`, in
order per subscriber and up to 50 a request, retrying with backoff until acknowledged. On
PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas may run it, and a
`NOTIFY` at commit wakes every replica's dispatcher (`LISTEN`), not only the writer's. A receiver records
each event id in its inbox and applies it once.

A subscriber's answer decides what becomes of an event it did not take:

- "not now" (408, 425, 429, a 5xx, no answer): the subscriber is busy or down; the events wait and are
  retried with backoff for as long as it takes.
- "not you" (401, 403, 404, 409): a deployment's mistake (a secret or a URL that does not match, a
  subscriber that does not know the route yet) or a race between two deliveries, fixed in time but not by
  retrying for ever. The events wait and are retried; an event refused `*_OUTBOX_REFUSAL_ATTEMPTS` times in
  a row (about an hour with the backoff; an outage's "not now" before does not count) is given up, and the next one gets
  as many tries: a lasting misconfiguration gives up about one event an hour, not the whole stream.
- any other 4xx: the subscriber refuses the event itself (a producer's bug), which would hold back every
  later event for ever: it is given up at once.

An event given up is a dead letter (`dead_at`), counted in `outbox_dead_letters`, and the stream goes on;
an operator inspects it and replays it once the subscriber is fixed (`cli outbox dead-letters|replay`).
The dispatcher runs as a `shared.background.periodic` job, woken at once by a commit in this process
(`kick`) or, on PostgreSQL, by another replica's (`listen`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
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
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import ServiceCaller, service_identity
from shared.background import backoff, periodic
from shared.clock import Clock
from shared.contracts.events import CATALOGUE, DomainEvent, EventEnvelope, subscribers_of
from shared.db import Session, UTCDateTime, for_update_skip_locked, rows_affected
from shared.errors import Problem
from shared.http import ServiceClient
from shared.ids import new_id

log = logging.getLogger("shared.outbox")

LEASE = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=5)
LISTEN_RETRY = timedelta(seconds=5)  # the first wait before the LISTEN connection is opened again, doubling
LISTEN_RETRY_CAP = timedelta(minutes=1)
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
        # When the row left the queue: delivered, or given up as a dead letter (then dead_at is set too).
        Column("delivered_at", UTCDateTime(), nullable=True),
        Column("dead_at", UTCDateTime(), nullable=True),
        Column("last_error", Text, nullable=True),
    )
    pending = table.c.delivered_at.is_(None)
    dead = table.c.dead_at.is_not(None)
    Index("ix_outbox_dead", table.c.id, postgresql_where=dead, sqlite_where=dead)
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

    def __init__(self, table: Table, producer: str, clock: Clock, *, notify: bool = False) -> None:
        self.table = table
        self.producer = producer
        self.clock = clock
        self.notify = notify

    async def emit(self, session: AsyncSession, event: DomainEvent) -> EventEnvelope:
        return (await self.emit_all(session, [event]))[0]

    async def emit_all(self, session: AsyncSession, events: Sequence[DomainEvent]) -> list[EventEnvelope]:
        """Every event's rows in one insert, in the given order (the order subscribers receive them)."""
        now = self.clock.now()
        envelopes: list[EventEnvelope] = []
        rows: list[dict[str, Any]] = []
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
            transaction = session.get_transaction()
            if self.notify and session.info.get("outbox_notified") is not transaction and _on_postgresql(session):
                # Delivered at commit, once per transaction: every replica's dispatcher wakes (LISTEN).
                await session.execute(select(func.pg_notify(notify_channel(self.producer), "")))
                session.info["outbox_notified"] = transaction
            session.info["outbox_written"] = True
        return envelopes


def _on_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def notify_channel(producer: str) -> str:
    return f"outbox_{producer}"


# A subscriber that answers these says "not now": the events wait for as long as it takes.
_NOT_NOW = frozenset({408, 425, 429})
# These say "not you": the events wait, but an event is given up after the dispatcher's `refusal_attempts`.
_NOT_YOU = frozenset({401, 403, 404, 409})


def _said_not_you(last_error: str | None) -> bool:
    """Whether the last failure recorded was a "not you" refusal (its message is `HTTP <status>: ...`)."""
    found = re.match(r"HTTP (\d{3}):", last_error or "")
    return found is not None and int(found.group(1)) in _NOT_YOU


@dataclass(frozen=True)
class Refusal:
    """Why a delivery failed: `not_you` when the subscriber will not take events from us now (given up after
    a bounded number of attempts); `poison` when it refused the events themselves (given up at once), naming
    the one it could not take (`event_id`) where it can."""

    message: str
    not_you: bool = False
    poison: bool = False
    event_id: str | None = None


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
        refusal_attempts: int,
        batch_size: int = 100,
        tracer: trace.Tracer | None = None,
        listen_url: str | None = None,
    ) -> None:
        self.table = table
        self.tracer = tracer
        self.sessionmaker = sessionmaker
        self.clients = clients
        self.identity = service_identity(producer)
        self.clock = clock
        self.refusal_attempts = refusal_attempts
        self.batch_size = batch_size
        self.wake = asyncio.Event()  # set: deliver now (the `periodic` job waits on it between passes)
        self.delivered_total = 0
        self.dead_total = 0
        self.listen_url = listen_url
        self.channel = notify_channel(producer)

    def kick(self) -> None:
        self.wake.set()

    async def listen(self) -> None:
        """Wake on another replica's NOTIFY (PostgreSQL) until cancelled: one connection of its own, outside the
        pool, opened again after it drops or cannot be opened, with backoff. Polling goes on meanwhile, so a lost
        connection only slows delivery down."""
        import asyncpg  # untyped: its calls are Any

        assert self.listen_url is not None
        dsn = make_url(self.listen_url).set(drivername="postgresql").render_as_string(hide_password=False)
        failures = 0
        while True:
            try:
                connection = await asyncpg.connect(dsn)
            except Exception as exc:
                failures += 1
                log.warning("outbox listener cannot connect: %s", exc)
                await asyncio.sleep(backoff(failures, first=LISTEN_RETRY, cap=LISTEN_RETRY_CAP).total_seconds())
                continue
            failures = 0
            closed = asyncio.Event()
            try:
                connection.add_termination_listener(lambda *_, closed=closed: closed.set())
                await connection.add_listener(self.channel, lambda *_: self.wake.set())
                await closed.wait()  # until it drops; cancelled when the dispatcher stops
            finally:
                await connection.close()
            log.warning("outbox listener lost its connection; opening another")
            await asyncio.sleep(backoff(1, first=LISTEN_RETRY, cap=LISTEN_RETRY_CAP).total_seconds())

    async def _claim(self) -> Sequence[Any]:
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
                select(t.c.id, t.c.subscriber, t.c.envelope, t.c.attempts, t.c.last_error)
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

    async def _deliver_in_order(self, subscriber: str, rows: list[Any], batch: int = POST_BATCH) -> int:
        """POST the rows in order, up to `batch` events a request; a failed request holds back the rest, but
        an event the subscriber refuses for what it is becomes a dead letter and the rest go on."""
        t = self.table
        delivered = 0
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            refusal = await self._post(subscriber, [row.envelope for row in chunk])
            now = self.clock.now()
            if refusal is None:
                async with self.sessionmaker() as session, session.begin():
                    await session.execute(
                        update(t)
                        .where(t.c.id.in_([row.id for row in chunk]))
                        .values(delivered_at=now, attempts=t.c.attempts + 1, last_error=None)
                    )
                delivered += len(chunk)
                continue
            if refusal.poison:
                named = [row for row in chunk if row.envelope["id"] == refusal.event_id]
                if named or len(chunk) == 1:
                    dead = (named or chunk)[0]
                    await self._give_up(dead, subscriber, refusal.message)
                    rest = [row for row in rows[start:] if row.id != dead.id]
                    self.delivered_total += delivered
                    return delivered + await self._deliver_in_order(subscriber, rest, batch)
                # Which event it refused is not said: send them one by one, and the refused one alone dies.
                self.delivered_total += delivered
                return delivered + await self._deliver_in_order(subscriber, rows[start:], 1)
            first = chunk[0]
            # `attempts` counts the tries since the failure changed kind: a "not you" after an outage ("not now")
            # starts its own count, so that an event is given up only when refused that many times in a row.
            tries = 1 if refusal.not_you and not _said_not_you(first.last_error) else first.attempts + 1
            if refusal.not_you and tries >= self.refusal_attempts:
                # Refused for as long as it was tried: given up, and the next event gets as many tries.
                await self._give_up(first, subscriber, refusal.message)
                self.delivered_total += delivered
                return delivered + await self._deliver_in_order(subscriber, rows[start + 1 :], batch)
            wait = backoff(tries, first=timedelta(seconds=1), cap=MAX_BACKOFF)
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    update(t)
                    .where(t.c.id == first.id)
                    .values(attempts=tries, last_error=refusal.message[:2000], available_at=now + wait)
                )
                # Release the rest of this subscriber's batch so it follows the failed row later.
                rest_ids = [row.id for row in rows[start + 1 :]]
                if rest_ids:
                    await session.execute(update(t).where(t.c.id.in_(rest_ids)).values(available_at=now + wait))
            log.warning(
                "events from %s to %s failed: %s",
                first.envelope["id"],
                subscriber,
                refusal.message,
                extra={"event_id": first.envelope["id"], "event_type": first.envelope["type"]},
            )
            break
        self.delivered_total += delivered
        return delivered

    async def _give_up(self, row: Any, subscriber: str, message: str) -> None:
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(self.table)
                .where(self.table.c.id == row.id)
                .values(delivered_at=now, dead_at=now, attempts=row.attempts + 1, last_error=message[:2000])
            )
        self.dead_total += 1
        log.error(
            "event %s refused by %s, kept as a dead letter: %s",
            row.envelope["id"],
            subscriber,
            message,
            extra={"event_id": row.envelope["id"], "event_type": row.envelope["type"]},
        )

    async def _post(self, subscriber: str, envelopes: list[dict[str, Any]]) -> Refusal | None:
        client = self.clients.get(subscriber)
        if client is None:
            return Refusal(f"no client for subscriber {subscriber}")
        try:
            response = await client.request(
                "POST", "/internal/event-batches", identity=self.identity, json={"events": envelopes}, retry=True
            )
        except Exception as exc:  # unreachable, timed out: try again later
            return Refusal(f"{type(exc).__name__}: {exc}")
        if response.status_code < 300:
            return None
        message = f"HTTP {response.status_code}: {response.text[:500]}"
        if response.status_code in _NOT_YOU:
            return Refusal(message, not_you=True)
        if not 400 <= response.status_code < 500 or response.status_code in _NOT_NOW:
            return Refusal(message)
        try:
            named = response.json().get("event_id")
        except ValueError:
            named = None
        return Refusal(message, poison=True, event_id=named if isinstance(named, str) else None)

    async def backlog(self) -> tuple[int, float, int]:
        """Undelivered rows, the age in seconds of the oldest (the lag ops watch), and the dead letters."""
        t = self.table
        async with self.sessionmaker() as session:
            count, oldest = (
                await session.execute(select(func.count(), func.min(t.c.created_at)).where(t.c.delivered_at.is_(None)))
            ).one()
            dead = await session.scalar(select(func.count()).where(t.c.dead_at.is_not(None)))
        lag = (self.clock.now() - oldest).total_seconds() if oldest else 0.0
        return count, lag, dead or 0


async def _deliver(app: FastAPI) -> float | None:
    return 0 if await app.state.dispatcher.deliver_once() else None  # at once again while there is more


# An idle pass makes no span: it would be a trace a second. A pass that finds events traces its delivery.
_dispatching = periodic("outbox", "outbox_poll_seconds", _deliver, log, wake="outbox_wake", traced=False)


async def dispatcher_job(app: FastAPI) -> None:
    """The app's outbox dispatcher (`app.state.dispatcher`) as a background job: a pass every
    `*_OUTBOX_POLL_SECONDS`, at once when kicked or, with its LISTEN connection alongside, notified."""
    dispatcher: OutboxDispatcher = app.state.dispatcher
    app.state.outbox_wake = dispatcher.wake
    listener = None
    if dispatcher.listen_url:
        listener = asyncio.create_task(dispatcher.listen(), name=f"{dispatcher.channel}-listen")
    try:
        await _dispatching(app)
    finally:
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)


async def dead_letters(session: AsyncSession, table: Table, limit: int = 100) -> list[dict[str, Any]]:
    """The events given up, oldest first: what an operator reads before replaying them."""
    t = table
    rows = await session.execute(
        select(t.c.id, t.c.event_id, t.c.event_type, t.c.subscriber, t.c.attempts, t.c.dead_at, t.c.last_error)
        .where(t.c.dead_at.is_not(None))
        .order_by(t.c.id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]


async def replay_dead_letters(
    session: AsyncSession, table: Table, clock: Clock, *, event_id: str | None = None, subscriber: str | None = None
) -> int:
    """Put dead letters back in the queue (all, or one event's, or one subscriber's): they go out again in
    their original order, before anything later to the same subscriber. Returns how many."""
    t = table
    where: list[ColumnElement[bool]] = [t.c.dead_at.is_not(None)]
    if event_id is not None:
        where.append(t.c.event_id == event_id)
    if subscriber is not None:
        where.append(t.c.subscriber == subscriber)
    return await rows_affected(
        session, update(t).where(*where).values(delivered_at=None, dead_at=None, attempts=0, available_at=clock.now())
    )


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
