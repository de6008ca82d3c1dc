"""Payouts of 2,000 yuan and more, and compensation after closing, end to end through the gateway: the four
services on loopback ports with their workers, the WeChat, WeChat Pay and Alipay fakes as real servers.

Hainan's first month averaged ¥2,493.63 a claim, above the 2,000 yuan from which WeChat Pay wants the
payee's real name. Here such a claim is paid to a WeChat balance with the name encrypted as WeChat Pay
requires (the fake decrypts it with the platform private key and compares it with the account holder's
name) and to Alipay (payee_info.name, checked by the fake); one without a name waits, the tourist is asked
in the mini-program, and it is paid once she gives it; the name is masked for everyone but the tourist
and the paying officials, and gone once the claim is finished. An official may still ask for
compensation within the region's window after closing (10 days for Sanya in this run's catalogue), not
after it, and never on a withdrawn or transferred complaint.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.compensation.models import PayeeName
from services.compensation.payee_names import payee_name_cipher, unseal
from services.intake.config import DATA_DIR
from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.testing.fakes.alipay import user_id_for
from shared.testing.fakes.server import ServerThread, free_port
from shared.testing.fakes.wechat import openid_for
from tests.conftest import ALIPAY_APPID, WECHAT_APPID, Providers, compensation_overrides, gateway_overrides
from tests.e2e.conftest import _add_staff, _wipe_all
from tests.factories import complaint_body, merchant_id, phone_of, photo_png, uscc
from tests.support import FACTORIES, SERVICES, START, Databases, eventually, service_settings

pytestmark = pytest.mark.e2e

HOTEL = merchant_id("E2EHTL")
SANYA, HAIKOU = "460200", "460100"
AVERAGE_CLAIM_FEN = 249_363  # ¥2,493.63, the average claim of Hainan's first month
SANYA_WINDOW_DAYS = 10  # this run's catalogue: Sanya (and its districts) 10 days after closing; the rest 30
PNG = photo_png()


class Run:
    def __init__(self, url: str, clock: ManualClock, settings: dict[str, Any]) -> None:
        self.url, self.clock, self.settings = url, clock, settings


@pytest.fixture(scope="module")
def run(databases: Databases, providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp: Path = tmp_path_factory.mktemp("e2e-payee")
    catalogue = json.loads((DATA_DIR / "regions.json").read_text(encoding="utf-8"))
    catalogue["regions"].setdefault(SANYA, {})["compensation_after_closing_days"] = SANYA_WINDOW_DAYS
    (tmp / "regions.json").write_text(json.dumps(catalogue, ensure_ascii=False), encoding="utf-8")
    clock = ManualClock(START)
    ports = {name: free_port() for name in SERVICES}
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    common = {**urls, "run_background_workers": True, "outbox_poll_seconds": 0.05}
    extra = {
        "gateway": {**gateway_overrides(providers), "notify_interval_seconds": 0.05, "notify_coalesce_seconds": 0},
        "intake": {"scheduler_interval_seconds": 0.05, "regions_file": tmp / "regions.json"},
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
        yield Run(urls["gateway_url"], clock, settings)
    asyncio.run(_wipe_all(settings))


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Platform:
    """The gateway as the mini-programs and the console use it."""

    def __init__(self, gw: httpx.AsyncClient, run: Run, providers: Providers) -> None:
        self.gw, self.run, self.providers = gw, run, providers
        self.staff: dict[str, dict[str, str]] = {}

    async def login_staff(self) -> None:
        for username in ("admin", "sanya", "haikou", "hotel"):
            body = {"username": username, "password": f"{username}-pass-e2e"}
            token = (await ok(await self.gw.post("/v1/auth/staff/login", json=body)))["access_token"]
            self.staff[username] = {"Authorization": f"Bearer {token}"}

    async def tourist(self, name: str, via: str = "wechat") -> dict[str, str]:
        body = {"code": f"demo-{name}"} if via == "wechat" else {"auth_code": f"demo-{name}"}
        token = (await ok(await self.gw.post(f"/v1/auth/{via}/login", json=body)))["access_token"]
        return {"Authorization": f"Bearer {token}"}

    async def complaint(self, who: dict[str, str], name: str, amount_fen: int = AVERAGE_CLAIM_FEN) -> str:
        body = complaint_body(
            merchant_id=HOTEL,
            amount_involved_fen=amount_fen,
            contact_phone=phone_of(name),
            description=f"{name}：预订的海景房变成了停车场景观，前台拒绝退差价，两天无人处理。",
        )

        async def filed() -> httpx.Response | None:  # intake hears of the hotel through its outbox
            response = await self.gw.post("/v1/complaints", headers=who, json=body)
            return response if response.status_code != 422 else None

        cid = (await ok(await eventually(filed), 201))["id"]
        files = {"file": ("p.png", PNG, "image/png")}
        await ok(await self.gw.post(f"/v1/complaints/{cid}/evidence", headers=who, files=files), 201)
        return cid

    async def closed_complaint(self, name: str) -> str:
        """A complaint the hotel answered, the tourist accepted and rated: closed now."""
        who = await self.tourist(name)
        cid = await self.complaint(who, name)
        hotel = self.staff["hotel"]
        await ok(await self.gw.post(f"/v1/complaints/{cid}/responses", headers=hotel, json={"message": "已退差价。"}))
        await ok(await self.gw.post(f"/v1/complaints/{cid}/acceptances", headers=who, json={}))
        await ok(await self.gw.post(f"/v1/complaints/{cid}/evaluations", headers=who, json={"score": 4}))
        assert (await ok(await self.gw.get(f"/v1/complaints/{cid}", headers=who)))["state"] == "closed"
        return cid

    async def ask(self, who: dict[str, str], cid: str, status: int = 202, **fields: Any) -> Any:
        body = {"amount_requested_fen": AVERAGE_CLAIM_FEN, "reason": "酒店超时未处理，先行赔付", **fields}
        return await ok(
            await self.gw.post(f"/v1/complaints/{cid}/compensation-requests", headers=who, json=body), status
        )

    async def claim_of(self, cid: str, who: dict[str, str] | None = None) -> dict[str, Any]:
        async def opened() -> dict[str, Any] | None:
            claims = (await ok(await self.gw.get("/v1/claims", headers=who or self.staff["sanya"])))["items"]
            return next((c for c in claims if c["complaint_id"] == cid), None)

        return await eventually(opened)

    async def claim(self, claim_id: str, who: dict[str, str]) -> dict[str, Any]:
        return await ok(await self.gw.get(f"/v1/claims/{claim_id}", headers=who))

    async def until_claim(self, claim_id: str, state: str) -> dict[str, Any]:
        async def there() -> dict[str, Any] | None:
            claim = await self.claim(claim_id, self.staff["sanya"])
            return claim if claim["state"] == state else None

        return await eventually(there)

    async def approve(self, claim_id: str) -> dict[str, Any]:
        body = {"liability_confirmed": True, "note": "商家超时未处理"}
        return await ok(await self.gw.post(f"/v1/claims/{claim_id}/approvals", headers=self.staff["sanya"], json=body))

    async def timeline(self, cid: str, who: dict[str, str]) -> list[dict[str, Any]]:
        return await ok(await self.gw.get(f"/v1/complaints/{cid}/timeline", headers=who))

    async def overdue(self, cid: str, who: dict[str, str]) -> None:
        """Let the settlement deadline pass: then the tourist may ask herself."""
        self.run.clock.advance(timedelta(hours=48, minutes=1))

        async def late() -> bool:
            seen = await ok(await self.gw.get(f"/v1/complaints/{cid}", headers=who))
            return "settle" in seen["deadlines"]["overdue"]

        await eventually(late)

    async def held_name(self, cid: str) -> PayeeName | None:
        engine = create_engine(self.run.settings["compensation"])
        try:
            async with create_sessionmaker(engine)() as session:
                return (
                    await session.execute(select(PayeeName).where(PayeeName.complaint_id == cid))
                ).scalar_one_or_none()
        finally:
            await engine.dispose()


@pytest.fixture(scope="module")
def platform_ready(run: Run) -> Run:
    """The hotel settled in and enrolled, Sanya's fund and the hotel's deposit topped up, once per module."""

    async def prepare() -> None:
        async with httpx.AsyncClient(base_url=run.url, timeout=10) as gw:
            token = await ok(
                await gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
            )
            admin = {"Authorization": f"Bearer {token['access_token']}"}
            merchant = {
                "id": HOTEL,
                "name": "三亚湾海景酒店",
                "uscc": uscc(HOTEL),
                "region_code": SANYA,
                "industry": "lodging",
                "in_compensation_program": True,
            }
            await ok(await gw.post("/v1/merchants", headers=admin, json=merchant), 201)
            await ok(await gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"}))
            top_up = {"amount_fen": 50_000_000, "reference": "2026 年先行赔付预算"}
            await ok(await gw.post(f"/v1/funds/{SANYA}/top-ups", headers=admin, json=top_up), 201)

            async def deposit_known() -> bool:  # once subject.registered reached compensation
                body = {"amount_fen": 5_000_000, "reference": "保证金"}
                return (
                    await gw.post(f"/v1/merchants/{HOTEL}/deposit/top-ups", headers=admin, json=body)
                ).status_code == 201

            await eventually(deposit_known)

    asyncio.run(prepare())
    return run


@pytest.fixture
async def platform(platform_ready: Run, providers: Providers) -> Any:
    async with httpx.AsyncClient(base_url=platform_ready.url, timeout=10) as gw:
        p = Platform(gw, platform_ready, providers)
        await p.login_staff()
        yield p


async def test_average_claim_is_paid_to_a_wechat_balance_with_the_name_encrypted_for_wechat_pay(
    platform: Platform, providers: Providers
) -> None:
    fake = providers.wechatpay.state  # type: ignore[attr-defined]
    fake.real_names[openid_for(WECHAT_APPID, "payee-wendy")] = "王小明"
    wendy = await platform.tourist("payee-wendy")
    cid = await platform.complaint(wendy, "payee-wendy")
    await platform.overdue(cid, wendy)
    asked = await platform.ask(wendy, cid, payee_name="王小明", payee_name_consent=True)
    assert asked["compensation_state"] == "requested"
    entry = next(e for e in await platform.timeline(cid, wendy) if e["kind"] == "compensation_requested")
    assert entry["data"]["payee_name_given"] is True
    assert "王小明" not in json.dumps(await platform.timeline(cid, platform.staff["sanya"]), ensure_ascii=False)

    claim = await platform.claim_of(cid)
    assert claim["state"] == "pending_approval" and claim["amount_fen"] == AVERAGE_CLAIM_FEN
    held = await platform.held_name(cid)  # encrypted at rest, and bound to its complaint
    assert held is not None and "王小明" not in held.name_encrypted
    cipher = payee_name_cipher(platform.run.settings["compensation"])
    assert unseal(cipher, cid, held.name_encrypted) == "王小明"

    # In full for the tourist and the officials who pay the claim; masked for the merchant and admins.
    assert (await platform.claim(claim["id"], wendy))["payee_name"] == "王小明"
    assert (await platform.claim(claim["id"], platform.staff["sanya"]))["payee_name"] == "王小明"
    assert (await platform.claim(claim["id"], platform.staff["hotel"]))["payee_name"] == "王**"
    assert (await platform.claim(claim["id"], platform.staff["admin"]))["payee_name"] == "王**"
    listed = (await ok(await platform.gw.get("/v1/claims", headers=platform.staff["hotel"])))["items"]
    assert {c["payee_name"] for c in listed if c["complaint_id"] == cid} == {"王**"}
    other_region = await platform.gw.get(f"/v1/claims/{claim['id']}", headers=platform.staff["haikou"])
    assert other_region.status_code == 404

    await platform.approve(claim["id"])
    paid = await platform.until_claim(claim["id"], "paid")
    out_no = paid["payout"]["out_no"]
    assert fake.bills[out_no]["state"] == "SUCCESS" and fake.bills[out_no]["transfer_amount"] == AVERAGE_CLAIM_FEN
    assert fake.user_names[out_no] == "王小明"  # what the fake decrypted with the platform private key

    # Finished: the name is gone, from every answer and from the database.
    assert paid["payee_name"] is None and paid["payee_name_given_at"] is None
    assert (await platform.claim(claim["id"], wendy))["payee_name"] is None
    assert await platform.held_name(cid) is None

    async def told_paid() -> bool:
        seen = await ok(await platform.gw.get(f"/v1/complaints/{cid}", headers=wendy))
        return seen["compensation_state"] == "paid" and seen["compensation_paid_fen"] == AVERAGE_CLAIM_FEN

    await eventually(told_paid)


async def test_alipay_checks_the_name_given_and_a_corrected_name_is_paid(
    platform: Platform, providers: Providers
) -> None:
    fake = providers.alipay.state  # type: ignore[attr-defined]
    fake.real_names[user_id_for(ALIPAY_APPID, "payee-alan")] = "李雷"
    alan = await platform.tourist("payee-alan", via="alipay")
    cid = await platform.complaint(alan, "payee-alan")
    # An official asks for him, with the name he gave on the phone (mistyped) and his consent.
    await platform.ask(platform.staff["sanya"], cid, payee_name="李蕾", payee_name_consent=True)
    claim = await platform.claim_of(cid)
    await platform.approve(claim["id"])
    failed = await platform.until_claim(claim["id"], "payout_failed")
    assert "PAYEE_USER_INFO_ERROR" in failed["payout"]["failure_reason"]
    assert fake.payee_names[failed["payout"]["out_no"]] == "李蕾"
    assert (await platform.claim(claim["id"], alan))["payee_name"] == "李蕾"  # kept: the payout may be retried

    fixed = await ok(
        await platform.gw.put(
            f"/v1/claims/{claim['id']}/payee-name", headers=alan, json={"name": "李雷", "consent": True}
        )
    )
    assert fixed["payee_name"] == "李雷" and fixed["state"] == "payout_failed"
    await ok(await platform.gw.post(f"/v1/claims/{claim['id']}/payout-retries", headers=platform.staff["sanya"]))
    paid = await platform.until_claim(claim["id"], "paid")
    out_no = paid["payout"]["out_no"]
    assert fake.orders[out_no]["status"] == "SUCCESS" and fake.orders[out_no]["trans_amount"] == "2493.63"
    assert fake.payee_names[out_no] == "李雷"
    assert paid["payee_name"] is None and await platform.held_name(cid) is None


async def test_a_claim_without_the_name_waits_and_the_tourist_is_asked_for_it(
    platform: Platform, providers: Providers
) -> None:
    wechatpay, wechat = providers.wechatpay.state, providers.wechat.state  # type: ignore[attr-defined]
    openid = openid_for(WECHAT_APPID, "payee-nina")
    wechatpay.real_names[openid] = "张娜"
    nina = await platform.tourist("payee-nina")
    cid = await platform.complaint(nina, "payee-nina")
    await platform.overdue(cid, nina)
    await platform.ask(nina, cid)  # no name
    claim = await platform.claim_of(cid, nina)
    assert claim["payee_name"] is None
    calls_before = wechatpay.transfer_calls
    await platform.approve(claim["id"])

    waiting = await platform.until_claim(claim["id"], "awaiting_payee_name")
    assert waiting["payout"]["state"] == "awaiting_payee_name"
    assert waiting["payout"]["out_no"] not in wechatpay.bills  # never sent to fail
    assert wechatpay.transfer_calls == calls_before
    assert (await platform.claim(claim["id"], nina))["state"] == "awaiting_payee_name"

    async def asked() -> list[dict[str, Any]]:
        return [
            m
            for m in wechat.sent_messages
            if m["touser"] == openid and m["data"]["thing4"]["value"].startswith("请补充收款人真实姓名")
        ]

    message = (await eventually(asked))[0]
    assert cid in message["page"]
    seen = await ok(await platform.gw.get(f"/v1/complaints/{cid}", headers=nina))
    assert seen["compensation_state"] == "awaiting_payee_name"
    kinds = [e["kind"] for e in await platform.timeline(cid, nina)]
    assert "payee_name_required" in kinds
    progress = await ok(await platform.gw.get(f"/v1/complaints/{cid}/progress", headers=nina))
    assert "请补充收款人真实姓名" in json.dumps(progress, ensure_ascii=False)

    # Consent is explicit: without it the name is refused and nothing is kept.
    refused = await platform.gw.put(f"/v1/claims/{claim['id']}/payee-name", headers=nina, json={"name": "张娜"})
    assert refused.status_code == 422
    assert await platform.held_name(cid) is None
    # The merchant may not give it.
    merchant = await platform.gw.put(
        f"/v1/claims/{claim['id']}/payee-name", headers=platform.staff["hotel"], json={"name": "张娜", "consent": True}
    )
    assert merchant.status_code == 403 and merchant.json()["code"] == "payee_name_not_allowed"

    given = await ok(
        await platform.gw.put(
            f"/v1/claims/{claim['id']}/payee-name", headers=nina, json={"name": "张娜", "consent": True}
        )
    )
    assert given["payee_name"] == "张娜" and given["state"] == "approved"
    paid = await platform.until_claim(claim["id"], "paid")
    assert wechatpay.user_names[paid["payout"]["out_no"]] == "张娜"
    assert await platform.held_name(cid) is None

    async def given_on_the_timeline() -> bool:
        kinds = [e["kind"] for e in await platform.timeline(cid, nina)]
        return "payee_name_given" in kinds and "advance_compensation_paid" in kinds

    await eventually(given_on_the_timeline)
    again = await platform.gw.put(
        f"/v1/claims/{claim['id']}/payee-name", headers=nina, json={"name": "张娜", "consent": True}
    )
    assert again.status_code == 409 and again.json()["code"] == "claim_finished"


async def test_a_request_with_a_name_but_no_consent_is_refused(platform: Platform) -> None:
    olga = await platform.tourist("payee-olga")
    cid = await platform.complaint(olga, "payee-olga")
    refused = await platform.ask(platform.staff["sanya"], cid, status=422, payee_name="欧阳娜娜")
    assert "consent" in json.dumps(refused, ensure_ascii=False)
    assert (await ok(await platform.gw.get(f"/v1/complaints/{cid}", headers=olga)))["compensation_state"] is None
    assert await platform.held_name(cid) is None


async def test_compensation_after_closing_within_the_regions_window_and_not_after(platform: Platform) -> None:
    sanya = platform.staff["sanya"]
    within = await platform.closed_complaint("payee-close-in")
    late = await platform.closed_complaint("payee-close-late")
    platform.run.clock.advance(timedelta(days=SANYA_WINDOW_DAYS - 1))
    reason = "结案后发现商家未按承诺退款，依申请先行赔付"
    await platform.ask(sanya, within, reason=reason)
    entry = next(e for e in await platform.timeline(within, sanya) if e["kind"] == "compensation_requested")
    assert entry["note"] == reason and entry["actor_id"] is not None
    assert entry["data"]["after_closing"] is True and entry["data"]["window_days"] == SANYA_WINDOW_DAYS
    await platform.claim_of(within)  # the claim opens

    platform.run.clock.advance(timedelta(days=2))  # 11 days after closing: past Sanya's 10
    refused = await platform.ask(sanya, late, status=409)
    assert refused["code"] == "compensation_window_closed" and refused["window_days"] == SANYA_WINDOW_DAYS
    kinds = [e["kind"] for e in await platform.timeline(late, sanya)]
    assert "compensation_requested" not in kinds


async def test_no_compensation_on_a_withdrawn_or_transferred_complaint(platform: Platform) -> None:
    wanda = await platform.tourist("payee-withdrawn")
    withdrawn = await platform.complaint(wanda, "payee-withdrawn")
    await ok(
        await platform.gw.post(f"/v1/complaints/{withdrawn}/withdrawals", headers=wanda, json={"reason": "已和解"})
    )
    refused = await platform.ask(platform.staff["sanya"], withdrawn, status=409)
    assert refused["code"] == "invalid_transition" and refused["state"] == "withdrawn"

    tom = await platform.tourist("payee-transferred")
    transferred = await platform.complaint(tom, "payee-transferred")
    body = {"region_code": HAIKOU, "reason": "消费地在海口"}
    await ok(
        await platform.gw.post(f"/v1/complaints/{transferred}/transfers", headers=platform.staff["sanya"], json=body)
    )
    refused = await platform.ask(platform.staff["haikou"], transferred, status=409)
    assert refused["code"] == "invalid_transition" and refused["state"] == "transferred"
    refused = await platform.ask(
        platform.staff["admin"], transferred, status=409, payee_name="汤姆", payee_name_consent=True
    )
    assert refused["code"] == "invalid_transition"
    assert await platform.held_name(transferred) is None  # refused before the name went anywhere
