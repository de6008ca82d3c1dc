"""Pruning what has served its purpose: delivered events, answered idempotency keys, sent webhooks and messages.

Each service names its rules (`Retention`): a table, the time column that says when a row was settled, a
condition that says it is settled, and how long to keep it. One background job per process runs them all
every `retention_interval_seconds`, deleting in batches so no statement holds locks for long; with several
replicas each does its share (a batch deleted by one is simply not found by the other).

What is never pruned here: complaints, timelines, the ledger, credit records, audits of money, and outbox
rows given up as dead letters (an operator replays or inspects them, `cli outbox dead-letters`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.db import rows_affected

log = logging.getLogger("shared.retention")

BATCH = 5000


@dataclass(frozen=True)
class Retention:
    """Rows of `table` whose `column` is older than `keep(settings)` and that `settled` says are done."""

    name: str
    table: Table
    column: str
    keep: Callable[[Any], timedelta]
    settled: Callable[[Table], ColumnElement[bool]] | None = None
    key: Sequence[str] = field(default=())

    def condition(self, now: datetime, settings: Any) -> ColumnElement[bool]:
        older = self.table.c[self.column] < now - self.keep(settings)
        return older if self.settled is None else older & self.settled(self.table)


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession], rules: Sequence[Retention], clock: Clock, settings: Any
) -> dict[str, int]:
    """Delete what every rule allows, `BATCH` rows a transaction; returns the rows deleted per rule."""
    now = clock.now()
    deleted: dict[str, int] = {}
    for rule in rules:
        t = rule.table
        key = [t.c[name] for name in rule.key] or list(t.primary_key.columns)
        target = key[0] if len(key) == 1 else tuple_(*key)
        total = 0
        while True:
            async with sessionmaker() as session, session.begin():
                batch = select(*key).where(rule.condition(now, settings)).limit(BATCH)
                count = await rows_affected(session, delete(t).where(target.in_(batch)))
            total += count
            if count < BATCH:
                break
            await asyncio.sleep(0)  # let requests in between batches
        deleted[rule.name] = total
        if total:
            log.info("pruned %d rows of %s", total, rule.name, extra={"table": t.name})
    return deleted


def days(setting: str) -> Callable[[Any], timedelta]:
    """A retention read from a setting in days."""
    return lambda settings: timedelta(days=getattr(settings, setting))


def event_retention(outbox: Table | None, inbox: Table | None) -> list[Retention]:
    """Delivered outbox rows (never dead letters) and the inbox's record of applied events. The inbox is kept
    as long: a sender gives an event up or marks it delivered within minutes, so no copy comes later."""
    rules = []
    if outbox is not None:
        rules.append(
            Retention(
                "outbox",
                outbox,
                "delivered_at",
                days("event_retention_days"),
                lambda t: t.c.delivered_at.is_not(None) & t.c.dead_at.is_(None),
            )
        )
    if inbox is not None:
        rules.append(Retention("inbox", inbox, "received_at", days("event_retention_days")))
    return rules
