"""Background work, one way: a job that runs pass after pass, the one backoff every retry uses, and the one
way work is claimed.

A job is `periodic(name, interval_setting, step)`: each pass runs `step(app)` inside `scheduler_pass` (its
own span, counted and timed by outcome, a failure logged and swallowed), then sleeps the setting's interval,
or less when the step says when there is more to do (0 for "at once": a full batch, a backlog draining; the
seconds until the next deadline). Work is claimed in the database (rows held for a lease with `claim`, or
locked `FOR UPDATE SKIP LOCKED` for one transaction), so any number of replicas run the same jobs, and nothing
is kept in memory between passes that a restart would lose.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.db import for_update_skip_locked

if TYPE_CHECKING:
    from fastapi import FastAPI

Step = Callable[["FastAPI"], Awaitable[float | None]]
BackgroundJob = Callable[["FastAPI"], Coroutine[Any, Any, None]]
JITTER = 0.2
Row = TypeVar("Row")


def backoff(attempts: int, *, first: timedelta, cap: timedelta, jitter: float = JITTER) -> timedelta:
    """How long to wait before attempt `attempts + 1`: `first` after the first failure, doubling, at most `cap`,
    then up to `jitter` longer at random, so retries that failed together do not come back together."""
    doubled = first * (1 << min(max(attempts - 1, 0), 30))
    return min(doubled, cap) * (1 + jitter * random.random())


async def claim(
    session: AsyncSession,
    query: Select[Row],
    *,
    due: InstrumentedAttribute[datetime],
    now: datetime,
    lease: timedelta,
    limit: int,
    then: Sequence[InstrumentedAttribute[Any]] = (),
) -> list[Row]:
    """Claim work: the rows `query` selects whose `due` time has come, earliest first (`then` breaks ties), at
    most `limit`, each held for `lease`: its `due` moves to `now + lease`.

    The worker settles a row within its lease, outside this transaction (its outcome, and when it is due again);
    a row whose worker died comes due again when the lease runs out, and any replica takes it over: work is done
    at least once and never lost. The rows are locked `FOR UPDATE SKIP LOCKED` where the database can skip
    locked rows (PostgreSQL: replicas claiming at the same moment take different rows); SQLite serialises
    writers, so there the transaction is the lock. Claim in a short transaction of its own."""
    rows = await session.scalars(
        query.where(due <= now).order_by(due, *then).limit(limit).with_for_update(**for_update_skip_locked(session))
    )
    claimed = list(rows.all())
    until = now + lease
    for row in claimed:
        setattr(row, due.key, until)
    return claimed


def periodic(
    name: str,
    interval: str | float,
    step: Step,
    logger: logging.Logger,
    *,
    wake: str | None = None,
    on_stop: Callable[[], Awaitable[None]] | None = None,
    traced: bool = True,
) -> BackgroundJob:
    """The background job `name`: `step` pass after pass, `interval` apart (seconds, or the name of a setting
    read each time) or sooner when the step asks, or when the `asyncio.Event` at `app.state.<wake>` is set.
    `on_stop` runs when the job is cancelled (work the step left running). `traced=False`: a pass is no span
    of its own (a job that polls every second would be a trace a second), though still counted and timed."""

    async def job(app: FastAPI) -> None:
        try:
            while True:
                pause: float | None = None
                async with scheduler_pass(app, name, logger, traced=traced):
                    pause = await step(app)
                every = float(getattr(app.state.settings, interval) if isinstance(interval, str) else interval)
                await _pause(every if pause is None else max(0.0, min(every, pause)), app, wake)
        finally:
            if on_stop is not None:
                await on_stop()

    job.__name__ = name
    return job


async def _pause(seconds: float, app: FastAPI, wake: str | None) -> None:
    event: asyncio.Event | None = getattr(app.state, wake, None) if wake else None
    if event is None:
        await asyncio.sleep(seconds)
        return
    try:
        await asyncio.wait_for(event.wait(), timeout=seconds)
    except TimeoutError:
        pass
    event.clear()


@asynccontextmanager
async def scheduler_pass(app: FastAPI, job: str, logger: logging.Logger, *, traced: bool = True) -> AsyncIterator[None]:
    """One pass of a background job: in a span of its own (so its log lines carry a trace id) unless not
    `traced`, counted by outcome and timed. A pass that fails is logged there and swallowed: the job's loop
    goes on."""
    state = app.state
    tracer = state.tracing.tracer if traced else None
    outcome: str | None = "ok"
    started = time.perf_counter()
    span = trace_token = None
    if tracer is not None:
        span = tracer.start_span(f"job {job}", context=otel_context.Context(), attributes={"job.name": job})
        trace_token = otel_context.attach(trace.set_span_in_context(span, otel_context.Context()))
    try:
        yield
    except Exception as exc:
        outcome = "error"
        if span is not None:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        logger.exception("%s pass failed", job)
    except BaseException:
        outcome = None  # cancelled (shutting down): not a pass that ran
        raise
    finally:
        if outcome is not None:
            state.metrics.scheduler_runs.labels(job, outcome).inc()
            state.metrics.scheduler_duration.labels(job).observe(time.perf_counter() - started)
        if trace_token is not None:
            otel_context.detach(trace_token)
        if span is not None:
            span.end()
