"""The gateway's command line: staff accounts, partners and demo data.

python -m services.gateway.cli create-staff --username sanya --role official --region 460200
python -m services.gateway.cli create-partner --name "海南12345热线" --channel hotline_12345 --webhook-url https://...
python -m services.gateway.cli rotate-partner-key ptn_...
python -m services.gateway.cli rotate-partner-secrets [--legacy-jwt-secret-from-env]
python -m services.gateway.cli unlock-staff sanya
python -m services.gateway.cli seed-demo FILE
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from services.gateway.auth import create_staff, unlock_staff
from services.gateway.config import settings
from services.gateway.errors import StaffExists
from services.gateway.partners import Partners, partner_cipher
from shared import channels
from shared.channels import government
from shared.clock import system_clock
from shared.contracts.identity import Role
from shared.db import create_engine, create_sessionmaker
from shared.errors import Problem
from shared.seeding import read_demo_file


async def _create(**fields: object) -> str:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            account = await create_staff(session, system_clock, **fields)  # type: ignore[arg-type]
            await session.commit()
            return account.id
    finally:
        await engine.dispose()


async def _partner(
    partner_id: str | None, name: str | None, webhook_url: str | None, channel: str | None = None
) -> tuple[str, str, str]:
    """A new partner (or a new key for one): its id, key id and secret, which is printed this once."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            partners = Partners.of(session, settings)
            if partner_id is None:
                partner, key, secret = await partners.create(
                    name or "", webhook_url, channel, served=government.load(settings.government_channels)
                )
            else:
                partner = await partners.get(partner_id)
                key, secret = await partners.new_key(partner)
            await session.commit()
            return partner.id, key.id, secret
    finally:
        await engine.dispose()


async def _reencrypt(legacy_jwt_secret: str | None) -> int:
    """Every partner secret encrypted again under the newest GATEWAY_PARTNER_SECRET_KEYS key."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            partners = Partners.of(session, settings)
            partners.cipher = partner_cipher(settings, legacy_jwt_secret=legacy_jwt_secret)
            count = await partners.reencrypt_all()
            await session.commit()
            return count
    finally:
        await engine.dispose()


async def _unlock(username: str) -> bool:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            unlocked = await unlock_staff(session, system_clock, username, by=None)
            await session.commit()
            return unlocked
    finally:
        await engine.dispose()


async def seed_demo(path: Path) -> int:
    """Create the demo staff accounts of the file at `path` that do not exist yet."""
    created = 0
    for raw in read_demo_file(path, settings)["staff"]:
        try:
            await _create(
                username=raw["username"],
                password=raw["password"],
                role=Role(raw["role"]),
                display_name=raw.get("display_name"),
                region_code=raw.get("region_code"),
                merchant_id=raw.get("merchant_id"),
            )
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
    seed = sub.add_parser("seed-demo", help="create the demo staff accounts (idempotent)")
    seed.add_argument("file", type=Path, help="the demo records (JSON; `make run` passes demo/demo.json)")
    partner = sub.add_parser("create-partner", help="register a partner platform and print its first key")
    partner.add_argument("--name", required=True)
    partner.add_argument("--webhook-url", help="where status changes of its complaints are posted")
    partner.add_argument(
        "--channel", help=f"a government channel's center: {', '.join(sorted(channels.governmental()))}"
    )
    rotate = sub.add_parser("rotate-partner-key", help="a new signing key; the old one works for the overlap")
    rotate.add_argument("partner_id")
    reencrypt = sub.add_parser(
        "rotate-partner-secrets",
        help=("encrypt every partner secret again with the newest GATEWAY_PARTNER_SECRET_KEYS key"),
    )
    reencrypt.add_argument(
        "--legacy-jwt-secret-from-env",
        action="store_true",
        help=(
            "also read secrets encrypted under GATEWAY_JWT_SECRET, as releases before GATEWAY_PARTNER_SECRET_KEYS "
            "kept them (once, when upgrading)"
        ),
    )
    unlock = sub.add_parser("unlock-staff", help="lift a staff login lock after failed passwords")
    unlock.add_argument("username")
    args = parser.parse_args(argv)
    if args.command == "rotate-partner-secrets":
        legacy = settings.jwt_secret if args.legacy_jwt_secret_from_env else None
        print(f"gateway: {asyncio.run(_reencrypt(legacy))} partner secrets encrypted with the newest key")
        return 0
    if args.command == "unlock-staff":
        unlocked = asyncio.run(_unlock(args.username))
        print(f"gateway: {args.username} " + ("unlocked" if unlocked else "was not locked"))
        return 0
    if args.command == "seed-demo":
        print(f"gateway: {asyncio.run(seed_demo(args.file))} demo staff accounts created")
        return 0
    if args.command in ("create-partner", "rotate-partner-key"):
        try:
            partner_id, key_id, secret = asyncio.run(
                _partner(
                    getattr(args, "partner_id", None),
                    getattr(args, "name", None),
                    getattr(args, "webhook_url", None),
                    getattr(args, "channel", None),
                )
            )
        except Problem as exc:
            print(f"error: {exc.detail} ({exc.code})", file=sys.stderr)
            return 1
        print(f"partner {partner_id}\nkey {key_id}\nsecret {secret}   (shown once: store it now)")
        return 0
    password = args.password or getpass.getpass("password: ")
    if len(password) < 8:
        print("error: passwords have at least 8 characters", file=sys.stderr)
        return 2
    try:
        account_id = asyncio.run(
            _create(
                username=args.username,
                password=password,
                role=Role(args.role),
                display_name=args.name,
                region_code=args.region,
                merchant_id=args.merchant_id,
            )
        )
    except Problem as exc:
        print(f"error: {exc.detail} ({exc.code})", file=sys.stderr)
        return 1
    print(account_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
