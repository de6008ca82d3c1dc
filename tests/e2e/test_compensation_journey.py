"""Advance compensation end to end over loopback: a complaint misses its settlement deadline, the
consumer asks, the claim is approved, the provider pays and notifies the gateway, the timeline shows
it, the ledger balances and the merchant's deposit makes the fund whole. Through WeChat and Alipay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.clock import ManualClock
from shared.testing.fakes.server import ServerThread, free_port
from tests.conftest import Providers, compensation_overrides, gateway_overrides
from tests.e2e.conftest import _add_staff, _wipe_all
from tests.factories import complaint_body, merchant_id, photo_png, uscc
from tests.support import FACTORIES, SERVICES, START, Databases, eventually, service_settings

pytestmark = pytest.mark.e2e

HOTEL = merchant_id("E2EHTL")
PNG = photo_png()


@pytest.fixture(scope="module")
def system(
    databases: Databases, providers: Providers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, ManualClock]]:
    tmp: Path = tmp_path_factory.mktemp("e2e-comp")
    clock = ManualClock(START)
    ports = {name: free_port() for name in SERVICES}
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    common = {**urls, "run_background_workers": True, "outbox_poll_seconds": 0.05}
    extra = {
        "gateway": gateway_overrides(providers),
        "intake": {"scheduler_interval_seconds": 0.05},
        "compensation": {
            **compensation_overrides(providers, notify_base_url=urls["gateway_url"]),
            "payout_interval_seconds": 0.05,
            "payout_poll_seconds": 3600.0,
        },
    }
    settings = {name: service_settings(name, databases, tmp, **common, **extra.get(name, {})) for name in SERVICES}
    with ExitStack() as servers:
        for name in ("credit", "compensation", "intake", "gateway"):
            servers.enter_context(ServerThread(FACTORIES[name](settings[name], clock=clock), port=ports[name]))
        asyncio.run(_add_staff(settings["gateway"]))
        yield urls["gateway_url"], clock
    asyncio.run(_wipe_all(settings))


async def staff(gw: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def journey(gw: httpx.AsyncClient, clock: ManualClock, via: str, name: str, amount_fen: int) -> dict[str, Any]:
    field = "code" if via == "wechat" else "auth_code"
    r = await gw.post(f"/v1/auth/{via}/login", json={field: f"demo-{name}"})
    tourist = {"Authorization": f"Bearer {r.json()['access_token']}"}
    created = await gw.post(
        "/v1/complaints",
        headers=tourist,
        json=complaint_body(merchant_id=HOTEL, description=f"{name}: 房间与订单不符，酒店两天未处理。"),
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert (
        await gw.post(f"/v1/complaints/{cid}/evidence", headers=tourist, files={"file": ("p.png", PNG, "image/png")})
    ).status_code == 201
    clock.advance(timedelta(hours=48, minutes=1))

    async def overdue() -> bool:
        seen = (await gw.get(f"/v1/complaints/{cid}", headers=tourist)).json()
        return "settle" in seen["deadlines"]["overdue"]

    await eventually(overdue)
    asked = await gw.post(
        f"/v1/complaints/{cid}/compensation-requests",
        headers=tourist,
        json={"amount_requested_fen": amount_fen, "reason": "酒店超时未处理"},
    )
    assert asked.status_code == 202, asked.text

    async def paid() -> dict[str, Any] | None:
        seen = (await gw.get(f"/v1/complaints/{cid}", headers=tourist)).json()
        return seen if seen["compensation_state"] == "paid" else None

    seen = await eventually(paid)
    assert seen["compensation_paid_fen"] == amount_fen
    kinds = [
        e["kind"]
        for e in (await gw.get(f"/v1/complaints/{cid}/timeline", headers=tourist)).json()
        if e["kind"] not in ("notified", "notification_failed")
    ]  # the tourist's messages come and go apart
    assert kinds[-3:] == ["compensation_requested", "compensation_approved", "advance_compensation_paid"]
    return {"complaint_id": cid, "tourist": tourist}


async def test_compensation_through_wechat_pay_and_alipay(
    system: tuple[str, ManualClock], providers: Providers
) -> None:
    url, clock = system
    async with httpx.AsyncClient(base_url=url, timeout=10) as gw:
        admin = await staff(gw, "admin")
        r = await gw.post(
            "/v1/merchants",
            headers=admin,
            json={
                "id": HOTEL,
                "name": "三亚湾海景酒店",
                "uscc": uscc(HOTEL),
                "region_code": "460200",
                "industry": "lodging",
                "in_compensation_program": True,
            },
        )
        assert r.status_code == 201, r.text
        r = await gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"})
        assert r.status_code == 200, r.text
        assert (
            await gw.post(
                "/v1/funds/460200/top-ups", headers=admin, json={"amount_fen": 5_000_000, "reference": "预算"}
            )
        ).status_code == 201

        async def deposit_known() -> bool:
            r = await gw.post(
                f"/v1/merchants/{HOTEL}/deposit/top-ups",
                headers=admin,
                json={"amount_fen": 100_000, "reference": "保证金"},
            )
            return r.status_code == 201

        await eventually(deposit_known)  # once subject.registered reached compensation

        await journey(gw, clock, "wechat", "wendy", 30_000)
        await journey(gw, clock, "alipay", "alan", 20_000)
        assert any(n for n in providers.wechatpay.state.notifications)  # the WeChat Pay fake notified the gateway

        deposit = (await gw.get(f"/v1/merchants/{HOTEL}/deposit", headers=admin)).json()
        assert deposit["balance_fen"] == 50_000 and deposit["receivable_fen"] == 0
        recoveries = (await gw.get("/v1/recoveries", headers=admin)).json()["items"]
        assert sorted(r["state"] for r in recoveries) == ["settled", "settled"]
        check = (await gw.get("/v1/ledger/check", headers=admin)).json()
        assert check["ok"] and check["total_fen"] == 0
        fund = (await gw.get("/v1/funds/460200", headers=admin)).json()
        assert (fund["balance_fen"], fund["paid_out_fen"], fund["recovered_fen"]) == (5_000_000, 50_000, 50_000)
