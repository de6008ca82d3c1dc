"""credit's command line: `python -m services.credit.cli seed-demo FILE | recompute-all | announce-merchants |
outbox`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.credit.archive import Archive, recompute_all
from services.credit.codes import Codes
from services.credit.config import settings
from services.credit.models import outbox
from services.credit.service import Subjects
from shared import outbox_admin
from shared.auth import service_identity
from shared.clock import system_clock
from shared.contracts.merchants import MerchantIn, ReviewDecision, ReviewIn
from shared.db import create_engine, create_sessionmaker
from shared.outbox import Outbox
from shared.seeding import read_demo_file


async def seed_demo(path: Path) -> int:
    """Settle the demo merchants of the file at `path` in and approve them (each gets its code), once: running it
    again adds nothing."""
    engine = create_engine(settings)
    created = 0
    seeder = service_identity("demo-seed")
    try:
        async with create_sessionmaker(engine)() as session:
            books = Outbox(outbox, "credit", system_clock)
            subjects = Subjects(session=session, clock=system_clock, outbox=books)
            codes = Codes(
                session=session,
                records=Archive.open(session, system_clock, books, settings.defence_days).records,
                public_base_url=settings.public_base_url,
            )
            for raw in read_demo_file(path, settings)["merchants"]:
                if await subjects.get(raw["id"]) is None:
                    merchant = await subjects.settle_in(MerchantIn.model_validate(raw))
                    await subjects.review(merchant, ReviewIn(decision=ReviewDecision.approve, note="demo"), seeder)
                    await codes.issue(merchant, seeder.subject, note="demo")
                    created += 1
            await session.commit()
    finally:
        await engine.dispose()
    return created


async def recompute() -> dict[str, int]:
    """Rescore every subject with the current scorecard (run it after a new scorecard version)."""
    engine = create_engine(settings)
    try:
        return await recompute_all(
            create_sessionmaker(engine), system_clock, Outbox(outbox, "credit", system_clock), settings.defence_days
        )
    finally:
        await engine.dispose()


async def announce() -> int:
    """Send every merchant as it is now to the services that keep a copy (run once after upgrading to intake
    migration 0008, which added the credit code that 12315 ODR cases are routed by)."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            count = await Subjects(
                session=session, clock=system_clock, outbox=Outbox(outbox, "credit", system_clock)
            ).announce_all()
            await session.commit()
            return count
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.credit.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed-demo", help="settle the demo merchants in (idempotent)")
    seed.add_argument("file", type=Path, help="the demo records (JSON; `make run` passes demo/demo.json)")
    sub.add_parser("recompute-all", help="rescore every subject with the current scorecard (a batch job)")
    sub.add_parser("announce-merchants", help="send every merchant as it is to intake and compensation again")
    outbox_admin.add_commands(sub)
    args = parser.parse_args()
    if args.command == "outbox":
        sys.exit(outbox_admin.run(args, outbox, settings))
    if args.command == "seed-demo":
        print(f"credit: {asyncio.run(seed_demo(args.file))} demo merchants settled in")
    elif args.command == "announce-merchants":
        print(f"credit: {asyncio.run(announce())} merchants announced; the outbox delivers them")
    else:
        totals = asyncio.run(recompute())
        print(
            f"credit: {totals['subjects']} subjects rescored from {totals['records']} records, "
            f"{totals['changed']} changed"
        )


if __name__ == "__main__":
    main()
