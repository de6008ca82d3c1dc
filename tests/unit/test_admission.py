"""Requests past a service's concurrency wait their turn in the order they came, then 503; the database pool is
the library's own and no request ever waits on it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.pool import AsyncAdaptedQueuePool

from services.intake.config import IntakeSettings
from shared.db import create_engine
from shared.edge import Admission


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def held(release: asyncio.Event, served: list[str]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        served.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


async def test_requests_past_the_limit_are_served_in_the_order_they_came() -> None:
    release, served = asyncio.Event(), []
    admission = Admission(held(release, served), limit=1, wait_seconds=5)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=admission), base_url="http://svc") as client:
        first = asyncio.create_task(client.get("/v1/first"))
        await settle()
        waiting = []
        for name in ("second", "third", "fourth"):
            waiting.append(asyncio.create_task(client.get(f"/v1/{name}")))
            await settle()
        assert served == ["/v1/first"]
        release.set()  # each now finishes at once: the slot passes along the line, never to a newcomer
        late = asyncio.create_task(client.get("/v1/late"))
        assert [r.status_code for r in await asyncio.gather(first, *waiting, late)] == [200] * 5
    assert served == ["/v1/first", "/v1/second", "/v1/third", "/v1/fourth", "/v1/late"]


async def test_a_request_that_waits_past_its_time_is_refused_and_probes_and_uploads_never_wait() -> None:
    registry = CollectorRegistry()
    release, served, waiting = asyncio.Event(), [], Gauge("waiting", "", registry=registry)
    admission = Admission(held(release, served), limit=1, wait_seconds=0.05, waiting=waiting)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=admission), base_url="http://svc") as client:
        busy = asyncio.create_task(client.get("/v1/complaints"))
        await settle()
        refusing = asyncio.create_task(client.post("/v1/complaints", json={}))
        await settle()
        assert registry.get_sample_value("waiting") == 1  # counted while it waits (the metric db_pool_waiting)
        refused = await refusing
        assert registry.get_sample_value("waiting") == 0
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["code"] == "overloaded"
        probe = asyncio.create_task(client.get("/health/ready"))
        upload = asyncio.create_task(
            client.post("/v1/complaints/cmp_1/evidence", files={"file": ("a.jpg", b"\xff\xd8", "image/jpeg")})
        )
        await settle()
        # The probe and the upload (which takes no connection until its body is in) went in past the full house.
        assert served == ["/v1/complaints", "/health/ready", "/v1/complaints/cmp_1/evidence"]
        release.set()
        assert [r.status_code for r in await asyncio.gather(busy, probe, upload)] == [200, 200, 200]
        assert (await client.get("/v1/complaints")).status_code == 200  # the slot came back
    unlimited = Admission(held(release, []), limit=0, wait_seconds=0.05)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unlimited), base_url="http://svc") as client:
        assert (await client.get("/v1/complaints")).status_code == 200


def test_services_wait_their_turn_from_their_settings_and_the_gateway_refuses_instead() -> None:
    from services.gateway.config import GatewaySettings
    from services.gateway.main import create_app as gateway_app
    from services.intake.main import create_app as intake_app

    [intake] = [m for m in intake_app(IntakeSettings(max_concurrent_requests=7)).user_middleware if m.cls is Admission]
    assert (intake.kwargs["limit"], intake.kwargs["wait_seconds"]) == (7, 4.0)
    [gateway] = [m for m in gateway_app(GatewaySettings()).user_middleware if m.cls is Admission]
    assert gateway.kwargs["limit"] == 0


async def test_postgresql_engines_use_the_librarys_pool() -> None:
    engine = create_engine(IntakeSettings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    try:
        assert type(engine.pool) is AsyncAdaptedQueuePool
    finally:
        await engine.dispose()
