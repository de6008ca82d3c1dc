"""The credit service: subjects, credit records and scores, lists, repair, benefits and assured codes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from services.credit import events
from services.credit.archive import Archive
from services.credit.config import CreditSettings
from services.credit.config import settings as default_settings
from services.credit.models import inbox, outbox
from services.credit.routes import router
from services.credit.signing import Signer
from shared.app import create_service_app, serve
from shared.background import periodic
from shared.clock import Clock
from shared.logging import configure_logging

log = logging.getLogger("credit.scheduler")


async def run_lists_once(app: FastAPI) -> int:
    """One pass of the lists: unanswered notices whose defence period ended are listed, and listings
    whose publication period ended expire. Each batch in its own transaction."""
    state = app.state
    total = 0
    while True:
        async with state.sessionmaker() as session:
            archive = Archive.open(session, state.clock, state.outbox, state.settings.defence_days)
            done = await archive.lists.run_due()
            await session.commit()
        total += done
        if done and state.dispatcher is not None:
            state.dispatcher.kick()
        if done < 500:
            return total


async def _lists_pass(app: FastAPI) -> None:
    await run_lists_once(app)


# Nothing in memory: a restart picks up where the data says.
lists_scheduler = periodic("lists", "lists_interval_seconds", _lists_pass, log)


async def _startup(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.signer = Signer(settings.signing_key, settings.signing_previous_key_list)


def create_app(settings: CreditSettings | None = None, clock: Clock | None = None, **options: Any) -> FastAPI:
    """The app; `options` go to `create_service_app` (tests pass in-process transports)."""
    return create_service_app(
        name="credit",
        title="Credit",
        description="Subjects (merchants, practitioners, consumers), credit records, scores and grades, red, "
        "key-supervision and dishonest lists, credit repair, benefits, assured consumption codes.",
        settings=settings or default_settings,
        clock=clock,
        outbox=outbox,
        inbox=inbox,
        event_handlers=events.handlers,
        routers=[router],
        background=[lists_scheduler],
        on_startup=_startup,
        **options,
    )


def main() -> None:
    configure_logging("credit", default_settings.log_level)
    serve(create_app(), default_settings)


if __name__ == "__main__":
    main()
