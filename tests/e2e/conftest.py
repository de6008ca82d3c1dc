"""The running system for end-to-end tests: the four services on loopback ports with the provider
fakes, background workers on, staff accounts made; each module that asks for `system` gets its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.gateway.auth import create_staff
from shared.clock import ManualClock, system_clock
from shared.contracts.identity import Role
from shared.db import create_engine, create_sessionmaker
from shared.testing.fakes.server import ServerThread, free_port
from tests.conftest import Providers, gateway_overrides
from tests.factories import merchant_id
from tests.support import FACTORIES, METADATA, SERVICES, START, Databases, service_settings, wipe

HOTEL = merchant_id("E2EHTL")
OTHER = merchant_id("E2EOTH")


class System:
    def __init__(self, gateway_url: str, clock: ManualClock, settings: dict[str, Any]) -> None:
        self.url = gateway_url
        self.clock = clock
        self.settings = settings


@pytest.fixture(scope="module")
def system(databases: Databases, providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    tmp: Path = tmp_path_factory.mktemp("e2e")
    clock = ManualClock(START)
    ports = {name: free_port() for name in SERVICES}
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    common = {**urls, "run_background_workers": True, "outbox_poll_seconds": 0.05}
    extra = {
        "gateway": {
            **gateway_overrides(providers),
            "public_url": urls["gateway_url"],
            "webhook_interval_seconds": 0.05,
            "notify_interval_seconds": 0.05,
            "notify_coalesce_seconds": 0,
        },
        "intake": {"scheduler_interval_seconds": 0.05},
        "credit": {"lists_interval_seconds": 0.05},
    }
    settings = {name: service_settings(name, databases, tmp, **common, **extra.get(name, {})) for name in SERVICES}
    with ExitStack() as servers:
        for name in ("credit", "compensation", "intake", "gateway"):
            servers.enter_context(ServerThread(FACTORIES[name](settings[name], clock=clock), port=ports[name]))
        asyncio.run(_add_staff(settings["gateway"]))
        yield System(urls["gateway_url"], clock, settings)
    asyncio.run(_wipe_all(settings))


async def _add_staff(gateway_settings: Any) -> None:
    engine = create_engine(gateway_settings)
    async with create_sessionmaker(engine)() as session:
        for username, role, fields in (
            ("admin", Role.admin, {}),
            ("sanya", Role.official, {"region_code": "460200"}),
            ("haikou", Role.official, {"region_code": "460100"}),
            ("hotel", Role.merchant_staff, {"merchant_id": HOTEL}),
            ("other", Role.merchant_staff, {"merchant_id": OTHER}),
        ):
            await create_staff(
                session, system_clock, username=username, password=f"{username}-pass-e2e", role=role, **fields
            )
        await session.commit()
    await engine.dispose()


async def _wipe_all(settings: dict[str, Any]) -> None:
    for name in SERVICES:
        engine = create_engine(settings[name])
        await wipe(engine, METADATA[name])
        await engine.dispose()


class Receiver:
    """The partner's webhook endpoint: it records what arrives, and can be told to fail."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.failing = False

        async def hook(request: Request) -> JSONResponse:
            if self.failing:
                return JSONResponse({"error": "down for maintenance"}, status_code=503)
            self.received.append(
                {"headers": dict(request.headers), "body": await request.body(), "url": str(request.url)}
            )
            return JSONResponse({"ok": True})

        self.app = Starlette(routes=[Route("/hooks/complaints", hook, methods=["POST"])])


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    hooks = Receiver()
    with ServerThread(hooks.app) as server:
        yield hooks, f"{server.url}/hooks/complaints"
