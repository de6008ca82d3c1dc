"""The compensation service: regional funds, deposits, claims, payouts, ledger, recovery."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.compensation.config import CompensationSettings
from services.compensation.config import settings as default_settings
from services.compensation.models import inbox, outbox
from shared.app import create_service_app
from shared.clock import Clock
from shared.logging import configure_logging


def create_app(
    settings: CompensationSettings | None = None, clock: Clock | None = None, **options: Any
) -> FastAPI:
    """The app; `options` go to `create_service_app` (tests pass in-process transports)."""
    return create_service_app(
        name="compensation",
        title="Compensation",
        description="Advance compensation (先行赔付): funds, deposits, rules, claims, payouts, ledger, recovery.",
        settings=settings or default_settings,
        clock=clock,
        outbox=outbox,
        inbox=inbox,
        event_handlers={},
        **options,
    )


def main() -> None:
    import uvicorn

    configure_logging("compensation", default_settings.log_level)
    uvicorn.run(create_app(), host=default_settings.host, port=default_settings.port, log_config=None)


if __name__ == "__main__":
    main()
