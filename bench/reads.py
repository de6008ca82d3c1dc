"""Reads through the gateway on PostgreSQL, against a bare one-SELECT FastAPI endpoint, at two data sizes.

    python -m bench.reads [--sizes 10000,1000000] [--seconds 10] [--concurrency 16] [--database-url URL]

Three reads, each as its caller makes it, through the gateway to the service that owns it:
- one complaint, `GET /v1/complaints/{id}`, by the tourist who made it;
- a queue page, `GET /v1/complaints`, by an official of the province: the first page (with the total the
  filter finds, one COUNT bounded by INTAKE_QUEUE_TOTAL_CAP), and the next (its cursor, no total);
- a code scan, `GET /v1/codes/{code}`, anonymous, without If-None-Match (what the CDN asks on a miss).

The gateway, intake and credit run as deployed (one uvicorn process each, background workers on) on schemas
of their own (`bench_reads_*`). Intake holds `--sizes` complaints made by the report benchmark's generator
(bench/reports.py: a province's year, over its 27 regions), 200 of them re-owned by the 200 logged-in tourists
who read them; credit 2,000 live merchants with codes.

The baseline, alternating with each read in the same run: a bare FastAPI endpoint reading one row by its key
(bench/baseline.py, `GET /v1/items/{id}`), one process, the same engine settings. CPU is the benchmark's own:
the processes it started, the client and the PostgreSQL backends serving its database (bench/loadgen.py
`OwnCPU`), so other work on a shared machine does not count. Targets (issue 24): a read at most 2.5 times
the baseline's CPU; at the largest size p50 and p99 within 1.5 times the smallest size's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import UTC, datetime

import httpx
import jwt
from sqlalchemy import make_url, text

from bench import reports
from bench.credit import CODES, MERCHANTS
from bench.loadgen import HEADER, OwnCPU, Result, closed_loop
from bench.submission import JWT, env_for, per, start, stop, taken
from services.credit.config import CreditSettings
from services.gateway.auth import Authenticator, create_staff
from services.gateway.config import GatewaySettings
from services.gateway.logins.base import ProviderIdentity
from services.intake.config import IntakeSettings
from shared.clock import system_clock
from shared.contracts.identity import Role
from shared.db import create_engine, create_sessionmaker
from shared.migrate import upgrade
from shared.testing.fakes.server import free_port

TOURISTS, MERCHANT_CODES, ITEMS = 200, 2000, 2000
SCHEMAS = {"gateway": "bench_reads_gateway", "intake": "bench_reads_intake", "credit": "bench_reads_credit"}
SETTINGS = {"gateway": GatewaySettings, "intake": IntakeSettings, "credit": CreditSettings}
OFFICIAL, PASSWORD = "bench_official", "bench-official-password-0123"


async def fresh(url: str, service: str) -> None:
    settings = SETTINGS[service](database_url=url, database_schema=SCHEMAS[service])
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMAS[service]}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{SCHEMAS[service]}"'))
    await engine.dispose()
    await asyncio.to_thread(upgrade, service, settings)


async def logins(url: str) -> tuple[list[str], str]:
    """The tourists' access tokens and the province official's."""
    await fresh(url, "gateway")
    settings = GatewaySettings(database_url=url, database_schema=SCHEMAS["gateway"], jwt_secret=JWT)
    engine = create_engine(settings)
    tokens = []
    async with create_sessionmaker(engine)() as session:
        auth = Authenticator(session=session, settings=settings, clock=system_clock)
        for n in range(TOURISTS):
            tokens.append(
                (await auth.login_consumer(ProviderIdentity(provider="wechat", external_id=f"o_r{n}"))).access_token
            )
        await create_staff(
            session, system_clock, username=OFFICIAL, password=PASSWORD, role=Role.official, region_code="460000"
        )
        await session.commit()
        official = (await auth.login_staff(OFFICIAL, PASSWORD)).access_token
        await session.commit()
    await engine.dispose()
    return tokens, official


async def credit_data(url: str) -> None:
    await fresh(url, "credit")
    engine = create_engine(CreditSettings(database_url=url, database_schema=SCHEMAS["credit"]))
    async with engine.begin() as conn:
        for statement in (MERCHANTS, CODES):
            await conn.execute(text(statement), {"merchants": MERCHANT_CODES})
    await engine.dispose()


async def intake_data(url: str, complaints: int, tokens: list[str]) -> list[str]:
    """`complaints` complaints, one in each `complaints // TOURISTS` owned by a tourist: their ids, in token order."""
    await fresh(url, "intake")
    await reports.generate(url, complaints, 365, SCHEMAS["intake"])
    owners = [jwt.decode(token, options={"verify_signature": False})["sub"] for token in tokens]
    ids = [f"cmp_bench{1 + k * (complaints // TOURISTS):010d}" for k in range(TOURISTS)]
    engine = create_engine(IntakeSettings(database_url=url, database_schema=SCHEMAS["intake"]))
    async with engine.begin() as conn:
        for owner, complaint in zip(owners, ids, strict=True):
            await conn.execute(
                text("UPDATE complaints SET consumer_id = :owner WHERE id = :id"), {"owner": owner, "id": complaint}
            )
        await conn.execute(text("ANALYZE complaints"))
    await engine.dispose()
    return ids


async def baseline_data(url: str) -> None:
    from bench.baseline import SCHEMA
    from shared.settings import ServiceSettings

    engine = create_engine(ServiceSettings(database_url=url, database_schema=SCHEMA))
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
        await conn.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{SCHEMA}".items '
                "(id text PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL)"
            )
        )
        await conn.execute(
            text(
                f"INSERT INTO \"{SCHEMA}\".items SELECT 'itm_read' || n, jsonb_build_object('n', n, 'text', "
                "repeat('投诉', 100)), :now FROM generate_series(1, :n) AS n ON CONFLICT DO NOTHING"
            ),
            {"n": ITEMS, "now": datetime.now(UTC)},
        )
    await engine.dispose()


def reads(tokens: list[str], official: str, ids: list[str], cursor: str) -> dict[str, object]:
    def one(rng):  # noqa: ANN001, ANN202 - loadgen Picks
        k = rng.randrange(len(ids))
        return "GET", f"/v1/complaints/{ids[k]}", {"Authorization": f"Bearer {tokens[k]}"}, b""

    def queue(rng):  # noqa: ANN001, ANN202
        return "GET", "/v1/complaints", {"Authorization": f"Bearer {official}"}, b""

    def scan(rng):  # noqa: ANN001, ANN202
        return "GET", f"/v1/codes/B{1 + rng.randrange(MERCHANT_CODES):09d}", {}, b""

    def next_page(rng):  # noqa: ANN001, ANN202
        return "GET", f"/v1/complaints?cursor={cursor}", {"Authorization": f"Bearer {official}"}, b""

    return {"one complaint": one, "queue page": queue, "next queue page": next_page, "code scan": scan}


def item(rng):  # noqa: ANN001, ANN202
    return "GET", f"/v1/items/itm_read{1 + rng.randrange(ITEMS)}", {}, b""


def measure_size(args: argparse.Namespace, size: int, tokens: list[str], official: str) -> dict[str, Result]:
    url = args.database_url
    ids = asyncio.run(intake_data(url, size, tokens))
    ports = {name: [free_port()] for name in ("gateway", "intake", "credit", "compensation", "baseline", "wechat")}
    processes = []
    try:
        for service in ("credit", "intake", "gateway"):
            env = env_for(service, url, ports)
            env[f"{service.upper()}_DATABASE_SCHEMA"] = SCHEMAS[service]
            processes.append(start(["-m", f"services.{service}.main"], env, ports[service][0]))
        processes.append(
            start(
                ["-m", "uvicorn", "bench.baseline:app", "--port", str(ports["baseline"][0]), "--log-level", "warning"],
                {**os.environ, "BASELINE_DATABASE_URL": url},
                ports["baseline"][0],
            )
        )
        own = OwnCPU([p.pid for p in processes], make_url(url).database or "")
        asyncio.run(closed_loop(ports["gateway"], item, 1, 1))  # every process up and its pool open
        idle = asyncio.run(own.idle())
        results = {}
        print(f"{size:,} complaints stored; CPU at rest {1000 * idle:.0f} ms a second, taken off each run's")
        print(HEADER + f"{'own CPU ms':>12}{'ratio':>7}")
        base_pick = item
        first = httpx.get(
            f"http://127.0.0.1:{ports['gateway'][0]}/v1/complaints",
            headers={"Authorization": f"Bearer {official}"},
            timeout=60,
        ).json()
        for name, pick in reads(tokens, official, ids, first["next_cursor"]).items():
            asyncio.run(closed_loop(ports["gateway"], pick, 2, 4))  # warm-up
            asyncio.run(closed_loop(ports["baseline"], base_pick, 1, 4))
            mine = own.reading()
            result = asyncio.run(closed_loop(ports["gateway"], pick, args.seconds, args.concurrency))
            cpu = per(1000 * (own.since(mine) - idle * result.seconds), taken(result))
            mine = own.reading()
            base = asyncio.run(closed_loop(ports["baseline"], base_pick, args.seconds, args.concurrency))
            base_cpu = per(1000 * (own.since(mine) - idle * base.seconds), taken(base))
            print(
                result.row(f"{name} via gateway, concurrency {args.concurrency}")
                + f"{cpu:>12.2f}{cpu / base_cpu:>7.1f}"
            )
            print(base.row(f"baseline one SELECT, concurrency {args.concurrency}") + f"{base_cpu:>12.2f}")
            if result.errors:
                print(f"{'':<4}errors by status: {result.failures}")
            results[name] = result
        print("target: a read's own CPU at most 2.5 times the baseline SELECT's (ratio)")
        return results
    finally:
        stop(processes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="complaints stored, smallest first")
    parser.add_argument("--seconds", type=float, default=10, help="length of each closed-loop run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    tokens, official = asyncio.run(logins(args.database_url))
    asyncio.run(credit_data(args.database_url))
    asyncio.run(baseline_data(args.database_url))
    figures = {size: measure_size(args, size, tokens, official) for size in sizes}
    small, large = figures[sizes[0]], figures[sizes[-1]]
    print(f"{sizes[-1]:,} complaints against {sizes[0]:,}: p50 and p99 ratios (target at most 1.5)")
    for name in small:
        print(
            f"{'':<4}{name:<16} p50 {large[name].p50:.2f} / {small[name].p50:.2f} ms = "
            f"{large[name].p50 / small[name].p50:.2f}; p99 {large[name].p99:.2f} / {small[name].p99:.2f} ms = "
            f"{large[name].p99 / small[name].p99:.2f}"
        )


if __name__ == "__main__":
    main()
