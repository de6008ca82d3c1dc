"""compensation's command line: `python -m services.compensation.cli seed-demo`."""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy import select

from services.compensation import ledger as accounts
from services.compensation.config import settings
from services.compensation.ledger import Ledger
from services.compensation.models import Fund, LedgerTransaction
from services.demo import demo_data
from shared.clock import system_clock
from shared.db import create_engine, create_sessionmaker


async def seed_demo() -> int:
    """Fund the demo regions and the demo merchants' deposits, once: running it again adds nothing."""
    engine = create_engine(settings)
    seeded = 0
    try:
        async with create_sessionmaker(engine)() as session:
            ledger = Ledger(session, system_clock)
            done = set((await session.scalars(select(LedgerTransaction.reference).where(
                LedgerTransaction.kind.in_(["fund_top_up", "deposit_top_up"])))).all())
            data = demo_data()
            for fund in data["funds"]:
                reference = f"{fund['reference']} {fund['region_code']}"
                if reference in done:
                    continue
                if await session.get(Fund, fund["region_code"]) is None:
                    session.add(Fund(region_code=fund["region_code"], floor_fen=0, created_at=system_clock.now()))
                await ledger.post("fund_top_up", reference, [
                    (accounts.external("budget"), -fund["amount_fen"]),
                    (accounts.fund(fund["region_code"]), fund["amount_fen"])], region_code=fund["region_code"])
                seeded += 1
            for deposit in data["deposits"]:
                reference = f"{deposit['reference']} {deposit['merchant_id']}"
                if reference in done:
                    continue
                await ledger.post("deposit_top_up", reference, [
                    (accounts.external("merchants"), -deposit["amount_fen"]),
                    (accounts.deposit(deposit["merchant_id"]), deposit["amount_fen"])],
                    region_code=deposit["region_code"])
                seeded += 1
            await session.commit()
    finally:
        await engine.dispose()
    return seeded


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.compensation.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("seed-demo", help="fund the demo regions and deposits (idempotent)")
    args = parser.parse_args()
    if args.command == "seed-demo":
        print(f"compensation: {asyncio.run(seed_demo())} demo funds and deposits added")


if __name__ == "__main__":
    main()
