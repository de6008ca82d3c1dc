"""Faults while the system works, over loopback: a subscriber that goes away and comes back, and
database connections dropped under load. Bounded in time; the database one runs on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from services.credit.models import CreditRecord
from services.credit.models import inbox as credit_inbox
from services.intake.models import Complaint
from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token
from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.testing.fakes.server import ServerThread, free_port
from tests.conftest import ADMIN, consumer
from tests.factories import complaint_body, merchant_id, phone_of, uscc
from tests.support import (
    FACTORIES,
    INTERNAL_SECRET,
    METADATA,
    SERVICES,
    START,
    Databases,
    eventually,
    service_settings,
    wipe,
)

SHOP = merchant_id("RESILIENT")


class Running:
    """intake and credit as real servers; credit can be stopped and started again on its port."""

    def __init__(self, databases: Databases, tmp: Path) -> None:
        self.clock = ManualClock(START)
        self.ports = {name: free_port() for name in SERVICES}
        urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        common = {**urls, "run_background_workers": True, "outbox_poll_seconds": 0.05}
        self.settings = {
            name: service_settings(name, databases, tmp, tag="_res", **common) for name in ("intake", "credit")
        }
        self.servers: dict[str, ServerThread] = {}

    def start(self, name: str) -> None:
        server = ServerThread(FACTORIES[name](self.settings[name], clock=self.clock), port=self.ports[name])
        self.servers[name] = server.__enter__()

    def stop(self, name: str) -> None:
        self.servers.pop(name).__exit__(None, None, None)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def headers(self, identity: Any) -> dict[str, str]:
        return {INTERNAL_TOKEN_HEADER: issue_internal_token(identity, INTERNAL_SECRET)}


@pytest.fixture
def running(databases: Databases, tmp_path: Path) -> Iterator[Running]:
    databases.migrate_all("_res")
    system = Running(databases, tmp_path)
    system.start("credit")
    system.start("intake")
    try:
        yield system
    finally:
        for name in list(system.servers):
            system.stop(name)
        for name in ("intake", "credit"):
            engine = create_engine(system.settings[name])
            asyncio.run(wipe(engine, METADATA[name]))
            asyncio.run(engine.dispose())


async def _count(settings: Any, query: Any) -> int:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(await session.scalar(query) or 0)
    finally:
        await engine.dispose()


def test_a_subscriber_stopped_while_events_flow_gets_each_event_exactly_once(running: Running) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(
                f"{running.url('credit')}/v1/merchants",
                headers=running.headers(ADMIN),
                json={
                    "id": SHOP,
                    "name": "椰林海鲜排档",
                    "uscc": uscc(SHOP),
                    "region_code": "460200",
                    "industry": "food",
                },
            )
            assert r.status_code == 201, r.text
            r = await http.post(
                f"{running.url('credit')}/v1/merchants/{SHOP}/reviews",
                headers=running.headers(ADMIN),
                json={"decision": "approve"},
            )
            assert r.status_code == 200, r.text

            async def known() -> bool:  # subject.updated reached intake
                probe = await http.post(
                    f"{running.url('intake')}/v1/complaints",
                    headers=running.headers(consumer("usr_PROBE")),
                    json=complaint_body(merchant_id=SHOP, industry="food"),
                )
                return probe.status_code == 201 and probe.json()["state"] == "assigned"

            await eventually(known, within=20)

            async def submit(n: int) -> None:
                r = await http.post(
                    f"{running.url('intake')}/v1/complaints",
                    headers=running.headers(consumer(f"usr_T{n}")),
                    json=complaint_body(
                        merchant_id=SHOP,
                        industry="food",
                        contact_phone=phone_of(f"usr_T{n}"),
                        description=f"第 {n} 位游客：海鲜称重缺斤短两，老板拒不退款。",
                    ),
                )
                assert r.status_code == 201, r.text

            for n in range(10):
                await submit(n)
            running.stop("credit")  # credit goes away while complaints keep coming
            for n in range(10, 30):
                await submit(n)
            await asyncio.sleep(0.5)  # the dispatcher tries, fails, and backs off
            running.start("credit")
            running.clock.advance(minutes=6)  # past the dispatcher's longest backoff (the domain clock)
            for n in range(30, 40):
                await submit(n)

        records = (
            select(func.count())
            .select_from(CreditRecord)
            .where(CreditRecord.subject_id == SHOP, CreditRecord.kind == "complaint_accepted")
        )

        async def all_applied() -> bool:
            return await _count(running.settings["credit"], records) == 41  # 40 and the probe

        await eventually(all_applied, within=40)
        await asyncio.sleep(0.5)  # anything delivered twice would arrive now
        assert await _count(running.settings["credit"], records) == 41
        accepted = (
            select(func.count()).select_from(credit_inbox).where(credit_inbox.c.event_type == "complaint.accepted")
        )
        assert await _count(running.settings["credit"], accepted) == 41

    asyncio.run(scenario())


def test_dropped_database_connections_fail_cleanly_and_lose_nothing(running: Running, databases: Databases) -> None:
    if not databases.pg_url:
        pytest.skip("drops PostgreSQL connections: runs in make test-pg")

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            statuses: list[int] = []
            created: list[str] = []

            async def submit(n: int) -> None:
                r = await http.post(
                    f"{running.url('intake')}/v1/complaints",
                    headers=running.headers(consumer(f"usr_L{n}")),
                    json=complaint_body(
                        merchant_id=None,
                        merchant_name="路边摊",
                        description=f"第 {n} 位游客：烧烤摊价格未公示，结账时多收费。",
                    ),
                )
                statuses.append(r.status_code)
                if r.status_code == 201:
                    created.append(r.json()["id"])
                else:
                    assert r.status_code == 503 and r.json()["code"] in ("database_unavailable", "overloaded"), r.text

            async def load(first: int) -> None:
                for n in range(first, first + 40):
                    await submit(n)

            terminated: list[int] = []

            async def drop() -> None:
                engine = create_engine(running.settings["intake"])
                for _ in range(3):
                    await asyncio.sleep(0.15)
                    async with engine.connect() as conn:
                        killed = (
                            (
                                await conn.execute(
                                    text(
                                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                                    )
                                )
                            )
                            .scalars()
                            .all()
                        )
                        terminated.append(sum(bool(k) for k in killed))
                await engine.dispose()

            await asyncio.gather(load(0), load(100), load(200), drop())
            assert sum(terminated) > 0, "no connection was dropped: the test proved nothing"
            after = await http.post(
                f"{running.url('intake')}/v1/complaints",
                headers=running.headers(consumer("usr_AFTER")),
                json=complaint_body(merchant_id=None, merchant_name="路边摊"),
            )
            assert after.status_code == 201, after.text
            created.append(after.json()["id"])
        assert set(statuses) <= {201, 503}
        stored = await _count(
            running.settings["intake"], select(func.count()).select_from(Complaint).where(Complaint.id.in_(created))
        )
        assert stored == len(created)  # every complaint answered 201 is there

    asyncio.run(scenario())
