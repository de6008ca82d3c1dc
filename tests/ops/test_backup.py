"""Backup and restore as deploy/README.md tells an operator to: deploy/backup/backup.sh dumps every service's
schema and takes intake's evidence files, deploy/backup/restore.sh puts them into an empty database and
folder, and the services start on the restored data: migrations find nothing to do, the complaint and its
photo are there, the claim is paid, and the ledger check passes (over HTTP and from the command line).

PostgreSQL only (TEST_DATABASE_URL), with pg_dump, pg_restore and psql (Debian's postgresql-client)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.intake.config import IntakeSettings
from shared.clock import ManualClock
from shared.db import create_engine
from shared.migrate import upgrade
from tests.compensation.helpers import (
    claim_of,
    fund_region,
    ledger_check,
    overdue_complaint,
    paying_consumer,
    request_compensation,
    settle_payouts,
)
from tests.conftest import ADMIN, Providers, compensation_overrides, gateway_overrides
from tests.support import SERVICES, SETTINGS_CLASSES, Databases, postgres_url, running_stack, worker_suffix

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "deploy" / "backup"
TAG = "_bak"


def schema(service: str) -> str:
    return f"t_{service}{TAG}_{worker_suffix()}"


@dataclass
class TaggedDatabases(Databases):
    """This module's schemas (tag _bak) in the database of `pg_url`."""

    def settings_fields(self, service: str, tag: str = "") -> dict[str, Any]:
        return super().settings_fields(service, TAG)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def attempt(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command (in a thread: the test's event loop serves the apps meanwhile) with these variables."""
    return await asyncio.to_thread(
        subprocess.run, command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300, cwd=ROOT
    )


async def run(script: str, *args: str, **env: str) -> str:
    done = await attempt(["sh", str(BACKUP / script), *args], **env)
    assert done.returncode == 0, f"{script}: {done.stderr}"
    return done.stdout


@pytest.fixture
async def restore_database() -> AsyncIterator[str]:
    """A new, empty database on the test server (dropped afterwards): the restore's target."""
    server = postgres_url()
    if not server or not server.startswith("postgresql"):
        pytest.skip("PostgreSQL only: pg_dump and pg_restore work on TEST_DATABASE_URL's server")
    missing = [tool for tool in ("pg_dump", "pg_restore", "psql") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian's postgresql-client; .ci/run installs it)")
    name = f"{make_url(server).database}_restore_{worker_suffix()}"
    admin = create_engine(IntakeSettings(database_url=server), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for service in SERVICES:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema(service)}" CASCADE'))
        await admin.dispose()


async def test_a_backup_restored_into_an_empty_database_runs_and_its_ledger_balances(
    restore_database: str, providers: Providers, tmp_path: Path
) -> None:
    server = postgres_url() or ""
    source = TaggedDatabases(root=tmp_path, pg_url=server)
    await asyncio.to_thread(source.migrate_all)
    overrides: dict[str, dict[str, Any]] = {
        "gateway": gateway_overrides(providers),
        "compensation": compensation_overrides(providers),
        "intake": {"evidence_dir": tmp_path / "evidence"},
    }

    # A province's day: a complaint with a photo, a missed deadline, a compensation paid out.
    async with running_stack(source, tmp_path, overrides=overrides) as stack:
        await fund_region(stack)
        alice = await paying_consumer(stack)
        complaint_id = await overdue_complaint(stack, alice)
        await request_compensation(stack, alice, complaint_id, 30_000)
        await settle_payouts(stack)
        before = await ledger_check(stack)
        claim = await claim_of(stack, complaint_id)
        evidence = (
            await stack.clients["intake"].get(f"/v1/complaints/{complaint_id}/evidence", headers=stack.as_(alice))
        ).json()
        assert before["ok"] and claim["state"] == "paid" and len(evidence) == 1
        fund = (await stack.clients["compensation"].get("/v1/funds/460200", headers=stack.as_(ADMIN))).json()
        now = stack.clock.now()

        printed = await run(
            "backup.sh",
            str(tmp_path / "backups"),
            DATABASE_URL=server,  # the SQLAlchemy form, as the services' settings hold it
            SCHEMAS=" ".join(schema(s) for s in SERVICES),
            EVIDENCE_DIR=str(tmp_path / "evidence"),
        )
        taken = Path(printed.strip())
    assert set(await asyncio.to_thread(os.listdir, taken)) == {
        "database.dump",
        "evidence.tar.gz",
        "MANIFEST",
        "SHA256SUMS",
    }

    # Into an empty database and an empty folder; a second restore over it is refused.
    restored_files = tmp_path / "restored-evidence"
    await run("restore.sh", str(taken), DATABASE_URL=libpq(restore_database), EVIDENCE_DIR=str(restored_files))
    again = await attempt(
        ["sh", str(BACKUP / "restore.sh"), str(taken)], DATABASE_URL=restore_database, EVIDENCE_DIR=str(restored_files)
    )
    assert again.returncode != 0 and "already exists" in again.stderr

    # The services on the restored data: the migrations are at head already, and everything is there.
    restored = TaggedDatabases(root=tmp_path, pg_url=restore_database)
    for service in SERVICES:
        await asyncio.to_thread(upgrade, service, SETTINGS_CLASSES[service](**restored.settings_fields(service)))
    overrides["intake"] = {"evidence_dir": restored_files}
    async with running_stack(restored, tmp_path, clock=ManualClock(now), overrides=overrides) as stack:
        for name, client in stack.clients.items():
            assert (await client.get("/health/ready")).status_code == 200, name
        after = await ledger_check(stack)
        assert after == before, "the same books"
        assert (await claim_of(stack, complaint_id))["payout"]["state"] == "succeeded"
        photo = await stack.clients["intake"].get(
            f"/v1/complaints/{complaint_id}/evidence/{evidence[0]['id']}", headers=stack.as_(alice)
        )
        assert photo.status_code == 200 and len(photo.content) > 0
        assert photo.headers["content-type"].startswith("image/")
        assert photo.content == (tmp_path / "evidence").joinpath(*photo_path(tmp_path / "evidence")).read_bytes()
        funds = await stack.clients["compensation"].get("/v1/funds/460200", headers=stack.as_(ADMIN))
        assert funds.status_code == 200 and funds.json() == fund and fund["balance_fen"] > 0

        # The operator's check from the command line, with the restored compensation's settings.
        checked = await attempt(
            [sys.executable, "-m", "services.compensation.cli", "check-ledger"],
            COMPENSATION_DATABASE_URL=restore_database,
            COMPENSATION_DATABASE_SCHEMA=schema("compensation"),
        )
        assert checked.returncode == 0, checked.stderr
        assert '"ok": true' in checked.stdout and f'"transactions": {before["transactions"]}' in checked.stdout


def photo_path(folder: Path) -> tuple[str, ...]:
    """The one evidence file intake stored under `folder`, as path parts below it."""
    (found,) = [p for p in folder.rglob("*") if p.is_file()]
    return found.relative_to(folder).parts
