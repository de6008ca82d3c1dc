"""The migration that names a payout's provider `provider` keeps the payouts and notifications made before it,
and makes room for any name the registry accepts: 32 characters, which PostgreSQL refused beyond 10."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, MetaData, Table, insert, select

from services.compensation.config import CompensationSettings
from services.compensation.models import Claim, Payout, ProviderNotification
from services.compensation.providers.registry import NAME
from shared.db import create_engine
from shared.migrate import upgrade
from tests.support import Databases, _drop_schema, postgres_url

AT = datetime(2026, 12, 7, 2, tzinfo=UTC)
LONGEST = "unionpay_quick_transfer_to_cards"  # 32 characters, the longest name a provider may have


def _as_before(model: type[Payout] | type[ProviderNotification]) -> Table:
    """The table as it was before the migration: the provider's column still called `channel`."""
    columns = [Column("channel" if c.name == "provider" else c.name, c.type) for c in model.__table__.columns]
    return Table(model.__tablename__, MetaData(), *columns)


def test_payouts_keep_their_provider_and_a_provider_may_have_a_name_of_32_characters(tmp_path: Path) -> None:
    assert len(LONGEST) == 32 and NAME.fullmatch(LONGEST)
    databases = Databases(tmp_path, postgres_url())
    settings = CompensationSettings(**databases.settings_fields("compensation", "_providermig"))
    if databases.pg_url:
        asyncio.run(_drop_schema(settings))
    upgrade("compensation", settings, "0007")

    async def before() -> None:
        engine = create_engine(settings)
        async with engine.begin() as conn:
            await conn.execute(
                insert(Claim.__table__),
                [
                    {
                        "id": f"clm_{n}",
                        "complaint_id": f"cmp_{n}",
                        "consumer_id": "usr_MEI",
                        "channel": "wechat_miniprogram",
                        "region_code": "460200",
                        "fund_region_code": "460200",
                        "industry": "hotel",
                        "amount_involved_fen": 10_000,
                        "amount_requested_fen": 10_000,
                        "amount_fen": 10_000,
                        "facts": {},
                        "request_reason": "overdue",
                        "state": "approved",
                        "rule_version": 1,
                        "reasons": [],
                        "approvals_needed": 1,
                        "liability_clear": True,
                        "opened_by": "consumer",
                        "created_at": AT,
                        "version": 1,
                    }
                    for n in (1, 2)
                ],
            )
            await conn.execute(
                insert(_as_before(Payout)),
                {
                    "id": "pay_1",
                    "claim_id": "clm_1",
                    "channel": "wechat",
                    "consumer_id": "usr_MEI",
                    "region_code": "460200",
                    "out_no": "pay1",
                    "amount_fen": 10_000,
                    "state": "processing",
                    "attempts": 1,
                    "next_attempt_at": AT,
                    "in_clearing": False,
                    "created_at": AT,
                    "version": 1,
                },
            )
            await conn.execute(
                insert(_as_before(ProviderNotification)),
                {"id": "wechat:n-1", "channel": "wechat", "out_no": "pay1", "state": "processing", "received_at": AT},
            )
        await engine.dispose()

    async def after() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        engine = create_engine(settings)
        async with engine.begin() as conn:
            await conn.execute(
                insert(Payout.__table__),
                {
                    "id": "pay_2",
                    "claim_id": "clm_2",
                    "provider": LONGEST,
                    "consumer_id": "usr_MEI",
                    "region_code": "460200",
                    "out_no": "pay2",
                    "amount_fen": 10_000,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": AT,
                    "in_clearing": False,
                    "created_at": AT,
                    "version": 1,
                },
            )
            await conn.execute(
                insert(ProviderNotification.__table__),
                {
                    "id": f"{LONGEST}:n-2",
                    "provider": LONGEST,
                    "out_no": "pay2",
                    "state": "succeeded",
                    "received_at": AT,
                },
            )
            payouts = (await conn.execute(select(Payout.id, Payout.provider).order_by(Payout.id))).all()
            notes = (
                await conn.execute(
                    select(ProviderNotification.id, ProviderNotification.provider).order_by(ProviderNotification.id)
                )
            ).all()
        await engine.dispose()
        return [tuple(row) for row in payouts], [tuple(row) for row in notes]

    asyncio.run(before())
    upgrade("compensation", settings)
    payouts, notes = asyncio.run(after())
    assert payouts == [("pay_1", "wechat"), ("pay_2", LONGEST)]
    assert notes == [(f"{LONGEST}:n-2", LONGEST), ("wechat:n-1", "wechat")]
    if databases.pg_url:
        asyncio.run(_drop_schema(settings))
