"""The gateway's command line: staff accounts and demo data.

    python -m services.gateway.cli create-staff --username sanya --role official --region 460200
    python -m services.gateway.cli seed-demo
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from services.demo import demo_data
from services.gateway.auth import StaffExists, create_staff
from services.gateway.config import settings
from shared.clock import system_clock
from shared.contracts.identity import Role
from shared.db import create_engine, create_sessionmaker
from shared.errors import Problem


async def _create(**fields: object) -> str:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            account = await create_staff(session, system_clock, **fields)  # type: ignore[arg-type]
            await session.commit()
            return account.id
    finally:
        await engine.dispose()


async def seed_demo() -> int:
    """Create the demo staff accounts that do not exist yet."""
    created = 0
    for raw in demo_data()["staff"]:
        try:
            await _create(username=raw["username"], password=raw["password"], role=Role(raw["role"]),
                          display_name=raw.get("display_name"), region_code=raw.get("region_code"),
                          merchant_id=raw.get("merchant_id"))
            created += 1
        except StaffExists:
            pass
    return created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.gateway.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    staff = sub.add_parser("create-staff", help="create an official, merchant staff or admin account")
    staff.add_argument("--username", required=True)
    staff.add_argument("--role", required=True, choices=[Role.official, Role.merchant_staff, Role.admin])
    staff.add_argument("--region", help="an official's region code (e.g. 460200)")
    staff.add_argument("--merchant-id", help="merchant staff's merchant id")
    staff.add_argument("--name", help="display name")
    staff.add_argument("--password", help="read from the terminal when omitted")
    sub.add_parser("seed-demo", help="create the demo staff accounts (idempotent)")
    args = parser.parse_args(argv)
    if args.command == "seed-demo":
        print(f"gateway: {asyncio.run(seed_demo())} demo staff accounts created")
        return 0
    password = args.password or getpass.getpass("password: ")
    if len(password) < 8:
        print("error: passwords have at least 8 characters", file=sys.stderr)
        return 2
    try:
        account_id = asyncio.run(_create(username=args.username, password=password, role=Role(args.role),
                                         display_name=args.name, region_code=args.region,
                                         merchant_id=args.merchant_id))
    except Problem as exc:
        print(f"error: {exc.detail} ({exc.code})", file=sys.stderr)
        return 1
    print(account_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
