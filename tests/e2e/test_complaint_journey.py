"""The whole journey over real HTTP: the four services and the fakes on loopback ports, driven through
the gateway only, with the background dispatcher and deadline scheduler running."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest

from tests.e2e.conftest import HOTEL, OTHER, System
from tests.factories import complaint_body, photo_png, uscc
from tests.support import eventually

pytestmark = pytest.mark.e2e

PNG = photo_png()


async def test_a_complaint_from_wechat_login_to_closing_evaluation(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:

        async def login_staff(username: str) -> dict[str, str]:
            r = await gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        async def login_wechat(name: str) -> dict[str, str]:
            r = await gw.post("/v1/auth/wechat/login", json={"code": f"demo-{name}"})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        admin = await login_staff("admin")
        for merchant_id, name in ((HOTEL, "三亚湾海景酒店"), (OTHER, "别家酒店")):
            r = await gw.post(
                "/v1/merchants",
                headers=admin,
                json={
                    "id": merchant_id,
                    "name": name,
                    "uscc": uscc(merchant_id),
                    "region_code": "460200",
                    "industry": "lodging",
                },
            )
            assert r.status_code == 201, r.text
            r = await gw.post(f"/v1/merchants/{merchant_id}/reviews", headers=admin, json={"decision": "approve"})
            assert r.status_code == 200, r.text

        alice = await login_wechat("alice")

        async def merchant_known() -> bool:
            probe = await gw.post(
                "/v1/complaints",
                headers={**alice, "Idempotency-Key": "probe"},
                json=complaint_body(merchant_id=HOTEL, description="探测商户是否已同步到受理服务。"),
            )
            return probe.status_code == 201

        # subject.registered travels credit -> intake through the outbox; wait for it, then start clean.
        await eventually(merchant_known)
        probe_id = (
            await gw.post(
                "/v1/complaints",
                headers={**alice, "Idempotency-Key": "probe"},
                json=complaint_body(merchant_id=HOTEL, description="探测商户是否已同步到受理服务。"),
            )
        ).json()["id"]
        await gw.post(f"/v1/complaints/{probe_id}/withdrawals", headers=alice, json={"reason": "探测"})

        started = time.monotonic()
        created = await gw.post("/v1/complaints", headers=alice, json=complaint_body(merchant_id=HOTEL))
        elapsed = time.monotonic() - started
        assert created.status_code == 201, created.text
        complaint = created.json()
        cid = complaint["id"]
        assert complaint["state"] == "assigned" and complaint["assignee"]["id"] == HOTEL
        assert elapsed < 1.0, f"accepted and assigned in {elapsed:.3f} s"

        photo = await gw.post(
            f"/v1/complaints/{cid}/evidence", headers=alice, files={"file": ("room.png", PNG, "image/png")}
        )
        assert photo.status_code == 201, photo.text
        fetched = await gw.get(f"/v1/complaints/{cid}/evidence/{photo.json()['id']}", headers=alice)
        assert fetched.content.startswith(b"\x89PNG") and fetched.headers["content-type"] == "image/png"
        assert fetched.headers["content-disposition"].startswith("attachment;")

        hotel = await login_staff("hotel")
        queue = (await gw.get("/v1/complaints", headers=hotel)).json()["items"]
        assert cid in [c["id"] for c in queue]
        assert next(c for c in queue if c["id"] == cid)["contact_phone"] == "138****1234"
        r = await gw.post(
            f"/v1/complaints/{cid}/responses",
            headers=hotel,
            json={"message": "已为您退还房差 300 元。", "offered_refund_fen": 30000},
        )
        assert r.status_code == 200 and r.json()["state"] == "responded"
        r = await gw.post(f"/v1/complaints/{cid}/acceptances", headers=alice, json={})
        assert r.json()["state"] == "resolved" and r.json()["amount_refunded_fen"] == 30000
        r = await gw.post(f"/v1/complaints/{cid}/evaluations", headers=alice, json={"score": 5, "comment": "满意"})
        assert r.json()["state"] == "closed"

        timeline = (await gw.get(f"/v1/complaints/{cid}/timeline", headers=alice)).json()
        steps = [e for e in timeline if e["kind"] not in ("notified", "notification_failed")]
        assert [e["kind"] for e in steps] == [
            "submitted",
            "accepted",
            "assigned",
            "evidence_added",
            "responded",
            "response_accepted",
            "evaluated",
        ]
        assert all(e["at"] for e in timeline)

        for stranger in (await login_wechat("bob"), await login_staff("haikou"), await login_staff("other")):
            r = await gw.get(f"/v1/complaints/{cid}", headers=stranger)
            assert r.status_code == 404 and r.json()["code"] == "complaint_not_found"
            r = await gw.get(f"/v1/complaints/{cid}/timeline", headers=stranger)
            assert r.status_code == 404


async def test_an_unanswered_complaint_escalates_at_30_minutes_exactly_once(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
        r = await gw.post("/v1/auth/wechat/login", json={"code": "demo-dora"})
        dora = {"Authorization": f"Bearer {r.json()['access_token']}"}
        created = await gw.post(
            "/v1/complaints",
            headers=dora,
            json=complaint_body(merchant_id=HOTEL, description="退房时被要求支付未说明的清洁费 200 元，要求退还。"),
        )
        cid = created.json()["id"]
        assert created.json()["deadlines"]["next_deadline"] == "dispose"

        async def state() -> str:
            return (await gw.get(f"/v1/complaints/{cid}", headers=dora)).json()["state"]

        system.clock.advance(timedelta(minutes=29))
        await asyncio.sleep(0.3)  # several scheduler passes
        assert await state() == "assigned"
        system.clock.advance(timedelta(minutes=1))

        async def escalated() -> bool:
            return await state() == "escalated"

        await eventually(escalated)
        await asyncio.sleep(0.3)  # more passes must not fire it again
        kinds = [e["kind"] for e in (await gw.get(f"/v1/complaints/{cid}/timeline", headers=dora)).json()]
        assert kinds.count("escalated") == 1 and kinds.count("overdue") == 1
        seen = (await gw.get(f"/v1/complaints/{cid}", headers=dora)).json()
        assert seen["deadlines"]["overdue"] == ["dispose"]
