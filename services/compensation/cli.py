"""compensation's command line: `python -m services.compensation.cli seed-demo FILE | reconcile | check-ledger |
rotate-payee-names | outbox ...`.

`reconcile` is the daily reconciliation for a scheduler (cron, a Kubernetes CronJob): yesterday in
Asia/Shanghai by default, every configured provider; it prints each report as JSON and exits 1 when
any mismatch is found, so the scheduler's alerting sees it.

`rotate-payee-names` encrypts every payee name held again with COMPENSATION_PAYEE_NAME_SECRET (after a new
secret was set, the old one as COMPENSATION_PAYEE_NAME_PREVIOUS_SECRET); then the previous one can go.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from services.compensation import ledger as accounts
from services.compensation.config import CompensationSettings, settings
from services.compensation.ledger import Ledger
from services.compensation.models import Fund, LedgerTransaction, outbox
from services.compensation.payee_names import PayeeNames
from services.compensation.providers.registry import registry
from services.compensation.reports import reconcile
from shared import outbox_admin
from shared.clock import SHANGHAI, Clock, system_clock
from shared.contracts.compensation import ReconciliationOut
from shared.db import create_engine, create_sessionmaker
from shared.seeding import read_demo_file


async def seed_demo(path: Path) -> int:
    """Fund the demo regions and the demo merchants' deposits of the file at `path`, once: running it again adds
    nothing."""
    engine = create_engine(settings)
    seeded = 0
    try:
        async with create_sessionmaker(engine)() as session:
            ledger = Ledger(session, system_clock)
            done = set(
                (
                    await session.scalars(
                        select(LedgerTransaction.reference).where(
                            LedgerTransaction.kind.in_(["fund_top_up", "deposit_top_up"])
                        )
                    )
                ).all()
            )
            data = read_demo_file(path, settings)
            for fund in data["funds"]:
                reference = f"{fund['reference']} {fund['region_code']}"
                if reference in done:
                    continue
                if await session.get(Fund, fund["region_code"]) is None:
                    session.add(Fund(region_code=fund["region_code"], floor_fen=0, created_at=system_clock.now()))
                await ledger.post(
                    "fund_top_up",
                    reference,
                    [
                        (accounts.external("budget"), -fund["amount_fen"]),
                        (accounts.fund(fund["region_code"]), fund["amount_fen"]),
                    ],
                    region_code=fund["region_code"],
                )
                seeded += 1
            for deposit in data["deposits"]:
                reference = f"{deposit['reference']} {deposit['merchant_id']}"
                if reference in done:
                    continue
                await ledger.post(
                    "deposit_top_up",
                    reference,
                    [
                        (accounts.external("merchants"), -deposit["amount_fen"]),
                        (accounts.deposit(deposit["merchant_id"]), deposit["amount_fen"]),
                    ],
                    region_code=deposit["region_code"],
                )
                seeded += 1
            await session.commit()
    finally:
        await engine.dispose()
    return seeded


async def reconcile_day(
    config: CompensationSettings,
    day: date | None = None,
    names: list[str] | None = None,
    clock: Clock = system_clock,
) -> list[ReconciliationOut]:
    """Reconcile one Asia/Shanghai day (yesterday by default) with every provider named (all configured)."""
    day = day or clock.now().astimezone(SHANGHAI).date() - timedelta(days=1)
    providers = registry(config).build(config)
    unknown = sorted(set(names or []) - set(providers))
    if unknown:
        raise SystemExit(f"no provider is configured for {', '.join(unknown)}")
    engine = create_engine(config)
    try:
        async with create_sessionmaker(engine)() as session:
            return [await reconcile(session, providers[n], n, day) for n in (names or sorted(providers))]
    finally:
        await engine.dispose()


async def check_ledger(config: CompensationSettings) -> dict[str, object]:
    """The ledger's own check (GET /v1/ledger/check), from the command line: after a restore, before traffic."""
    engine = create_engine(config)
    try:
        async with create_sessionmaker(engine)() as session:
            return (await Ledger(session, system_clock).check()).model_dump(mode="json")
    finally:
        await engine.dispose()


async def rotate_payee_names(config: CompensationSettings) -> int:
    """Every payee name encrypted again with the newest key; returns how many."""
    engine = create_engine(config)
    try:
        async with create_sessionmaker(engine)() as session:
            rotated = await PayeeNames.of(session, config).rotate()
            await session.commit()
            return rotated
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.compensation.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed-demo", help="fund the demo regions and deposits (idempotent)")
    seed.add_argument("file", type=Path, help="the demo records (JSON; `make run` passes demo/demo.json)")
    rec = sub.add_parser("reconcile", help="the daily reconciliation with the providers' bills; exit 1 on a mismatch")
    rec.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD, Asia/Shanghai (default: yesterday)")
    rec.add_argument(
        "--provider",
        "--channel",  # its former name, deprecated: accepted for one release
        dest="provider",
        action="append",
        choices=registry(settings).names,
        help="one provider (repeatable; default: every configured one); --channel is its deprecated former name",
    )
    sub.add_parser(
        "check-ledger", help="does every transaction balance and every balance match its entries? exit 1 if not"
    )
    sub.add_parser("rotate-payee-names", help="encrypt every payee name again with COMPENSATION_PAYEE_NAME_SECRET")
    sub.add_parser(
        "payout-callbacks", help="the value of the gateway's GATEWAY_PAYOUT_CALLBACKS for COMPENSATION_PAYOUT_PROVIDERS"
    )
    outbox_admin.add_commands(sub)
    args = parser.parse_args(argv)
    if args.command == "payout-callbacks":
        print(registry(settings).gateway_callbacks())
        return 0
    if args.command == "rotate-payee-names":
        print(f"compensation: {asyncio.run(rotate_payee_names(settings))} payee names encrypted with the newest key")
        return 0
    if args.command == "check-ledger":
        check = asyncio.run(check_ledger(settings))
        print(json.dumps(check, ensure_ascii=False))
        return 0 if check["ok"] else 1
    if args.command == "seed-demo":
        print(f"compensation: {asyncio.run(seed_demo(args.file))} demo funds and deposits added")
        return 0
    if args.command == "outbox":
        return outbox_admin.run(args, outbox, settings)
    reports = asyncio.run(reconcile_day(settings, args.day, args.provider))
    for report in reports:
        print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    return 0 if all(r.balanced for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
