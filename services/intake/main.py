"""The intake service: complaints, their lifecycle and SLA clock, queues."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.intake.config import IntakeSettings
from services.intake.config import settings as default_settings
from services.intake.deadline_job import DeadlineJob
from services.intake.dependencies import work_of
from services.intake.events import handlers
from services.intake.internal import router as internal_router
from services.intake.metrics import IntakeMetrics
from services.intake.models import IdempotencyRecord, inbox, outbox
from services.intake.notices import Notices
from services.intake.regions import catalogue_of
from services.intake.repository.due import Due
from services.intake.returns import ReturnsDesk
from services.intake.returns_router import router as returns_router
from services.intake.router import catalogue_router, router
from services.intake.storage import DiskStorage, S3Storage
from shared.app import create_service_app, serve
from shared.background import periodic
from shared.clock import Clock
from shared.db import table_of
from shared.logging import configure_logging
from shared.retention import Retention, days

log = logging.getLogger("intake.scheduler")


async def run_deadlines_once(app: FastAPI) -> int:
    """One scheduler pass: fire every deadline that is due (complaints', supervision notices' replies,
    public-opinion notices' replies, then return requests'), in batches, each in its own transaction."""
    state = app.state
    regions = catalogue_of(state.settings)
    total = 0

    def job(session: AsyncSession) -> DeadlineJob:
        return DeadlineJob(work_of(state, session))

    firings: tuple[Callable[[AsyncSession], Awaitable[int]], ...] = (
        lambda session: job(session).fire_due_deadlines(),
        lambda session: job(session).fire_due_supervisions(),
        lambda session: Notices(work_of(state, session)).fire_due_replies(),
        lambda session: ReturnsDesk(
            session=session, clock=state.clock, settings=state.settings, regions=regions
        ).fire_due(),
    )
    for fire in firings:
        while True:
            try:
                async with state.sessionmaker() as session:
                    fired = await fire(session)
                    await session.commit()
            except StaleDataError:
                # A request or another replica's pass changed a row between this batch's read and its write
                # (SQLite reads without a row lock): the batch is rolled back and stays due for the next pass.
                log.info("a record changed while its deadline fired; the next pass fires it")
                break
            state.service_metrics.fired(session.info.pop("deadlines_fired", {}))
            total += fired
            if fired and state.dispatcher is not None:
                state.dispatcher.kick()
            if fired < state.settings.scheduler_batch_size:
                break
    return total


async def _deadlines_pass(app: FastAPI) -> float | None:
    """Fire what is due, then sleep until the earliest open deadline (at most the interval), so a deadline
    fires as it falls due rather than up to an interval late (a new complaint's first deadline is minutes
    away, so the interval bounds what a pass can miss)."""
    await run_deadlines_once(app)
    async with app.state.sessionmaker() as session:
        upcoming = await Due(session).next_deadline()
    return None if upcoming is None else max((upcoming - app.state.clock.now()).total_seconds(), 0.01)


# Escalate missed deadlines. Nothing is kept in memory: a restart picks up where the data says.
deadline_scheduler = periodic("deadlines", "scheduler_interval_seconds", _deadlines_pass, log)


async def _startup(app: FastAPI) -> None:
    settings: IntakeSettings = app.state.settings
    if settings.evidence_storage == "s3":
        storage = S3Storage.from_settings(settings)
        if settings.evidence_s3_create_bucket:
            await storage.ensure_bucket()
        app.state.storage = storage
    else:
        app.state.storage = DiskStorage(settings.evidence_dir)
    catalogue_of(settings)


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None, **options: Any) -> FastAPI:
    """The app; `options` go to `create_service_app` (tests pass in-process transports)."""
    settings = settings or default_settings
    return create_service_app(
        name="intake",
        title="Intake",
        description=(
            "Complaints (work orders): submission, acceptance, the lifecycle, SLA deadlines, queues; the returns desk."
        ),
        settings=settings,
        clock=clock,
        outbox=outbox,
        inbox=inbox,
        event_handlers=handlers,
        routers=[router, returns_router, catalogue_router, internal_router],
        background=[deadline_scheduler],
        on_startup=_startup,
        metrics=IntakeMetrics,
        retention=[
            Retention(
                "idempotency_records", table_of(IdempotencyRecord), "created_at", days("idempotency_retention_days")
            )
        ],
        **options,
    )


def main() -> None:
    configure_logging("intake", default_settings.log_level)
    serve(create_app(), default_settings)


if __name__ == "__main__":
    main()
