"""The SLA scheduler with 100,000 open complaints on PostgreSQL: how late deadlines fire, and what a scan costs.

    python -m bench.scheduler [--due 1000] [--database-url URL]

Open complaints are generated inside PostgreSQL (INSERT ... SELECT) in intake's own migrated schema
`bench_sched`: assigned to a merchant, their disposal deadline spread over the next two days.

1. Cost of a pass: `run_deadlines_once` (what the scheduler runs each interval) with nothing due,
   then with `--due` deadlines due, among 10,000 and among 100,000 open complaints. The pass reads
   the deadline index, so its cost should follow the number due, not the number open.
2. Lateness: `--due` deadlines falling due over the next 10 s among 100,000 open, and the real
   scheduler loop running at its default interval (`INTAKE_SCHEDULER_INTERVAL_SECONDS`); each
   fired deadline's lateness is the time of its `overdue` timeline entry minus its deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Float, Integer, bindparam, text

from services.intake.config import IntakeSettings
from services.intake.main import create_app, deadline_scheduler, run_deadlines_once
from shared.db import create_engine
from shared.migrate import upgrade

SCHEMA = "bench_sched"

GENERATE = """
INSERT INTO complaints (id, case_number, consumer_id, channel,
    region_code, merchant_id, merchant_name, industry, description,
    amount_involved_fen, remedy, occurred_at, state, assignee_kind, assignee_id, assignee_name, submitted_at,
    accepted_at, accept_by, dispose_by, settle_by, next_deadline_at, next_deadline_kind, accept_overdue,
    dispose_overdue, settle_overdue, amount_refunded_fen, compensation_paid_fen, version, queue_rank, queue_at)
SELECT 'cmp_sched' || lpad(n::text, 12, '0'), '460200-sched-' || lpad(n::text, 12, '0'),
    'usr_sched' || n, 'wechat_miniprogram', '460200',
    'mer_sched' || (n % 500), '商户' || (n % 500), 'lodging', '房间与订单不符，前台拒绝退差价。', 50000, 'refund',
    :now_ts - interval '1 day', 'assigned', 'merchant', 'mer_sched' || (n % 500), '商户',
    :now_ts - interval '5 minutes',
    :now_ts - interval '4 minutes', :now_ts - interval '2 minutes', due, :now_ts + interval '2 days', due, 'dispose',
    false, false, false, 0, 0, 1, 1, due
FROM (SELECT n, CASE WHEN n <= :due THEN :first_ts + (n::float / NULLIF(:due, 0)) * :spread * interval '1 second'
                     ELSE :now_ts + interval '1 hour' + (n::float / :open) * interval '2 days' END AS due
      FROM generate_series(1, :open) AS n) AS g
"""


def settings_for(url: str) -> IntakeSettings:
    return IntakeSettings(database_url=url, database_schema=SCHEMA, run_background_workers=False, log_level="WARNING")


async def fill(url: str, open_count: int, due: int, first: datetime, spread: float) -> None:
    settings = settings_for(url)
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    await engine.dispose()
    await asyncio.to_thread(upgrade, "intake", settings)
    engine = create_engine(settings)
    async with engine.begin() as conn:
        statement = text(GENERATE).bindparams(
            bindparam("now_ts", type_=DateTime(timezone=True)),
            bindparam("first_ts", type_=DateTime(timezone=True)),
            bindparam("spread", type_=Float),
            bindparam("due", type_=Integer),
            bindparam("open", type_=Integer),
        )
        await conn.execute(
            statement,
            {"now_ts": datetime.now(UTC), "open": open_count, "due": due, "first_ts": first, "spread": spread},
        )
        await conn.execute(text("ANALYZE complaints"))
    await engine.dispose()


async def one_pass(url: str) -> tuple[int, float]:
    app = create_app(settings_for(url))
    async with app.router.lifespan_context(app):
        started = time.perf_counter()
        fired = await run_deadlines_once(app)
        return fired, (time.perf_counter() - started) * 1000


async def pass_costs(url: str, due: int) -> None:
    print(f"{'pass cost':<40}{'open':>9}{'fired':>8}{'ms':>10}{'ms per fired':>14}")
    for open_count in (10_000, 100_000):
        for due_now in (0, due):
            await fill(url, open_count, due_now, datetime.now(UTC) - timedelta(minutes=1), 30)
            fired, ms = await one_pass(url)
            per = f"{ms / fired:.2f}" if fired else "-"
            print(f"{f'{due_now:,} due':<40}{open_count:>9,}{fired:>8,}{ms:>10.1f}{per:>14}")


async def lateness(url: str, due: int) -> None:
    settings = settings_for(url)
    await fill(url, 100_000, due, datetime.now(UTC) + timedelta(seconds=3), 10)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        job = asyncio.create_task(deadline_scheduler(app))
        await asyncio.sleep(16)
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
    engine = create_engine(settings)
    async with engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    text(
                        "SELECT extract(epoch FROM t.at - c.dispose_by) FROM timeline_entries t JOIN complaints c "
                        "ON c.id = t.complaint_id WHERE t.kind = 'overdue'"
                    )
                )
            )
            .scalars()
            .all()
        )
    await engine.dispose()
    late = sorted(float(r) * 1000 for r in rows)
    print(
        f"lateness of {len(late):,} of {due:,} deadlines due over 10 s among 100,000 open, scheduler every "
        f"{settings.scheduler_interval_seconds:g} s: median {statistics.median(late):.0f} ms, "
        f"p99 {statistics.quantiles(late, n=100)[98]:.0f} ms, worst {late[-1]:.0f} ms"
    )
    print("target: every deadline fires within 1 s of due; a pass costs with the number due, not the number open")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    asyncio.run(pass_costs(args.database_url, args.due))
    asyncio.run(lateness(args.database_url, args.due))


if __name__ == "__main__":
    main()
