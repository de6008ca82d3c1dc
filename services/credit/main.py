"""The credit service: subjects and their credit (merchants' records for now)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.credit.config import CreditSettings
from services.credit.config import settings as default_settings
from services.credit.models import inbox, outbox
from services.credit.router import router
from shared.app import create_service_app
from shared.clock import Clock
from shared.logging import configure_logging


def create_app(settings: CreditSettings | None = None, clock: Clock | None = None, **options: Any) -> FastAPI:
    """The app; `options` go to `create_service_app` (tests pass in-process transports)."""
    return create_service_app(
        name="credit",
        title="Credit",
        description="Subjects (merchants, practitioners), credit events, scores, lists, benefits, codes.",
        settings=settings or default_settings,
        clock=clock,
        outbox=outbox,
        inbox=inbox,
        event_handlers={},
        routers=[router],
        **options,
    )


def main() -> None:
    import uvicorn

    configure_logging("credit", default_settings.log_level)
    uvicorn.run(create_app(), host=default_settings.host, port=default_settings.port, log_config=None)


if __name__ == "__main__":
    main()
