"""Time the weekly and monthly complaint report of a province holding 1,000,000 complaints, on PostgreSQL.

    python -m bench.reports [--complaints 1000000] [--days 365] [--runs 7] [--database-url URL]

The data is generated inside PostgreSQL (one INSERT ... SELECT over generate_series, seeded, so every
run builds the same year): complaints spread over the province's 27 regions, six channels and six
industries, a year of submissions, most accepted, resolved and evaluated, some withdrawn, refused,
transferred or still open, each with its deadlines and handling minutes. Intake's own migrations make
the schema (`bench_reports`), so the indexes are those production has.

It prints, for the province's busiest week and month, the median and worst of `--runs` calls of the
report function the endpoint calls, and beside them a baseline measured in the same run: a bare
`count(*)` over the same rows, which is the least any report of that period must read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, text

from services.intake.config import IntakeSettings
from services.intake.models import Complaint
from services.intake.regions import catalogue_of
from services.intake.reports import complaint_report, period_bounds
from shared.clock import SHANGHAI
from shared.db import create_engine, create_sessionmaker
from shared.migrate import upgrade

SCHEMA = "bench_reports"
PROVINCE = "460000"
YEAR_START = date(2025, 1, 1)

# One statement, run in the database: no million Python objects, no million round trips.
GENERATE = """
INSERT INTO complaints (id, case_number, consumer_id, channel, region_code, merchant_id,
    merchant_name, industry, description,
    amount_involved_fen, remedy, occurred_at, state, assignee_kind, assignee_name, transferred_from,
    submitted_at, accepted_at, responded_at, resolved_at, closed_at, accept_by, dispose_by, settle_by,
    accept_overdue, dispose_overdue, settle_overdue, handled_minutes, satisfaction, amount_refunded_fen,
    compensation_paid_fen, version, queue_rank, queue_at)
SELECT 'cmp_bench' || lpad(n::text, 10, '0'), region || '-bench-' || lpad(n::text, 10, '0'),
    'usr_bench' || (n % 50000), channel, region, 'mer_bench' || m,
    '商户' || m, industry, '团费差价未退还，导游强制购物。', 50000, 'refund', submitted - interval '1 day', state,
    'unit', CASE WHEN state IN ('resolved', 'closed', 'assigned', 'responded') THEN '旅游和文化广电体育局' END,
    CASE WHEN state = 'transferred' THEN '460100' END,
    submitted, CASE WHEN state NOT IN ('submitted', 'not_accepted') THEN submitted + accept_after END,
    CASE WHEN state IN ('responded', 'resolved', 'closed') THEN submitted + handled / 2 END,
    CASE WHEN state IN ('resolved', 'closed') THEN submitted + handled END,
    CASE WHEN state = 'closed' THEN submitted + handled + interval '1 hour' END,
    submitted + interval '3 minutes', submitted + interval '33 minutes', submitted + interval '48 hours',
    accept_after > interval '3 minutes', handled / 2 > interval '30 minutes', false,
    CASE WHEN state IN ('resolved', 'closed') THEN floor(extract(epoch FROM handled) / 60)::int END,
    CASE WHEN state = 'closed' THEN 3 + (n % 3) END,
    CASE WHEN state IN ('resolved', 'closed') THEN (n % 7) * 10000 ELSE 0 END, 0, 1,
    CASE WHEN state IN ('resolved', 'closed', 'not_accepted', 'withdrawn') THEN 2 ELSE 1 END, submitted
FROM (
    SELECT n, (ARRAY['wechat_miniprogram', 'alipay_miniprogram', 'hotline_12345', 'platform_12301', 'partner',
                     'walk_in'])[1 + (n % 6)] AS channel,
           (ARRAY[{regions}])[1 + (n * 7 % {region_count})] AS region,
           n % 5000 AS m,
           (ARRAY['food', 'lodging', 'transport', 'sightseeing', 'shopping', 'entertainment'])[1 + (n * 5 % 6)]
               AS industry,
           timestamptz '{start}' + (n::float / :complaints * :days) * interval '1 day' AS submitted,
           (ARRAY['closed', 'closed', 'closed', 'resolved', 'resolved', 'closed', 'withdrawn', 'not_accepted',
                  'transferred', 'assigned', 'closed', 'responded'])[1 + (n * 11 % 12)] AS state,
           ((n * 13) % 240) * interval '1 second' AS accept_after,
           (3 + (n * 17) % 2880) * interval '1 minute' AS handled
    FROM generate_series(1, :complaints) AS n
) AS g
"""


async def build(url: str, complaints: int, days: int) -> None:
    settings = IntakeSettings(database_url=url, database_schema=SCHEMA)
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    await asyncio.to_thread(upgrade, "intake", settings)
    await engine.dispose()
    await generate(url, complaints, days)


async def generate(url: str, complaints: int, days: int, schema: str = SCHEMA) -> None:
    """`complaints` complaints over `days` days into intake's migrated schema `schema`."""
    settings = IntakeSettings(database_url=url, database_schema=schema)
    engine = create_engine(settings)
    regions = [
        f"'{code}'"
        for code in catalogue_of(settings).served_codes()
        if code.startswith(PROVINCE[:2]) and code != PROVINCE
    ]
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                GENERATE.format(
                    regions=", ".join(regions),
                    region_count=len(regions),
                    start=datetime.combine(YEAR_START, datetime.min.time(), SHANGHAI).isoformat(),
                )
            ),
            {"complaints": complaints, "days": days},
        )
        await conn.execute(text("ANALYZE complaints"))
    print(f"generated {complaints:,} complaints over {days} days in {time.perf_counter() - started:.1f} s")
    await engine.dispose()


async def measure(url: str, runs: int) -> None:
    settings = IntakeSettings(database_url=url, database_schema=SCHEMA)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    catalogue = catalogue_of(settings)
    province = catalogue.get(PROVINCE)
    now = datetime.now(SHANGHAI)
    async with sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(Complaint))
    print(f"complaints in the database: {total:,}; PostgreSQL schema {SCHEMA}")
    print(f"{'report':<38}{'rows':>8}{'median ms':>11}{'worst ms':>10}{'count(*) ms':>13}{'ratio':>7}")
    for name, first, last in (
        ("week", YEAR_START + timedelta(days=182), YEAR_START + timedelta(days=188)),
        ("month", date(2025, 7, 1), date(2025, 7, 31)),
    ):
        start, end = period_bounds(first, last)
        report_ms, baseline_ms = [], []
        for _ in range(runs + 1):  # the first of each is a warm-up, not counted
            async with sessionmaker() as session:
                t = time.perf_counter()
                report = await complaint_report(session, province, first, last, now, catalogue)
                report_ms.append((time.perf_counter() - t) * 1000)
            async with sessionmaker() as session:
                t = time.perf_counter()
                rows = await session.scalar(
                    select(func.count())
                    .select_from(Complaint)
                    .where(
                        Complaint.submitted_at >= start,
                        Complaint.submitted_at < end,
                        Complaint.region_code.startswith("46"),
                    )
                )
                baseline_ms.append((time.perf_counter() - t) * 1000)
        assert rows == report.received, (rows, report.received)
        median, baseline = statistics.median(report_ms[1:]), statistics.median(baseline_ms[1:])
        print(
            f"{f'province {name} {first}..{last}':<38}{report.received:>8,}{median:>11.1f}"
            f"{max(report_ms[1:]):>10.1f}{baseline:>13.1f}{median / baseline:>7.1f}"
        )
    print("target: the province's weekly report under 300 ms on 1,000,000 complaints")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="measure the data a previous run generated")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    if not args.reuse:
        asyncio.run(build(args.database_url, args.complaints, args.days))
    asyncio.run(measure(args.database_url, args.runs))


if __name__ == "__main__":
    main()
