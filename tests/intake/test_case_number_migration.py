"""The migration that brings case numbers numbers the complaints already there: in the order each region's day
(Asia/Shanghai) received them, with each counter left at its day's last number."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import column, insert, select, table

from services.intake.config import IntakeSettings
from services.intake.models import CaseNumberCounter, Complaint
from shared.db import create_engine
from shared.migrate import alembic_config, upgrade
from tests.support import Databases, _drop_schema, postgres_url


def _row(n: int, region: str, at: datetime) -> dict[str, object]:
    return {
        "id": f"cmp_01M96KNN5ZJPYAQQ5Q0M3DC{n:03d}",
        "channel": "wechat_miniprogram",
        "region_code": region,
        "merchant_name": "三亚湾海景酒店",
        "industry": "lodging",
        "description": "预订了海景房却被安排在停车场旁",
        "amount_involved_fen": 0,
        "remedy": "refund",
        "occurred_at": at,
        "state": "submitted",
        "submitted_at": at,
        "accept_by": at,
        "accept_overdue": False,
        "dispose_overdue": False,
        "settle_overdue": False,
        "amount_refunded_fen": 0,
        "compensation_paid_fen": 0,
        "changes": 1,
        "version": 1,
    }


def test_existing_complaints_are_numbered_by_region_and_shanghai_day(tmp_path: Path) -> None:
    databases = Databases(tmp_path, postgres_url())
    settings = IntakeSettings(**databases.settings_fields("intake", "_casemig"))
    if databases.pg_url:
        asyncio.run(_drop_schema(settings))
    before = ScriptDirectory.from_config(alembic_config("intake")).get_revision("0012").down_revision
    upgrade("intake", settings, str(before))
    rows = [
        _row(1, "460200", datetime(2026, 11, 20, 3, 0, tzinfo=UTC)),
        _row(2, "460200", datetime(2026, 11, 20, 1, 0, tzinfo=UTC)),
        _row(3, "460200", datetime(2026, 11, 20, 16, 30, tzinfo=UTC)),  # 00:30 on the 21st in Shanghai
        _row(4, "460100", datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
        _row(5, "460200", datetime(2026, 11, 19, 15, 59, tzinfo=UTC)),
    ]  # 23:59 on the 19th

    async def insert_rows() -> None:
        engine = create_engine(settings)
        async with engine.begin() as conn:
            # The table as it was before case numbers: only the columns written (the model has later ones).
            await conn.execute(insert(table("complaints", *(column(name) for name in rows[0]))), rows)
        await engine.dispose()

    async def read() -> tuple[dict[str, str], set[tuple[str, str, int]]]:
        engine = create_engine(settings)
        async with engine.connect() as conn:
            numbers = dict((await conn.execute(select(Complaint.id, Complaint.case_number))).all())
            counters = {
                (r, d.isoformat(), n)
                for r, d, n in await conn.execute(
                    select(CaseNumberCounter.region_code, CaseNumberCounter.day, CaseNumberCounter.last_seq)
                )
            }
        await engine.dispose()
        return numbers, counters

    asyncio.run(insert_rows())
    upgrade("intake", settings)
    numbers, counters = asyncio.run(read())
    assert [numbers[str(r["id"])] for r in rows] == [
        "460200-20261120-0002",
        "460200-20261120-0001",
        "460200-20261121-0001",
        "460100-20261120-0001",
        "460200-20261119-0001",
    ]
    assert counters == {
        ("460200", "2026-11-20", 2),
        ("460200", "2026-11-21", 1),
        ("460100", "2026-11-20", 1),
        ("460200", "2026-11-19", 1),
    }
    if databases.pg_url:
        asyncio.run(_drop_schema(settings))
