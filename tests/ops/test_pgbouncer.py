"""The services behind a real PgBouncer in transaction mode (docs/scaling.md advises one in front of
PostgreSQL past two replicas): migrations, a complaint submitted through the gateway, a compensation paid
out and the ledger check, every service's pool sharing two server connections.

PostgreSQL only (TEST_DATABASE_URL); PgBouncer is Debian's package, which .ci/run installs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.intake.config import IntakeSettings
from shared.db import _TRANSACTION_POOLING_CONNECT_ARGS, create_engine
from tests.compensation.helpers import (
    claim_of,
    fund_region,
    ledger_check,
    overdue_complaint,
    paying_consumer,
    request_compensation,
    settle_payouts,
)
from tests.conftest import Providers, compensation_overrides, gateway_overrides
from tests.factories import complaint_body, phone_of
from tests.ops.pgbouncer import pgbouncer_binary, running_pgbouncer
from tests.support import SERVICES, Databases, Stack, postgres_url, running_stack, worker_suffix

TAG = "_pgb"


@pytest.fixture(scope="module")
def pgbouncer_url() -> Iterator[str]:
    server = postgres_url()
    if not server or not server.startswith("postgresql"):
        pytest.skip("PostgreSQL only: PgBouncer stands in front of TEST_DATABASE_URL's server")
    if pgbouncer_binary() is None:
        pytest.skip("pgbouncer is not installed (Debian's package `pgbouncer`; .ci/run installs it in CI)")
    with running_pgbouncer(server, pool_size=2) as url:
        yield url


@dataclass
class PooledDatabases(Databases):
    """The services' schemas of this module (tag _pgb), reached through PgBouncer in transaction mode."""

    def settings_fields(self, service: str, tag: str = "") -> dict[str, Any]:
        return {**super().settings_fields(service, TAG), "database_transaction_pooling": True}

    def migrate_all(self, tag: str = "") -> None:
        super().migrate_all(TAG)


@pytest.fixture
async def pooled_stack(pgbouncer_url: str, providers: Providers, tmp_path: Path) -> AsyncIterator[Stack]:
    databases = PooledDatabases(root=tmp_path, pg_url=pgbouncer_url)
    await asyncio.to_thread(databases.migrate_all)  # the migrations too go through PgBouncer
    overrides = {"gateway": gateway_overrides(providers), "compensation": compensation_overrides(providers)}
    async with running_stack(databases, tmp_path, overrides=overrides) as stack:
        yield stack
    engine = create_engine(IntakeSettings(database_url=postgres_url()))
    async with engine.begin() as conn:
        for service in SERVICES:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "t_{service}{TAG}_{worker_suffix()}" CASCADE'))
    await engine.dispose()


async def test_a_complaint_a_payout_and_the_ledger_check_through_pgbouncer(pooled_stack: Stack) -> None:
    stack = pooled_stack
    for app in stack.apps.values():
        assert app.state.engine.url.port != 5432 and app.state.settings.database_transaction_pooling

    # A tourist logs in and submits through the gateway (gateway -> intake -> credit's event).
    await fund_region(stack)
    login = await stack.gateway.post("/v1/auth/wechat/login", json={"code": "demo-pgbouncer"})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    body = complaint_body(contact_phone=phone_of("pgbouncer"))
    submitted = await stack.gateway.post("/v1/complaints", headers={"Authorization": f"Bearer {token}"}, json=body)
    assert submitted.status_code == 201, submitted.text
    await stack.deliver_events()
    seen = await stack.gateway.get(
        f"/v1/complaints/{submitted.json()['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert seen.status_code == 200 and seen.json()["id"] == submitted.json()["id"]

    # A missed deadline, a compensation request, the payout through WeChat Pay's fake, the ledger's check.
    alice = await paying_consumer(stack)
    complaint_id = await overdue_complaint(stack, alice)
    await request_compensation(stack, alice, complaint_id, 30_000)
    await settle_payouts(stack)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "paid" and claim["payout"]["state"] == "succeeded"
    check = await ledger_check(stack)
    assert check["ok"] and check["total_fen"] == 0 and check["transactions"] > 0

    # Every row went to its service's schema, though no connection carried a search_path.
    engine = create_engine(IntakeSettings(database_url=postgres_url()))
    async with engine.connect() as conn:
        intake = f"t_intake{TAG}_{worker_suffix()}"
        count = await conn.scalar(text(f'SELECT count(*) FROM "{intake}".complaints'))
        stray = await conn.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
    await engine.dispose()
    assert count == 2 and stray == 0


async def test_the_direct_settings_break_behind_pgbouncer_which_is_why_the_setting_exists(pgbouncer_url: str) -> None:
    """What transaction pooling turns off: the search_path start-up parameter (PgBouncer refuses it) and
    named prepared statements (two clients meet the same name on one server connection)."""
    with_schema = create_engine(IntakeSettings(database_url=pgbouncer_url, database_schema="intake"))
    with pytest.raises(Exception, match="search_path"):
        async with with_schema.connect() as conn:
            await conn.execute(text("SELECT 1"))
    await with_schema.dispose()

    # A statement asyncpg prepared and cached on one server connection, asked for on another: the next
    # transaction of the same client finds PgBouncer has given it a new one (the old one ended here).
    failures = await a_statement_after_its_server_connection_ended(pgbouncer_url, pooling=False)
    assert failures and all("prepared statement" in f and "does not exist" in f for f in failures), failures
    assert await a_statement_after_its_server_connection_ended(pgbouncer_url, pooling=True) == []


async def a_statement_after_its_server_connection_ended(url: str, *, pooling: bool) -> list[str]:
    """Run one statement, end PgBouncer's server connection under it, run it again; the errors met."""
    probe = f"pgbouncer-probe-{pooling}"
    connect_args = {
        **(_TRANSACTION_POOLING_CONNECT_ARGS if pooling else {}),
        "server_settings": {"application_name": probe},
    }
    engine = create_engine(
        IntakeSettings(database_url=url, database_transaction_pooling=pooling), connect_args=connect_args
    )
    direct = create_engine(IntakeSettings(database_url=postgres_url()))
    failures = []
    try:
        for attempt in range(2):
            try:
                async with engine.connect() as conn:
                    assert (await conn.execute(text("SELECT 1 AS n"))).scalar_one() == 1
            except DBAPIError as exc:
                failures.append(str(exc.orig))
            if attempt == 0:
                async with direct.begin() as conn:
                    ended = await conn.scalar(
                        text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE application_name = :probe"
                        ),
                        {"probe": probe},
                    )
                assert ended >= 1, "PgBouncer's server connection carries the client's application_name"
                await asyncio.sleep(0.3)  # PgBouncer sees its idle server connection close
    finally:
        await engine.dispose()
        await direct.dispose()
    return failures
