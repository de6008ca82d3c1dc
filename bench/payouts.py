"""Pay 1,000 approved claims through the WeChat Pay fake and print payouts per second and the ledger check.

    python -m bench.payouts [--claims 1000] [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

The fake runs in its own process (real HTTP, real signatures); compensation runs here with its real
payout worker, asking the real gateway app (in-process) for each payee. Each claim is approved the
way an official's approval does it (fund -> payable, a payout with its idempotency key), then the
clock starts: the worker sends every transfer, WeChat Pay accepts it, the worker asks for the result
and pays out, opening the recovery order that draws the merchant's deposit.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

from services.compensation import ledger as accounts
from services.compensation.config import CompensationSettings
from services.compensation.ledger import Ledger
from services.compensation.main import create_app as create_compensation
from services.compensation.models import Claim, Payout
from services.compensation.payouts import run_payouts_once
from services.compensation.service import Compensation
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as create_gateway
from services.gateway.models import Account, ProviderIdentity
from shared.clock import ManualClock
from shared.contracts.compensation import ClaimState
from shared.db import create_engine
from shared.ids import new_id
from shared.migrate import upgrade
from shared.testing.fakes.keys import generate_rsa_keypair
from shared.testing.fakes.server import free_port

MCHID, APPID, SERIAL, KEY_ID, APIV3 = "1900000001", "wx-bench", "BENCH-SERIAL", "PUB_KEY_ID_BENCH", "b" * 32
SECRET = "bench-internal-secret-0123456789abcdef"
REGION, MERCHANT = "460200", "mer_01BENCH00000000000000HOTEL"


def serve_fake(port: int, merchant_public: str, platform_private: str) -> None:
    import uvicorn

    from shared.testing.fakes.wechatpay import create_wechatpay_fake

    app = create_wechatpay_fake(MCHID, APPID, merchant_public, SERIAL, platform_private, KEY_ID, APIV3)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", log_config=None)


def process_cpu(pid: int | None) -> float:
    """User and system CPU seconds of another process so far (Linux /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drop_schema(url: str, schema: str) -> None:
    engine = create_engine(CompensationSettings(database_url=url))
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


async def prepare(gateway_app, compensation_app, claims: int) -> None:  # type: ignore[no-untyped-def]
    """Consumers with WeChat identities at the gateway; funded, approved claims at compensation."""
    now = compensation_app.state.clock.now()
    consumers = [new_id("usr") for _ in range(claims)]
    async with gateway_app.state.sessionmaker() as session:
        session.add_all(
            Account(id=c, role="consumer", channel="wechat_miniprogram", disabled=False, created_at=now)
            for c in consumers
        )
        await session.flush()
        session.add_all(
            ProviderIdentity(
                id=new_id("pid"), provider="wechat", external_id=f"o-bench-{i:06d}", account_id=c, created_at=now
            )
            for i, c in enumerate(consumers)
        )
        await session.commit()
    state = compensation_app.state
    async with state.sessionmaker() as session:
        ledger = Ledger(session, state.clock)
        await ledger.post(
            "fund_top_up",
            "bench",
            [(accounts.external("budget"), -(10**11)), (accounts.fund(REGION), 10**11)],
            region_code=REGION,
        )
        await ledger.post(
            "deposit_top_up",
            "bench",
            [(accounts.external("merchants"), -(10**10)), (accounts.deposit(MERCHANT), 10**10)],
            region_code=REGION,
        )
        service = Compensation(session=session, clock=state.clock, settings=state.settings, outbox=state.outbox)
        for i, consumer in enumerate(consumers):
            claim = Claim(
                id=new_id("clm"),
                complaint_id=new_id("cmp"),
                consumer_id=consumer,
                channel="wechat_miniprogram",
                merchant_id=MERCHANT,
                region_code=REGION,
                fund_region_code=REGION,
                industry="lodging",
                amount_involved_fen=20_000,
                amount_requested_fen=10_000 + i,
                amount_fen=10_000 + i,
                scenario=None,
                facts={},
                request_reason="bench",
                state=ClaimState.pending_approval,
                rule_version=1,
                reasons=[],
                approvals_needed=1,
                liability_clear=True,
                opened_by="bench",
                created_at=now,
            )
            session.add(claim)
            await session.flush()
            await service.claims._approve_fully(claim)
        await session.commit()


async def run(args: argparse.Namespace) -> None:
    url = args.database_url
    is_pg = url.startswith("postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="bench-payouts-"))
    merchant_private, merchant_public = generate_rsa_keypair()
    platform_private, platform_public = generate_rsa_keypair()
    (tmp / "merchant.pem").write_text(merchant_private)
    (tmp / "platform.pem").write_text(platform_public)
    port = free_port()
    fake = multiprocessing.get_context("spawn").Process(
        target=serve_fake, args=(port, merchant_public, platform_private), daemon=True
    )
    fake.start()
    common = {"internal_secret": SECRET, "run_background_workers": False, "environment": "development"}

    def where(service: str) -> dict[str, str | None]:
        if is_pg:
            return {"database_url": url, "database_schema": f"bench_{service}"}
        return {"database_url": f"sqlite+aiosqlite:///{tmp / service}.db"}

    comp_settings = CompensationSettings(
        **common,
        **where("compensation"),
        wechatpay_mchid=MCHID,
        wechatpay_appid=APPID,
        wechatpay_gateway_url=f"http://127.0.0.1:{port}",
        wechatpay_private_key_file=tmp / "merchant.pem",
        wechatpay_cert_serial_no=SERIAL,
        wechatpay_apiv3_key=APIV3,
        wechatpay_public_key_file=tmp / "platform.pem",
        wechatpay_public_key_id=KEY_ID,
        alipay_app_private_key_file=tmp / "none",
        notify_base_url="http://127.0.0.1:9",
        payout_poll_seconds=0.0,
        provider_timeout_seconds=10.0,
        payout_batch=args.batch,
        **({"payout_passes": args.passes} if args.passes else {}),
    )
    gw_settings = GatewaySettings(**common, **where("gateway"), jwt_secret=SECRET)
    for service, settings in (("compensation", comp_settings), ("gateway", gw_settings)):
        if is_pg:
            await drop_schema(url, f"bench_{service}")
        await asyncio.to_thread(upgrade, service, settings)
    clock = ManualClock()
    transports: dict[str, httpx.AsyncBaseTransport] = {}
    gateway_app = create_gateway(gw_settings, clock=clock)
    compensation_app = create_compensation(comp_settings, clock=clock, transports=transports)
    transports["gateway"] = httpx.ASGITransport(app=gateway_app)
    async with (
        gateway_app.router.lifespan_context(gateway_app),
        compensation_app.router.lifespan_context(compensation_app),
    ):
        async with httpx.AsyncClient(timeout=1) as probe:
            for _ in range(100):
                try:
                    await probe.get(f"http://127.0.0.1:{port}/v3/unknown")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        await prepare(gateway_app, compensation_app, args.claims)
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        fake_cpu_before = process_cpu(fake.pid)
        started = time.perf_counter()
        passes = 0

        async def loop(worker: int) -> None:
            """One of the worker's concurrent loops (`payout_passes`), as `payout_worker` runs them."""
            nonlocal passes
            while True:
                pass_started = time.perf_counter()
                sent = await run_payouts_once(compensation_app)
                passes += 1
                if args.verbose and sent:
                    print(f"  loop {worker}: {sent} payouts in {time.perf_counter() - pass_started:.2f} s")
                async with compensation_app.state.sessionmaker() as session:
                    left = (
                        await session.execute(
                            select(func.count(Payout.id)).where(Payout.state.notin_(["succeeded", "failed"]))
                        )
                    ).scalar_one()
                if not left:
                    return
                if not sent:
                    await asyncio.sleep(0.02)  # transfers still finishing at the provider
                    clock.advance(timedelta(seconds=1))

        await asyncio.gather(*(loop(worker) for worker in range(comp_settings.payout_passes)))
        elapsed = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        fake_cpu = process_cpu(fake.pid) - fake_cpu_before
        async with compensation_app.state.sessionmaker() as session:
            paid = (
                await session.execute(select(func.count(Payout.id)).where(Payout.state == "succeeded"))
            ).scalar_one()
            check = await Ledger(session, clock).check()
    fake.terminate()
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    backend = "PostgreSQL" if is_pg else "SQLite"
    print(f"payouts benchmark ({backend}, {os.cpu_count()} cores, Python {sys.version.split()[0]})")
    print(
        f"  claims paid          {paid} of {args.claims} in {elapsed:.2f} s ({passes} worker passes, "
        f"{comp_settings.payout_passes} at a time, up to {comp_settings.payout_batch} payouts each)"
    )
    print(f"  payouts per second   {paid / elapsed:.1f}   (target: at least 100 on PostgreSQL)")
    print(f"  compensation CPU     {cpu:.2f} s ({100 * cpu / elapsed:.0f}% of one core)")
    print(
        f"  WeChat Pay fake CPU  {fake_cpu:.2f} s ({100 * fake_cpu / elapsed:.0f}% of one core, a process apart: "
        f"in production the provider's own)"
    )
    print(
        f"  ledger check         ok={check.ok} transactions={check.transactions} total_fen={check.total_fen} "
        f"unbalanced={check.unbalanced_transactions} negative={len(check.negative_accounts)}"
    )
    if is_pg:
        for service in ("compensation", "gateway"):
            await drop_schema(url, f"bench_{service}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.payouts")
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="payouts the worker claims per pass")
    parser.add_argument(
        "--passes", type=int, default=0, help="worker passes at once (default: the payout_passes setting)"
    )
    parser.add_argument("--verbose", action="store_true", help="print each worker pass")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
