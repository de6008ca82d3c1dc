"""The compensation service: funds, deposits, rules, claims, payouts, the ledger, recovery."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI

from services.compensation.config import CompensationSettings
from services.compensation.config import settings as default_settings
from services.compensation.events import handlers
from services.compensation.metrics import CompensationMetrics
from services.compensation.models import inbox, outbox
from services.compensation.payee_names import unclaimed_name_sweeper
from services.compensation.payouts import payout_worker, recovery_scheduler, wake_payouts
from services.compensation.providers.registry import registry
from services.compensation.router import internal, router
from shared.app import create_service_app, serve
from shared.clock import Clock
from shared.logging import configure_logging


async def _startup(app: FastAPI) -> None:
    app.state.providers = registry(app.state.settings).build(app.state.settings)
    app.state.payout_wake = asyncio.Event()

    def wake(notes: dict[str, Any]) -> None:
        if notes.get("payouts_queued"):
            wake_payouts(app)

    app.state.after_commit.append(wake)


def create_app(settings: CompensationSettings | None = None, clock: Clock | None = None, **options: Any) -> FastAPI:
    """The app; `options` go to `create_service_app` (tests pass in-process transports)."""
    return create_service_app(
        name="compensation",
        title="Compensation",
        description="Advance compensation (先行赔付): funds, deposits, rules, claims, payouts, ledger, recovery.",
        settings=settings or default_settings,
        clock=clock,
        outbox=outbox,
        inbox=inbox,
        event_handlers=handlers,
        routers=[router, internal],
        background=[payout_worker, recovery_scheduler, unclaimed_name_sweeper],
        on_startup=_startup,
        metrics=CompensationMetrics,
        **options,
    )


def main() -> None:
    configure_logging("compensation", default_settings.log_level)
    serve(create_app(), default_settings)


if __name__ == "__main__":
    main()
