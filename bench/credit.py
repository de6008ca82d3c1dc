"""Rescore 100,000 subjects from 2,000,000 credit records, and look profiles up by code under load, on PostgreSQL.

    python -m bench.credit [--subjects 100000] [--records 2000000] [--seconds 10] [--concurrency 16]
                           [--rate 200] [--reuse] [--skip-batch] [--database-url URL]

The data is generated inside PostgreSQL (INSERT ... SELECT over generate_series, so every run builds
the same archive) in the schema `bench_credit`, made by credit's own migrations: a fifth of the
subjects are live merchants with an assured consumption code, the rest consumers; records of every
kind that applies to each, spread over three years.

1. The batch job (`python -m services.credit.cli recompute-all` calls the same function) runs twice:
   cold (every score new) and again (every score the same), with the time and records per second.
2. The credit service runs in its own process (uvicorn, one worker, as deployed) and the lean asyncio
   client of bench/loadgen.py asks `GET /v1/codes/{code}` for random codes for `--seconds`, closed loop at a fixed
   concurrency and open loop at a fixed rate (latency from the scheduled send time); the baseline is
   `GET /health/live` on the same server in the same run. It prints p50, p99, throughput, errors,
   and the client's own CPU time, so that it is clear the client did not eat the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

import httpx
from sqlalchemy import text

from bench.loadgen import HEADER, closed_loop, open_loop
from services.credit.archive import recompute_all
from services.credit.config import CreditSettings
from services.credit.models import outbox
from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token
from shared.clock import system_clock
from shared.contracts.identity import Identity, Role
from shared.db import create_engine, create_sessionmaker
from shared.migrate import upgrade
from shared.outbox import Outbox
from shared.testing.fakes.server import free_port

SCHEMA = "bench_credit"
SECRET = "bench-internal-secret-0123456789abcdef"

MERCHANTS = """
INSERT INTO merchants (id, name, uscc, region_code, industry, address, status, contacts, in_compensation_program,
    in_integrity_alliance, revision, created_at, updated_at)
SELECT 'mer_bench' || lpad(n::text, 17, '0'), '商户' || n, NULL, '4602' || lpad((n % 5)::text, 2, '0'),
    (ARRAY['food', 'lodging', 'transport', 'sightseeing', 'shopping', 'entertainment'])[1 + n % 6], NULL, 'live',
    '[]', n % 2 = 0, n % 3 = 0, 1, now(), now()
FROM generate_series(1, :merchants) AS n
"""
CODES = """
INSERT INTO assured_codes (code, merchant_id, state, issued_at)
SELECT 'B' || lpad(n::text, 9, '0'), 'mer_bench' || lpad(n::text, 17, '0'), 'active', now()
FROM generate_series(1, :merchants) AS n
"""
CONSUMERS = """
INSERT INTO consumers (id, honours, created_at)
SELECT 'usr_bench' || n, '[]', now() FROM generate_series(1, :consumers) AS n
"""
# Record n belongs to subject n % subjects: merchants first, then consumers, each with its own kinds.
RECORDS = """
INSERT INTO credit_records (id, subject_id, subject_kind, kind, value, source, reference, note, recorded_by,
    occurred_at, repaired_at)
SELECT 'rec_bench' || lpad(n::text, 12, '0'),
    CASE WHEN s < :merchants THEN 'mer_bench' || lpad((s + 1)::text, 17, '0') ELSE 'usr_bench' || (s - :merchants + 1)
    END,
    CASE WHEN s < :merchants THEN 'merchant' ELSE 'consumer' END,
    CASE WHEN s < :merchants THEN (ARRAY['complaint_accepted', 'responded_in_time', 'responded_in_time',
        'responded_late', 'resolved_at_fault', 'rating', 'rating', 'rating', 'inspection_passed',
        'recovery_settled'])[1 + n % 10]
    WHEN n % 20 = 0 THEN 'malicious_complaint' ELSE 'honest_complaint' END,
    1 + n % 5, 'bench:' || n, NULL, NULL, 'bench',
    now() - ((n * 7919) % (3 * 365 * 24)) * interval '1 hour', NULL
FROM (SELECT n, n % :subjects AS s FROM generate_series(1::bigint, :records) AS n) AS g
"""


def settings_for(url: str) -> CreditSettings:
    return CreditSettings(
        database_url=url, database_schema=SCHEMA, internal_secret=SECRET, run_background_workers=False
    )


async def build(url: str, subjects: int, records: int) -> None:
    settings = settings_for(url)
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    await asyncio.to_thread(upgrade, "credit", settings)
    merchants = subjects // 5
    started = time.perf_counter()
    async with engine.begin() as conn:
        params = {"merchants": merchants, "consumers": subjects - merchants, "subjects": subjects, "records": records}
        for statement in (MERCHANTS, CODES, CONSUMERS, RECORDS):
            await conn.execute(text(statement), params)
        for table in ("merchants", "assured_codes", "consumers", "credit_records"):
            await conn.execute(text(f"ANALYZE {table}"))
    print(
        f"generated {merchants:,} merchants with codes, {subjects - merchants:,} consumers and {records:,} "
        f"records in {time.perf_counter() - started:.1f} s"
    )
    await engine.dispose()


async def rescore_all(url: str) -> None:
    settings = settings_for(url)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    print(f"{'batch recompute':<22}{'subjects':>10}{'records':>12}{'changed':>10}{'seconds':>9}{'records/s':>12}")
    for name in ("cold (all new)", "again (unchanged)"):
        started = time.perf_counter()
        totals = await recompute_all(
            sessionmaker, system_clock, Outbox(outbox, "credit", system_clock), settings.defence_days
        )
        elapsed = time.perf_counter() - started
        print(
            f"{name:<22}{totals['subjects']:>10,}{totals['records']:>12,}{totals['changed']:>10,}"
            f"{elapsed:>9.1f}{totals['records'] / elapsed:>12,.0f}"
        )
    print("target: 100,000 subjects from 2,000,000 records in under 60 s")
    await engine.dispose()


def lookups(url: str, subjects: int, seconds: float, concurrency: int, rate: float) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CREDIT_DATABASE_URL": url,
        "CREDIT_DATABASE_SCHEMA": SCHEMA,
        "CREDIT_INTERNAL_SECRET": SECRET,
        "CREDIT_RUN_BACKGROUND_WORKERS": "false",
        "CREDIT_PORT": str(port),
        "CREDIT_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([sys.executable, "-m", "services.credit.main"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        token = issue_internal_token(Identity(subject="anonymous", role=Role.public), SECRET)
        # The internal token lives 60 s; the gateway makes a fresh one per request, the bench one per run.
        headers = {INTERNAL_TOKEN_HEADER: token}
        codes = [f"/v1/codes/B{n:09d}" for n in range(1, subjects // 5 + 1)]
        print(HEADER.replace(" " * 50, f"{'lookups (one server process)':<50}", 1))
        for label, loop, level in (
            (f"closed loop, concurrency {concurrency}", closed_loop, concurrency),
            (f"open loop, {rate:.0f}/s", open_loop, rate),
        ):
            results = {}
            for name, paths in (("/health/live", ["/health/live"]), ("/v1/codes/{code}", codes)):

                def pick(rng, paths=paths):  # noqa: ANN001, ANN202 - a loadgen Pick
                    return ("GET", rng.choice(paths), headers, b"")

                asyncio.run(closed_loop(port, pick, 1, 4))  # warm-up
                results[name] = asyncio.run(loop(port, pick, seconds, level))
                print(results[name].row(f"{label} {name}"))
            print(f"  profile p50 / health p50 = {results['/v1/codes/{code}'].p50 / results['/health/live'].p50:.1f}")
        print("target: profile p50 under 10 ms under load")
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200, help="requests per second of the open loop")
    parser.add_argument("--reuse", action="store_true", help="use the data a previous run generated")
    parser.add_argument("--skip-batch", action="store_true", help="only the lookups")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    if not args.reuse:
        asyncio.run(build(args.database_url, args.subjects, args.records))
    if not args.skip_batch:
        asyncio.run(rescore_all(args.database_url))
    lookups(args.database_url, args.subjects, args.seconds, args.concurrency, args.rate)


if __name__ == "__main__":
    main()
