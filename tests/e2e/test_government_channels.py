"""Government channels over loopback: the 12345 hotline, 12301 and 12315 ODR push work orders in
their own formats, signed with their center's key, and hear back in those formats at their own
webhook receiver (a real local server): disposal, closing and the callback visit for 12345, the ODR
case going straight to the enrolled merchant. Bad work orders change nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.e2e.conftest import HOTEL, Receiver, System
from tests.factories import complaint_body, uscc
from tests.support import eventually
from tools.partner_sign import signed_headers, verify

BEIJING = ZoneInfo("Asia/Shanghai")


async def login(gw: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Center:
    """A channel's center: its partner key, and what its webhook receiver heard."""

    def __init__(self, gw: httpx.AsyncClient, url: str, created: dict[str, Any], hooks: Receiver) -> None:
        self.gw, self.url, self.hooks = gw, url, hooks
        self.partner_id = created["partner"]["id"]
        self.key_id, self.secret = created["key"]["key_id"], created["key"]["secret"]

    async def push(self, path: str, order: Any, *, raw: bytes | None = None) -> httpx.Response:
        body = raw if raw is not None else json.dumps(order, ensure_ascii=False).encode()
        headers = signed_headers(self.key_id, self.secret, "POST", f"{self.url}{path}", body)
        return await self.gw.post(path, content=body, headers={**headers, "Content-Type": "application/json"})

    def heard(self) -> list[dict[str, Any]]:
        mine = [h for h in self.hooks.received if h["headers"].get("x-partner-key") == self.key_id]
        for hook in mine:
            assert verify(self.secret, "POST", hook["url"], hook["headers"], hook["body"])
        return [json.loads(h["body"]) for h in mine]


async def center(
    gw: httpx.AsyncClient,
    system: System,
    admin: dict[str, str],
    hook_url: str,
    hooks: Receiver,
    name: str,
    channel: str,
) -> Center:
    r = await gw.post("/v1/partners", headers=admin, json={"name": name, "webhook_url": hook_url, "channel": channel})
    assert r.status_code == 201, r.text
    assert r.json()["partner"]["channel"] == channel
    return Center(gw, system.url, r.json(), hooks)


def beijing(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def test_a_12345_work_order_is_worked_and_the_hotline_hears_disposal_closing_and_callback_visit(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    hooks, hook_url = receiver

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            admin, sanya = await login(gw, "admin"), await login(gw, "sanya")
            hotline = await center(gw, system, admin, hook_url, hooks, "海南省12345热线", "hotline_12345")
            now = system.clock.now()
            order = {
                "order_no": "HN12345-20261120-000123",
                "received_time": beijing(now - timedelta(minutes=9)),
                "dispatch_time": beijing(now - timedelta(minutes=2)),
                "area_code": "460200",
                "caller_name": "张先生",
                "caller_phone": "13811112222",
                "respondent": {"name": "三亚湾海鲜排档", "address": "三亚市天涯区三亚湾路88号"},
                "category": "餐饮",
                "incident_time": beijing(now - timedelta(hours=2)),
                "content": "点了一斤皮皮虾，结账时按三斤收费，老板拒绝退还多收的钱。",
                "appeal": "退还多收费用",
                "amount": "356.00",
            }
            r = await hotline.push("/callbacks/hotline_12345", order)
            assert r.status_code == 201, r.text
            case = r.json()
            assert (case["channel"], case["external_id"], case["amount_involved_fen"]) == (
                "hotline_12345",
                "HN12345-20261120-000123",
                35600,
            )
            # Received when the hotline took the call; the deadlines count from its arrival here.
            assert datetime.fromisoformat(case["submitted_at"]) == (now - timedelta(minutes=9)).replace(microsecond=0)
            assert datetime.fromisoformat(case["dispatched_at"]) == (now - timedelta(minutes=2)).replace(microsecond=0)
            assert datetime.fromisoformat(case["deadlines"]["accept_by"]) > now
            assert (await hotline.push("/callbacks/hotline_12345", order)).json()["id"] == case["id"]  # pushed again

            # Both ids are kept and searchable.
            found = (
                await gw.get("/v1/complaints", headers=sanya, params={"external_id": "HN12345-20261120-000123"})
            ).json()["items"]
            assert [c["id"] for c in found] == [case["id"]]

            cid = case["id"]
            r = await gw.post(
                f"/v1/complaints/{cid}/responses",
                headers=sanya,
                json={"message": "已约谈商家，同意退还多收的712元中的356元", "offered_refund_fen": 35600},
            )
            assert r.status_code == 200, r.text
            r = await gw.post(
                f"/v1/complaints/{cid}/resolutions",
                headers=sanya,
                json={
                    "outcome": "refunded",
                    "at_fault": "merchant",
                    "amount_refunded_fen": 35600,
                    "note": "商家已退款",
                },
            )
            assert r.status_code == 200, r.text
            r = await gw.post(
                f"/v1/complaints/{cid}/callback-visits",
                headers=sanya,
                json={"reached": True, "satisfied": True, "note": "游客对处理结果满意"},
            )
            assert r.status_code == 200, r.text

            async def all_heard() -> bool:
                return [m["type"] for m in hotline.heard()] == ["sign_for", "disposal", "closing", "callback_visit"]

            await eventually(all_heard)
            sign_for, disposal, closing, visit = hotline.heard()
            assert all(
                m["order_no"] == "HN12345-20261120-000123" and m["platform_order_no"] == cid for m in hotline.heard()
            )
            assert (disposal["content"], disposal["refund_offered"]) == (
                "已约谈商家，同意退还多收的712元中的356元",
                "356.00",
            )
            assert (closing["result"], closing["refund_amount"], closing["at_fault"]) == (
                "refunded",
                "356.00",
                "merchant",
            )
            assert (visit["reached"], visit["satisfied"], visit["content"]) == (True, True, "游客对处理结果满意")
            assert datetime.strptime(closing["time"], "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=BEIJING
            ) == system.clock.now().replace(microsecond=0)  # Beijing time, as the hotline writes it
            resolved = (await gw.get(f"/v1/complaints/{cid}", headers=sanya)).json()
            assert resolved["submitted_at"] == case["submitted_at"]

    asyncio.run(scenario())


def test_bad_work_orders_get_clear_problems_and_change_nothing(system: System, receiver: tuple[Receiver, str]) -> None:
    hooks, hook_url = receiver

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            admin, sanya = await login(gw, "admin"), await login(gw, "sanya")
            hotline = await center(gw, system, admin, hook_url, hooks, "12345（校验）", "hotline_12345")
            now = system.clock.now()
            good = {
                "order_no": "HN-BAD-1",
                "received_time": beijing(now - timedelta(minutes=5)),
                "area_code": "460200",
                "caller_phone": "13811113333",
                "respondent": {"name": "某酒店"},
                "category": "住宿",
                "content": "酒店前台拒绝按订单价格结算，多收了两百元。",
            }
            before = (await gw.get("/v1/complaints", headers=sanya, params={"limit": 200})).json()["items"]

            unknown = await hotline.push("/callbacks/hotline_99999", good)
            assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_channel"
            missing = await hotline.push("/callbacks/hotline_12345", {**good, "order_no": None, "amount": "-5"})
            assert missing.status_code == 422 and missing.json()["code"] == "work_order_invalid"
            assert {e["field"] for e in missing.json()["errors"]} == {"order_no", "amount"}
            future = await hotline.push(
                "/callbacks/hotline_12345", {**good, "received_time": beijing(now + timedelta(hours=1))}
            )
            assert future.status_code == 422 and future.json()["code"] == "timestamp_in_future"
            assert future.json()["errors"][0]["field"] == "received_time"  # the hotline's own name
            nowhere = await hotline.push("/callbacks/hotline_12345", {**good, "area_code": "999999"})
            assert nowhere.status_code == 422 and nowhere.json()["code"] == "unknown_region"
            phone = await hotline.push("/callbacks/hotline_12345", {**good, "caller_phone": "12345"})
            assert phone.status_code == 422 and phone.json()["errors"][0]["field"] == "caller_phone"
            garbage = await hotline.push("/callbacks/hotline_12345", None, raw=b"<xml>not json</xml>")
            assert garbage.status_code == 422 and garbage.json()["code"] == "work_order_invalid"
            huge = await hotline.push("/callbacks/hotline_12345", None, raw=b"{" + b" " * (12 * 1024 * 1024) + b"}")
            assert huge.status_code == 413

            # Another partner's key is not the hotline's; a channel this gateway does not serve cannot be given.
            ota = (await gw.post("/v1/partners", headers=admin, json={"name": "某OTA"})).json()
            as_ota = Center(gw, system.url, ota, hooks)
            mismatch = await as_ota.push("/callbacks/hotline_12345", good)
            assert mismatch.status_code == 403 and mismatch.json()["code"] == "channel_mismatch"
            walk_in = await gw.post("/v1/partners", headers=admin, json={"name": "x", "channel": "walk_in"})
            assert walk_in.status_code == 422 and walk_in.json()["code"] == "channel_not_served"
            for amount in ("1e999999", "-0.5", "12.345"):
                odd = await hotline.push("/callbacks/hotline_12345", {**good, "amount": amount})
                assert odd.status_code == 422 and odd.json()["errors"][0]["field"] == "amount", amount
            ancient = await hotline.push("/callbacks/hotline_12345", {**good, "received_time": "0001-01-01 00:00:00"})
            assert ancient.status_code == 422 and ancient.json()["errors"][0]["field"] == "received_time"
            deep = await hotline.push("/callbacks/hotline_12345", None, raw=b"[" * 100_000 + b"]" * 100_000)
            assert deep.status_code == 422 and deep.json()["code"] == "work_order_invalid"
            # The hotline's own center submits as the hotline through the partner API too, never as another.
            other = await hotline.push(
                "/partner/v1/complaints", complaint_body(channel="platform_12301", external_id="HN-X")
            )
            assert other.status_code == 403 and other.json()["code"] == "channel_not_allowed"

            after = (await gw.get("/v1/complaints", headers=sanya, params={"limit": 200})).json()["items"]
            assert len(after) == len(before)  # nothing was stored
            assert (await hotline.push("/callbacks/hotline_12345", good)).status_code == 201

    asyncio.run(scenario())


def test_an_odr_case_goes_straight_to_the_enrolled_merchant_and_12315_hears_the_negotiation(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    hooks, hook_url = receiver

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            admin, hotel = await login(gw, "admin"), await login(gw, "hotel")
            r = await gw.post(
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
            assert (
                await gw.post(f"/v1/merchants/{HOTEL}/reviews", headers=admin, json={"decision": "approve"})
            ).status_code == 200
            r = await gw.post("/v1/auth/wechat/login", json={"code": "demo-odr-probe"})
            probe = {"Authorization": f"Bearer {r.json()['access_token']}", "Idempotency-Key": "odr-probe"}

            async def merchant_known() -> bool:  # subject.registered travels credit -> intake through the outbox
                r = await gw.post(
                    "/v1/complaints",
                    headers=probe,
                    json=complaint_body(merchant_id=HOTEL, description="探测商户是否已同步到受理服务。"),
                )
                return r.status_code == 201 and r.json()["state"] == "assigned"

            await eventually(merchant_known)
            odr = await center(gw, system, admin, hook_url, hooks, "12315 ODR", "platform_12315")
            now = system.clock.now()
            r = await odr.push(
                "/callbacks/platform_12315",
                {
                    "odr_case_id": "ODR46020020261120000007",
                    "created_at": beijing(now - timedelta(minutes=30)),
                    "region_code": "460200",
                    "enterprise": {"uscc": uscc(HOTEL), "name": "三亚湾海景酒店"},
                    "consumer": {"name": "王先生", "phone": "13612345678"},
                    "category": "住宿",
                    "occurred_at": beijing(now - timedelta(days=1)),
                    "content": "到店后被告知海景房已满，要求加价升级。",
                    "claim": "退款",
                    "claim_amount": "680.00",
                },
            )
            assert r.status_code == 201, r.text
            case = r.json()
            assert case["merchant_id"] == HOTEL  # named by its credit code only
            assert case["state"] == "assigned" and case["assignee"]["kind"] == "merchant"
            assert case["assignee"]["id"] == HOTEL and case["channel"] == "platform_12315"
            timeline = (await gw.get(f"/v1/complaints/{case['id']}/timeline", headers=hotel)).json()
            assert any(e["note"] == "12315在线消费纠纷解决：直接交由入驻企业先行和解" for e in timeline)

            r = await gw.post(
                f"/v1/complaints/{case['id']}/responses",
                headers=hotel,
                json={"message": "同意全额退还差价680元", "offered_refund_fen": 68000},
            )
            assert r.status_code == 200, r.text

            async def replied() -> bool:
                return "enterprise_replied" in [m["status"] for m in odr.heard()]

            await eventually(replied)
            statuses = [m["status"] for m in odr.heard()]
            assert statuses == ["negotiating", "enterprise_replied"]
            reply = odr.heard()[-1]
            assert (reply["odr_case_id"], reply["enterprise_offer"]) == ("ODR46020020261120000007", "680.00")

    asyncio.run(scenario())


def test_12301_and_the_mini_program_report_one_case_once_confirmed(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    hooks, hook_url = receiver

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            admin, sanya = await login(gw, "admin"), await login(gw, "sanya")
            national = await center(gw, system, admin, hook_url, hooks, "全国12301平台", "platform_12301")
            r = await gw.post("/v1/auth/wechat/login", json={"code": "demo-12301-tourist"})
            tourist = {"Authorization": f"Bearer {r.json()['access_token']}"}
            story = "行程中导游强制购物，不购物不让上车，要求退还团费差价。"
            now = system.clock.now()
            first = await gw.post(
                "/v1/complaints",
                headers=tourist,
                json=complaint_body(
                    merchant_id=None,
                    merchant_name="三亚某旅行社",
                    industry="sightseeing",
                    contact_phone="13912345678",
                    description=story,
                    occurred_at=(now - timedelta(days=1)).isoformat(),
                ),
            )
            assert first.status_code == 201, first.text
            first_id = first.json()["id"]
            r = await national.push(
                "/callbacks/platform_12301",
                {
                    "complaintNo": "12301202611200042",
                    "submitTime": (now - timedelta(minutes=3)).astimezone(BEIJING).isoformat(),
                    "regionCode": "460200",
                    "tourist": {"name": "李女士", "mobile": "13912345678"},
                    "defendant": {"name": "三亚某旅行社"},
                    "businessType": "旅行社",
                    "happenTime": (now - timedelta(days=1)).isoformat(),
                    "content": "游客投诉：" + story,
                    "demand": "退款",
                    "amount": 1280,
                },
            )
            assert r.status_code == 201, r.text
            pushed = r.json()
            # The same phone is not the same account: 12301's case is worked as its own until an official
            # of the region confirms the possible link the system flagged.
            assert (pushed["state"], pushed["duplicate_of"]) == ("assigned", None)
            [flag] = (await gw.get(f"/v1/complaints/{pushed['id']}", headers=sanya)).json()["possible_links"]
            assert (flag["complaint_id"], flag["state"]) == (first_id, "suggested")
            r = await gw.post(
                f"/v1/complaints/{pushed['id']}/link-decisions",
                headers=sanya,
                json={"link_id": flag["id"], "confirm": True, "note": "回访确认为同一游客"},
            )
            assert r.status_code == 200, r.text
            linked = r.json()
            assert (linked["state"], linked["duplicate_of"]) == ("not_accepted", first_id)  # not worked twice

            r = await gw.post(
                f"/v1/complaints/{first_id}/responses", headers=sanya, json={"message": "已责令旅行社退还差价"}
            )
            assert r.status_code == 200, r.text

            async def told() -> bool:
                return "DISPOSED" in [m["status"] for m in national.heard()]

            await eventually(told)
            disposed = next(m for m in national.heard() if m["status"] == "DISPOSED")
            assert (disposed["complaintNo"], disposed["platformNo"]) == ("12301202611200042", first_id)
            assert disposed["remark"] == "已责令旅行社退还差价"
            # 12301 heard its complaint taken in, then taken in as ours; never returned to it.
            assert [(m["status"], m["platformNo"]) for m in national.heard()][:2] == [
                ("ACCEPTED", pushed["id"]),
                ("ACCEPTED", first_id),
            ]
            assert "RETURNED" not in [m["status"] for m in national.heard()]

    asyncio.run(scenario())


def test_the_same_case_from_the_mini_program_and_12345_is_one_case_once_an_official_confirms_it(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    hooks, hook_url = receiver

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            admin, sanya = await login(gw, "admin"), await login(gw, "sanya")
            hotline = await center(gw, system, admin, hook_url, hooks, "12345（联动）", "hotline_12345")
            r = await gw.post("/v1/auth/wechat/login", json={"code": "demo-12345-tourist"})
            tourist = {"Authorization": f"Bearer {r.json()['access_token']}"}
            story = "蜈支洲岛码头摊位的椰子标价十元，结账时收了三十元，老板拒绝退还差价。"
            now = system.clock.now()
            first = await gw.post(
                "/v1/complaints",
                headers=tourist,
                json=complaint_body(
                    merchant_id=None,
                    merchant_name="蜈支洲岛码头椰子摊",
                    industry="shopping",
                    contact_phone="13977776666",
                    description=story,
                    occurred_at=(now - timedelta(hours=3)).isoformat(),
                ),
            )
            assert first.status_code == 201, first.text
            first_id = first.json()["id"]
            r = await hotline.push(
                "/callbacks/hotline_12345",
                {
                    "order_no": "HN12345-LINK-1",
                    "received_time": beijing(now - timedelta(minutes=1)),
                    "area_code": "460200",
                    "caller_phone": "13977776666",
                    "respondent": {"name": "蜈支洲岛码头椰子摊"},
                    "category": "购物",
                    "content": "游客来电：" + story,
                },
            )
            assert r.status_code == 201, r.text
            pushed = r.json()
            assert (pushed["state"], pushed["duplicate_of"], pushed["channel"]) == (
                "assigned",
                None,
                "hotline_12345",
            )  # another account: worked as its own until confirmed
            seen = (await gw.get(f"/v1/complaints/{first_id}", headers=sanya)).json()
            assert seen["links"] == []
            [flag] = seen["possible_links"]  # officials see the possible link, from either complaint
            assert (flag["complaint_id"], flag["channel"], flag["worked_as"]) == (
                pushed["id"],
                "hotline_12345",
                first_id,
            )
            r = await gw.post(
                f"/v1/complaints/{first_id}/link-decisions",
                headers=sanya,
                json={"link_id": flag["id"], "confirm": True},
            )
            assert r.status_code == 200, r.text
            assert [(x["complaint_id"], x["external_id"]) for x in r.json()["links"]] == [
                (pushed["id"], "HN12345-LINK-1")
            ]  # confirmed: officials see the link
            linked = (await gw.get(f"/v1/complaints/{pushed['id']}", headers=sanya)).json()
            assert (linked["state"], linked["duplicate_of"]) == ("not_accepted", first_id)  # not worked twice
            r = await gw.post(
                f"/v1/complaints/{first_id}/responses", headers=sanya, json={"message": "已责令摊主退还差价二十元"}
            )
            assert r.status_code == 200, r.text

            async def told() -> bool:
                return "disposal" in [m["type"] for m in hotline.heard()]

            await eventually(told)
            assert [(m["type"], m["order_no"], m["platform_order_no"]) for m in hotline.heard()] == [
                ("sign_for", "HN12345-LINK-1", pushed["id"]),
                ("sign_for", "HN12345-LINK-1", first_id),
                ("disposal", "HN12345-LINK-1", first_id),
            ]

    asyncio.run(scenario())
