"""credit's command line: `python -m services.credit.cli seed-demo`."""

from __future__ import annotations

import argparse
import asyncio

from services.credit.config import settings
from services.credit.models import outbox
from services.credit.service import Subjects
from services.demo import demo_data
from shared.clock import system_clock
from shared.contracts.merchants import MerchantIn
from shared.db import create_engine, create_sessionmaker
from shared.outbox import Outbox


async def seed_demo() -> int:
    """Settle the demo merchants in, once: running it again adds nothing."""
    engine = create_engine(settings)
    created = 0
    try:
        async with create_sessionmaker(engine)() as session:
            subjects = Subjects(session=session, clock=system_clock, outbox=Outbox(outbox, "credit", system_clock))
            for raw in demo_data()["merchants"]:
                if await subjects.get(raw["id"]) is None:
                    await subjects.settle_in(MerchantIn.model_validate(raw))
                    created += 1
            await session.commit()
    finally:
        await engine.dispose()
    return created


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.credit.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("seed-demo", help="settle the demo merchants in (idempotent)")
    args = parser.parse_args()
    if args.command == "seed-demo":
        print(f"credit: {asyncio.run(seed_demo())} demo merchants settled in")


if __name__ == "__main__":
    main()
