"""The test harness: databases built by migrations, the services wired together, tokens for callers.

`TEST_DATABASE_URL` unset: SQLite files in a temporary folder. Set to a PostgreSQL URL
(`make test-pg`): one schema per service in that database, dropped and migrated at session start.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import MetaData, delete, text

from services.compensation.config import CompensationSettings
from services.compensation.main import create_app as create_compensation
from services.compensation.models import metadata as compensation_metadata
from services.credit.config import CreditSettings
from services.credit.main import create_app as create_credit
from services.credit.main import run_lists_once
from services.credit.models import metadata as credit_metadata
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as create_gateway
from services.gateway.models import metadata as gateway_metadata
from services.intake.config import IntakeSettings
from services.intake.main import create_app as create_intake
from services.intake.main import run_deadlines_once
from services.intake.models import metadata as intake_metadata
from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token
from shared.clock import ManualClock
from shared.contracts.identity import Identity
from shared.db import create_engine
from shared.migrate import upgrade
from shared.settings import ServiceSettings

SERVICES = ("gateway", "intake", "compensation", "credit")
SETTINGS_CLASSES: dict[str, type[ServiceSettings]] = {
    "gateway": GatewaySettings,
    "intake": IntakeSettings,
    "compensation": CompensationSettings,
    "credit": CreditSettings,
}
METADATA: dict[str, MetaData] = {
    "gateway": gateway_metadata,
    "intake": intake_metadata,
    "compensation": compensation_metadata,
    "credit": credit_metadata,
}
FACTORIES = {
    "gateway": create_gateway,
    "intake": create_intake,
    "compensation": create_compensation,
    "credit": create_credit,
}
INTERNAL_SECRET = "test-internal-secret-0123456789abcdef"
JWT_SECRET = "test-jwt-secret-0123456789abcdef0123"
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 15.0) -> Any:
    """What `check` answers once it answers something true, asked every 50 ms; an AssertionError after
    `within` seconds (events travel between the services through their outboxes, fakes answer from their
    own threads)."""
    deadline = time.monotonic() + within
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise AssertionError("the system did not get there in time")
        await asyncio.sleep(0.05)
    return result


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@dataclass
class Databases:
    """Where each service's test database lives: a SQLite file or a PostgreSQL schema."""

    root: Path
    pg_url: str | None

    def settings_fields(self, service: str, tag: str = "") -> dict[str, Any]:
        if self.pg_url:
            return {"database_url": self.pg_url, "database_schema": f"t_{service}{tag}_{worker_suffix()}"}
        return {"database_url": f"sqlite+aiosqlite:///{self.root / f'{service}{tag}.db'}"}

    def migrate_all(self, tag: str = "") -> None:
        for service in SERVICES:
            settings = SETTINGS_CLASSES[service](**self.settings_fields(service, tag))
            if self.pg_url:
                asyncio.run(_drop_schema(settings))
            upgrade(service, settings)


async def _drop_schema(settings: ServiceSettings) -> None:
    engine = create_engine(settings.model_copy(update={"database_schema": None}))
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    await engine.dispose()


async def wipe(engine: Any, metadata: MetaData) -> None:
    """Empty every table (children first): each test starts from migrated, empty databases."""
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))


def service_settings(service: str, databases: Databases, tmp: Path, tag: str = "", **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        **databases.settings_fields(service, tag),
        "internal_secret": INTERNAL_SECRET,
        "run_background_workers": False,
        "environment": "development",
        # Services, workers and a browser share one process and two cores in the tests: a call between services
        # may wait longer than a deployment's 5 s without anything being wrong (a test of the timeout sets its own).
        "http_timeout_seconds": 15.0,
    }
    if service == "intake":
        fields["evidence_dir"] = tmp / "evidence"
    if service == "gateway":
        fields["jwt_secret"] = JWT_SECRET
    # Provider keys only where a test gives them: never the ones `make run` leaves under var/keys, which
    # would switch on providers a test did not set up (and make the suite's answers depend on the checkout).
    unset = tmp / "no-provider-keys"
    for name in SETTINGS_CLASSES[service].model_fields:
        if name.endswith("_key_file"):
            fields[name] = unset / f"{name}.pem"
    fields.update(overrides)
    return SETTINGS_CLASSES[service](**fields)


@dataclass
class Stack:
    """The four services, each a real app with its lifespan, talking to each other in-process."""

    apps: dict[str, Any]
    clock: ManualClock
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    @property
    def gateway(self) -> httpx.AsyncClient:
        return self.clients["gateway"]

    def as_(self, identity: Identity) -> dict[str, str]:
        """Headers that call a service directly as `identity`, the way the gateway does."""
        return {INTERNAL_TOKEN_HEADER: issue_internal_token(identity, INTERNAL_SECRET)}

    async def deliver_events(self, rounds: int = 20) -> int:
        """Run every outbox dispatcher until nothing is left to deliver."""
        total = 0
        for _ in range(rounds):
            delivered = 0
            for app in self.apps.values():
                dispatcher = getattr(app.state, "dispatcher", None)
                if dispatcher is not None:
                    delivered += await dispatcher.deliver_once()
            total += delivered
            if not delivered:
                return total
        return total

    async def run_deadlines(self) -> int:
        return await run_deadlines_once(self.apps["intake"])

    async def run_lists(self) -> int:
        return await run_lists_once(self.apps["credit"])


@asynccontextmanager
async def running_stack(
    databases: Databases,
    tmp: Path,
    clock: ManualClock | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[Stack]:
    clock = clock or ManualClock(START)
    transports: dict[str, httpx.AsyncBaseTransport] = {}
    apps = {
        name: FACTORIES[name](
            service_settings(name, databases, tmp, **(overrides or {}).get(name, {})),
            clock=clock,
            transports=transports,
        )
        for name in SERVICES
    }
    for name, app in apps.items():
        transports[name] = httpx.ASGITransport(app=app)
    stack = Stack(apps=apps, clock=clock)
    async with AsyncExitStack() as exits:
        for name, app in apps.items():
            await exits.enter_async_context(app.router.lifespan_context(app))
            stack.clients[name] = await exits.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            )
        try:
            yield stack
        finally:
            for name, app in apps.items():
                await wipe(app.state.engine, METADATA[name])
