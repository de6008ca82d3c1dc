"""Tourists hear of their complaint's progress, over real HTTP: the four services on loopback ports with their
background workers, the WeChat and Alipay fakes as real servers. A WeChat tourist gets subscribe messages
as officials and the merchant work the case; one with no subscription left is not told, and the timeline
says so while the case goes on; an Alipay tourist gets Alipay's message; an outage is retried until
WeChat is back; an event delivered twice is told once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.gateway.logins.alipay import AlipayMiniProgramLogin
from services.gateway.logins.wechat import WeChatMiniProgramLogin
from services.intake.models import outbox as intake_outbox
from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token, service_identity
from shared.db import create_engine
from tests.conftest import ALIPAY_APPID, WECHAT_APPID, WECHAT_SECRET, Providers
from tests.e2e.conftest import HOTEL, System
from tests.factories import complaint_body, phone_of, uscc
from tests.support import INTERNAL_SECRET, eventually

pytestmark = pytest.mark.e2e
NOTICE_KINDS = ("notified", "notification_failed")


@pytest.fixture
def fakes(providers: Providers) -> Iterator[Providers]:
    yield providers
    for fake in (providers.wechat, providers.alipay):
        fake.state.faults.set("none", 0)  # type: ignore[attr-defined]
    providers.wechat.state.exhausted_subscriptions.clear()  # type: ignore[attr-defined]


class Tourists:
    """The gateway as the mini-programs and the console use it, and what the fakes received."""

    def __init__(self, gw: httpx.AsyncClient, providers: Providers) -> None:
        self.gw, self.providers = gw, providers

    async def login(self, name: str, provider: str = "wechat") -> dict[str, str]:
        body = {"auth_code": f"demo-{name}"} if provider == "alipay" else {"code": f"demo-{name}"}
        r = await self.gw.post(f"/v1/auth/{provider}/login", json=body)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def staff(self, username: str) -> dict[str, str]:
        r = await self.gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def complain(self, who: dict[str, str], name: str) -> dict[str, Any]:
        story = f"{name}：海景房变成了停车场景观，前台拒绝退差价。"
        r = await self.gw.post(
            "/v1/complaints",
            headers=who,
            json=complaint_body(merchant_id=HOTEL, contact_phone=phone_of(name), description=story),
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def notices(self, who: dict[str, str], cid: str) -> list[dict[str, Any]]:
        r = await self.gw.get(f"/v1/complaints/{cid}/timeline", headers=who)
        assert r.status_code == 200, r.text
        return [e for e in r.json() if e["kind"] in NOTICE_KINDS]

    def wechat_messages(self, openid: str, cid: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.providers.wechat.state.sent_messages  # type: ignore[attr-defined]
            if m["touser"] == openid and m["page"].endswith(f"id={cid}")
        ]  # the message names the case number

    async def openid(self, name: str) -> str:
        login = WeChatMiniProgramLogin(WECHAT_APPID, WECHAT_SECRET, self.providers.wechat_url)
        return (await login.identify(f"demo-{name}")).external_id

    async def alipay_user(self, name: str) -> str:
        login = AlipayMiniProgramLogin(
            ALIPAY_APPID,
            self.providers.alipay_url,
            self.providers.app_private_key.read_text(),
            self.providers.platform_public_key.read_text(),
        )
        return (await login.identify(f"demo-{name}")).external_id


_LIVE: set[str] = set()


async def _hotel_is_live(t: Tourists) -> None:
    """The demo hotel settled in and known to intake (once per module: each module has its own system)."""
    if HOTEL in _LIVE:
        return
    admin = await t.staff("admin")
    r = await t.gw.post(
        "/v1/merchants",
        headers=admin,
        json={
            "id": HOTEL,
            "name": "三亚湾海景酒店",
            "uscc": uscc(HOTEL),
            "region_code": "460200",
            "industry": "lodging",
        },
    )
    assert r.status_code == 201, r.text
    r = await t.gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"})
    assert r.status_code == 200, r.text
    probe = await t.login("notify-probe")

    async def merchant_known() -> bool:  # subject.registered travels credit -> intake through the outbox
        r = await t.gw.post(
            "/v1/complaints",
            headers={**probe, "Idempotency-Key": "notify-probe"},
            json=complaint_body(merchant_id=HOTEL, description="探测商户是否已同步到受理服务。"),
        )
        return r.status_code == 201 and r.json()["state"] == "assigned"

    await eventually(merchant_known)
    _LIVE.add(HOTEL)


async def test_a_wechat_tourist_is_told_of_each_step_by_subscribe_message(system: System, fakes: Providers) -> None:
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
        t = Tourists(gw, fakes)
        await _hotel_is_live(t)
        alice = await t.login("notify-e2e-alice")
        openid = await t.openid("notify-e2e-alice")
        filed = await t.complain(alice, "notify-e2e-alice")
        cid = filed["id"]

        async def told(phrase: str) -> list[dict[str, Any]] | None:
            sent = t.wechat_messages(openid, cid)
            return sent if sent and sent[-1]["data"]["phrase2"]["value"] == phrase else None

        sent = await eventually(lambda: told("处理中"))  # accepted and assigned at once
        message = sent[-1]
        assert message["template_id"] == system.settings["gateway"].wechat_progress_template_id
        assert message["touser"] == openid and cid in message["page"]
        assert message["data"]["character_string1"]["value"] == filed["case_number"]  # what she says on the phone
        assert message["data"]["time3"]["value"].endswith("10:00")  # the test clock's 02:00 UTC, in Shanghai

        hotel = await t.staff("hotel")
        r = await gw.post(
            f"/v1/complaints/{cid}/responses",
            headers=hotel,
            json={"message": "已为您退还房差300元，欢迎再次入住。", "offered_refund_fen": 30000},
        )
        assert r.status_code == 200, r.text
        answered = (await eventually(lambda: told("已答复")))[-1]
        assert answered["data"]["thing4"]["value"] == "已为您退还房差300元，欢迎再次入住。"
        sanya = await t.staff("sanya")
        r = await gw.post(
            f"/v1/complaints/{cid}/resolutions",
            headers=sanya,
            json={"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 30000},
        )
        assert r.status_code == 200, r.text
        await eventually(lambda: told("已办结"))

        async def recorded() -> list[dict[str, Any]] | None:
            notices = await t.notices(alice, cid)
            return notices if any(n["data"]["state_told"] == "resolved" for n in notices) else None

        notices = await eventually(recorded)
        assert {n["kind"] for n in notices} == {"notified"} and {n["data"]["provider"] for n in notices} == {"wechat"}
        assert len(notices) == len(t.wechat_messages(openid, cid))  # each message on the timeline, once


async def test_no_subscription_left_is_on_the_timeline_and_the_case_goes_on(system: System, fakes: Providers) -> None:
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
        t = Tourists(gw, fakes)
        await _hotel_is_live(t)
        bob = await t.login("notify-e2e-bob")
        openid = await t.openid("notify-e2e-bob")
        fakes.wechat.state.exhausted_subscriptions.add(openid)  # type: ignore[attr-defined]
        complaint = await t.complain(bob, "notify-e2e-bob")
        cid = complaint["id"]
        assert complaint["state"] == "assigned"  # never held up by the message

        async def refused() -> list[dict[str, Any]] | None:
            notices = await t.notices(bob, cid)
            return notices if any(n["data"]["state_told"] == "assigned" for n in notices) else None

        notices = await eventually(refused)
        assert {(n["kind"], n["data"]["state"]) for n in notices} == {("notification_failed", "refused")}
        assert all(n["data"]["error"].startswith("43101") for n in notices)
        assert "拒收" in notices[-1]["note"]
        assert t.wechat_messages(openid, cid) == []
        hotel = await t.staff("hotel")
        r = await gw.post(
            f"/v1/complaints/{cid}/responses",
            headers=hotel,
            json={"message": "已与游客电话沟通，退还差价。", "offered_refund_fen": 10000},
        )
        assert r.status_code == 200 and r.json()["state"] == "responded"


async def test_an_alipay_tourist_is_told_by_alipay(system: System, fakes: Providers) -> None:
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
        t = Tourists(gw, fakes)
        await _hotel_is_live(t)
        carol = await t.login("notify-e2e-carol", provider="alipay")
        user_id = await t.alipay_user("notify-e2e-carol")
        cid = (await t.complain(carol, "notify-e2e-carol"))["id"]

        async def told() -> list[dict[str, Any]] | None:
            sent = [
                m
                for m in fakes.alipay.state.sent_messages  # type: ignore[attr-defined]
                if m["to_user_id"] == user_id and m["page"].endswith(f"id={cid}")
            ]
            return sent if sent and sent[-1]["data"]["keyword2"]["value"] == "处理中" else None

        message = (await eventually(told))[-1]
        assert message["user_template_id"] == system.settings["gateway"].alipay_progress_template_id
        assert cid in message["page"]
        notices = await eventually(lambda: t.notices(carol, cid))
        assert notices[-1]["kind"] == "notified" and notices[-1]["data"]["provider"] == "alipay"


async def test_an_outage_is_retried_until_wechat_is_back(system: System, fakes: Providers) -> None:
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
        t = Tourists(gw, fakes)
        await _hotel_is_live(t)
        dave = await t.login("notify-e2e-dave")
        openid = await t.openid("notify-e2e-dave")
        cid = (await t.complain(dave, "notify-e2e-dave"))["id"]

        async def told_of(state: str) -> list[dict[str, Any]] | None:
            notices = await t.notices(dave, cid)
            return notices if any(n["data"]["state_told"] == state for n in notices) else None

        await eventually(lambda: told_of("assigned"))  # the first burst is told, to its newest state

        faults = fakes.wechat.state.faults  # type: ignore[attr-defined]
        faults.set("error500", 1000)
        hotel = await t.staff("hotel")
        r = await gw.post(
            f"/v1/complaints/{cid}/responses",
            headers=hotel,
            json={"message": "已安排换房并退还差价。", "offered_refund_fen": 20000},
        )
        assert r.status_code == 200, r.text

        async def attempted() -> bool:
            return faults.remaining < 1000

        await eventually(attempted)
        await asyncio.sleep(0.3)  # several worker passes: it waits for its backoff, no tight loop
        assert faults.remaining == 999
        assert [m["data"]["phrase2"]["value"] for m in t.wechat_messages(openid, cid)][-1] != "已答复"
        faults.set("none", 0)
        system.clock.advance(timedelta(seconds=6))

        notice = [n for n in await eventually(lambda: told_of("responded")) if n["data"]["state_told"] == "responded"]
        assert [(n["kind"], n["data"]["attempts"]) for n in notice] == [("notified", 2)]
        assert t.wechat_messages(openid, cid)[-1]["data"]["phrase2"]["value"] == "已答复"


async def _envelopes_to_gateway(system: System, cid: str) -> list[dict[str, Any]]:
    """What intake's outbox delivered to the gateway about this complaint (its own database, read directly)."""
    engine = create_engine(system.settings["intake"])
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(intake_outbox.c.envelope)
                    .where(intake_outbox.c.subscriber == "gateway", intake_outbox.c.delivered_at.is_not(None))
                    .order_by(intake_outbox.c.id)
                )
            ).all()
    finally:
        await engine.dispose()
    return [envelope for (envelope,) in rows if envelope["payload"]["complaint_id"] == cid]


async def test_an_event_delivered_twice_is_told_once(system: System, fakes: Providers) -> None:
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
        t = Tourists(gw, fakes)
        await _hotel_is_live(t)
        erin = await t.login("notify-e2e-erin")
        openid = await t.openid("notify-e2e-erin")
        cid = (await t.complain(erin, "notify-e2e-erin"))["id"]
        sanya = await t.staff("sanya")
        r = await gw.post(f"/v1/complaints/{cid}/escalations", headers=sanya, json={"reason": "游客再次来电，升级处理"})
        assert r.status_code == 200, r.text

        async def told() -> list[dict[str, Any]] | None:
            notices = await t.notices(erin, cid)
            return notices if any(n["data"]["state_told"] == "escalated" for n in notices) else None

        await eventually(told)
        sent = t.wechat_messages(openid, cid)
        assert sent[-1]["data"]["phrase2"]["value"] == "已升级"

        # Intake's dispatcher delivers every one of them again (its acknowledgements were lost).
        envelopes = await _envelopes_to_gateway(system, cid)
        assert [e["payload"]["state_to"] for e in envelopes][-1] == "escalated"
        token = {INTERNAL_TOKEN_HEADER: issue_internal_token(service_identity("intake"), INTERNAL_SECRET)}
        for envelope in envelopes:
            again = await gw.post("/internal/events", json=envelope, headers=token)
            assert again.json() == {"status": "duplicate"}
        await asyncio.sleep(0.3)  # several worker passes: nothing more to send
        assert t.wechat_messages(openid, cid) == sent
        assert [n["data"]["state_told"] for n in await t.notices(erin, cid)].count("escalated") == 1
