"""Helpers for compensation tests: paying consumers, funded regions, complaints past their deadline."""

from __future__ import annotations

import asyncio
from typing import Any

from services.compensation.payouts import run_payouts_once
from shared.contracts.identity import Identity, Role
from tests.conftest import ADMIN, SANYA
from tests.factories import HOTEL, photo_png, settle_merchant, submit
from tests.support import Stack

PNG = photo_png()


async def paying_consumer(stack: Stack, name: str = "alice", via: str = "wechat") -> Identity:
    """A consumer who logged in through the gateway, so a payout knows where to go."""
    field = "auth_code" if via == "alipay" else "code"
    response = await stack.gateway.post(f"/v1/auth/{via}/login", json={field: f"demo-{name}"})
    assert response.status_code == 200, response.text
    account = response.json()["account"]
    return Identity(subject=account["id"], role=Role.consumer, channel=account["channel"])


async def fund_region(
    stack: Stack,
    *,
    region: str = SANYA,
    fund_fen: int = 10_000_000,
    deposit_fen: int = 100_000,
    merchant_id: str = HOTEL,
    **merchant: Any,
) -> None:
    await settle_merchant(stack, merchant_id, region=region, **merchant)
    comp = stack.clients["compensation"]
    r = await comp.post(
        f"/v1/funds/{region}/top-ups",
        headers=stack.as_(ADMIN),
        json={"amount_fen": fund_fen, "reference": "琼财预〔2026〕12号"},
    )
    assert r.status_code == 201, r.text
    if deposit_fen:
        r = await comp.post(
            f"/v1/merchants/{merchant_id}/deposit/top-ups",
            headers=stack.as_(ADMIN),
            json={"amount_fen": deposit_fen, "reference": "保证金缴纳"},
        )
        assert r.status_code == 201, r.text


async def overdue_complaint(stack: Stack, who: Identity, **overrides: Any) -> str:
    """A complaint with a photo whose merchant let the 48-hour settlement deadline pass."""
    complaint = await submit(stack, who, **overrides)
    r = await stack.clients["intake"].post(
        f"/v1/complaints/{complaint['id']}/evidence",
        headers=stack.as_(who),
        files={"file": ("photo.png", PNG, "image/png")},
    )
    assert r.status_code == 201, r.text
    stack.clock.advance(hours=48, minutes=1)
    await stack.run_deadlines()
    return complaint["id"]


async def request_compensation(
    stack: Stack, who: Identity, complaint_id: str, amount_fen: int, expect: int = 202, **extra: Any
) -> dict[str, Any]:
    r = await stack.clients["intake"].post(
        f"/v1/complaints/{complaint_id}/compensation-requests",
        headers=stack.as_(who),
        json={"amount_requested_fen": amount_fen, "reason": "商家超过时限未处理", **extra},
    )
    assert r.status_code == expect, r.text
    await stack.deliver_events()
    return r.json()


async def claim_of(stack: Stack, complaint_id: str) -> dict[str, Any]:
    r = await stack.clients["compensation"].get("/v1/claims", headers=stack.as_(ADMIN))
    claims = [c for c in r.json()["items"] if c["complaint_id"] == complaint_id]
    assert len(claims) == 1, r.json()
    return claims[0]


async def settle_payouts(stack: Stack, rounds: int = 12) -> None:
    """Run the payout worker until no payout is left in flight (the fakes finish transfers in ~50 ms)."""
    app = stack.apps["compensation"]
    for _ in range(rounds):
        await run_payouts_once(app)
        await stack.deliver_events()
        async with app.state.sessionmaker() as session:
            from sqlalchemy import func, select

            from services.compensation.models import Payout

            open_ = (
                await session.execute(select(func.count(Payout.id)).where(Payout.state.notin_(["succeeded", "failed"])))
            ).scalar_one()
        if not open_:
            return
        await asyncio.sleep(0.12)
        stack.clock.advance(seconds=6)  # past the notification wait: the worker asks the provider
    raise AssertionError("payouts still in flight")


async def ledger_check(stack: Stack) -> dict[str, Any]:
    r = await stack.clients["compensation"].get("/v1/ledger/check", headers=stack.as_(ADMIN))
    assert r.status_code == 200, r.text
    return r.json()
