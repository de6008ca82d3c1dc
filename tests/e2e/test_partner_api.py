"""The partner API over loopback: signed pushes become complaints, once per external id; replays,
forgeries and stale requests are refused and leave nothing behind; status changes reach the partner's
own webhook receiver (a real local server), signed, and can be listed and replayed. The partner signs
with tools/partner_sign.py, the script the README gives partners."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.testing.fakes.server import ServerThread
from tests.e2e.conftest import Receiver, System
from tests.factories import complaint_body
from tests.support import eventually
from tools.partner_sign import signature, signed_headers, verify


def test_a_partner_pushes_signed_complaints_and_hears_back_through_its_webhook(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    hooks, hook_url = receiver

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            r = await gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
            admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
            created = (
                await gw.post("/v1/partners", headers=admin, json={"name": "某在线旅游平台", "webhook_url": hook_url})
            ).json()
            key_id, secret = created["key"]["key_id"], created["key"]["secret"]
            other = (await gw.post("/v1/partners", headers=admin, json={"name": "某在线旅行社"})).json()

            async def call(
                method: str,
                path: str,
                body: dict[str, Any] | None = None,
                *,
                key: str = key_id,
                sec: str = secret,
                headers: dict[str, str] | None = None,
            ) -> httpx.Response:
                raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
                signed = headers or signed_headers(key, sec, method, f"{system.url}{path}", raw)
                return await gw.request(
                    method, path, content=raw or None, headers={**signed, "Content-Type": "application/json"}
                )

            case = complaint_body(merchant_id=None, merchant_name="天涯海角景区门口摊位", external_id="OTA-2026-000123")
            first = await call("POST", "/partner/v1/complaints", case)
            assert first.status_code == 201, first.text
            complaint = first.json()
            assert (complaint["channel"], complaint["external_id"]) == ("partner", "OTA-2026-000123")
            # The case number and the tourist's progress link, for the partner to pass on.
            assert complaint["case_number"].startswith("460200-")
            assert complaint["progress_url"].startswith(f"{system.url}/p/#{complaint['id']}.")
            # Only a government channel's own center submits as that channel.
            claimed = await call(
                "POST", "/partner/v1/complaints", {**case, "channel": "platform_12315", "external_id": "OTA-CLAIM"}
            )
            assert claimed.status_code == 403 and claimed.json()["code"] == "channel_not_allowed"
            again = await call("POST", "/partner/v1/complaints", case)  # the partner pushes it again
            assert again.json()["id"] == complaint["id"]

            # A replayed request, a forged one, a stale one: 401 that says which, nothing stored.
            raw = json.dumps(case, ensure_ascii=False).encode()
            headers = signed_headers(key_id, secret, "POST", f"{system.url}/partner/v1/complaints", raw)
            assert (await call("POST", "/partner/v1/complaints", case, headers=headers)).status_code == 201
            replay = await call("POST", "/partner/v1/complaints", case, headers=headers)
            assert replay.status_code == 401 and replay.json()["code"] == "nonce_reused"
            forged = {
                **signed_headers(key_id, "psk_not-the-secret", "POST", f"{system.url}/partner/v1/complaints", raw)
            }
            refused = await call("POST", "/partner/v1/complaints", case, headers=forged)
            assert refused.status_code == 401 and refused.json()["code"] == "signature_invalid"
            honest = {
                **forged,
                "X-Partner-Signature": signature(
                    secret,
                    "POST",
                    "/partner/v1/complaints",
                    "",
                    forged["X-Partner-Timestamp"],
                    forged["X-Partner-Nonce"],
                    raw,
                ),
            }
            assert (await call("POST", "/partner/v1/complaints", case, headers=honest)).status_code == 201  # the
            # forged request's nonce was not kept
            stale_time = str(int(time.time()) - 600)
            stale = {
                **headers,
                "X-Partner-Timestamp": stale_time,
                "X-Partner-Nonce": "n-stale",
                "X-Partner-Signature": signature(
                    secret, "POST", "/partner/v1/complaints", "", stale_time, "n-stale", raw
                ),
            }
            expired = await call("POST", "/partner/v1/complaints", case, headers=stale)
            assert expired.status_code == 401 and expired.json()["code"] == "request_expired"
            huge = b"{" + b" " * (12 * 1024 * 1024) + b"}"
            too_big = await gw.post(
                "/partner/v1/complaints",
                content=huge,
                headers={
                    **signed_headers(key_id, secret, "POST", f"{system.url}/partner/v1/complaints", huge),
                    "Content-Type": "application/json",
                },
            )
            assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
            unsigned = await gw.post("/partner/v1/complaints", json=case)
            assert unsigned.status_code == 401 and unsigned.json()["code"] == "signature_missing"

            status = await call("GET", f"/partner/v1/complaints/{complaint['id']}")
            assert status.status_code == 200 and status.json()["state"] == "assigned"
            theirs = await call(
                "GET",
                f"/partner/v1/complaints/{complaint['id']}",
                key=other["key"]["key_id"],
                sec=other["key"]["secret"],
            )
            assert theirs.status_code == 404

            # Status changes reach the receiver, signed with the partner's key.
            async def heard(n: int) -> bool:
                for _ in range(200):
                    if len(hooks.received) >= n:
                        return True
                    await asyncio.sleep(0.05)
                return False

            assert await heard(3)  # submitted, accepted, assigned
            states = [json.loads(h["body"])["state_to"] for h in hooks.received]
            assert states[:3] == ["submitted", "accepted", "assigned"]
            for hook in hooks.received:
                payload = json.loads(hook["body"])
                assert payload["case_number"] == complaint["case_number"]
                assert payload["progress_url"].startswith(f"{system.url}/p/#{complaint['id']}.")
            for hook in hooks.received:
                assert verify(secret, "POST", hook["url"], hook["headers"], hook["body"])
                assert not verify("psk_other", "POST", hook["url"], hook["headers"], hook["body"])

            # The receiver fails: the delivery is retried later, not in a tight loop; the partner replays it.
            hooks.failing = True
            sanya_login = await gw.post(
                "/v1/auth/staff/login", json={"username": "sanya", "password": "sanya-pass-e2e"}
            )
            sanya = {"Authorization": f"Bearer {sanya_login.json()['access_token']}"}
            r = await gw.post(
                f"/v1/complaints/{complaint['id']}/escalations",
                headers=sanya,
                json={"reason": "热线督办：游客再次来电"},
            )
            assert r.status_code == 200, r.text
            deliveries: list[dict[str, Any]] = []
            for _ in range(200):
                deliveries = (await call("GET", "/partner/v1/webhook-deliveries")).json()
                if any(d["attempts"] >= 1 and d["state"] == "pending" for d in deliveries):
                    break
                await asyncio.sleep(0.05)
            waiting = next(d for d in deliveries if d["payload"]["state_to"] == "escalated")
            assert waiting["state"] == "pending" and waiting["last_status"] == 503
            await asyncio.sleep(0.5)
            again_listed = (await call("GET", "/partner/v1/webhook-deliveries")).json()
            assert next(d for d in again_listed if d["id"] == waiting["id"])["attempts"] == 1  # backing off
            hooks.failing = False
            replayed = await call("POST", f"/partner/v1/webhook-deliveries/{waiting['id']}/replays")
            assert replayed.status_code == 200 and replayed.json()["state"] == "pending"
            assert await heard(4)
            assert json.loads(hooks.received[-1]["body"])["state_to"] == "escalated"

            # Key rotation with overlap: the new key works, so does the old one until its overlap ends.
            rotated = (await gw.post(f"/v1/partners/{created['partner']['id']}/keys", headers=admin)).json()
            assert (
                await call(
                    "GET", f"/partner/v1/complaints/{complaint['id']}", key=rotated["key_id"], sec=rotated["secret"]
                )
            ).status_code == 200
            assert (await call("GET", f"/partner/v1/complaints/{complaint['id']}")).status_code == 200
            listed = (await gw.get("/v1/partners", headers=admin)).json()
            assert "secret" not in json.dumps(listed)

    asyncio.run(scenario())


def test_the_same_case_from_a_partner_and_the_mini_program_is_one_case_once_an_official_confirms_it(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    hooks, hook_url = receiver

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            r = await gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
            admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
            created = (
                await gw.post(
                    "/v1/partners", headers=admin, json={"name": "某在线旅游平台（联动）", "webhook_url": hook_url}
                )
            ).json()
            key_id, secret = created["key"]["key_id"], created["key"]["secret"]
            r = await gw.post("/v1/auth/wechat/login", json={"code": "demo-linked-tourist"})
            tourist = {"Authorization": f"Bearer {r.json()['access_token']}"}
            story = "蜈支洲岛码头摊位的椰子标价十元，结账时收了三十元，老板拒绝退还差价。"
            case = complaint_body(
                merchant_id=None,
                merchant_name="蜈支洲岛码头椰子摊",
                industry="shopping",
                contact_phone="13977778888",
                description=story,
            )
            first = await gw.post("/v1/complaints", headers=tourist, json=case)
            assert first.status_code == 201, first.text
            first_id = first.json()["id"]

            pushed = {**case, "external_id": "OTA-2026-000777", "description": "游客来电：" + story}
            raw = json.dumps(pushed, ensure_ascii=False).encode()
            headers = signed_headers(key_id, secret, "POST", f"{system.url}/partner/v1/complaints", raw)
            again = await gw.post(
                "/partner/v1/complaints", content=raw, headers={**headers, "Content-Type": "application/json"}
            )
            assert again.status_code == 201, again.text
            pushed = again.json()
            # The same phone is not the same account: worked as its own until an official confirms the link.
            assert (pushed["state"], pushed["duplicate_of"]) == ("assigned", None)

            r = await gw.post("/v1/auth/staff/login", json={"username": "sanya", "password": "sanya-pass-e2e"})
            sanya = {"Authorization": f"Bearer {r.json()['access_token']}"}
            seen = (await gw.get(f"/v1/complaints/{first_id}", headers=sanya)).json()
            assert seen["links"] == []
            [flag] = seen["possible_links"]
            assert (flag["complaint_id"], flag["channel"], flag["state"]) == (pushed["id"], "partner", "suggested")

            def heard() -> list[dict[str, Any]]:
                return [json.loads(h["body"]) for h in hooks.received if h["headers"].get("x-partner-key") == key_id]

            # Before it is confirmed, the tourist's complaint moves on and the partner hears nothing of it.
            r = await gw.post(
                f"/v1/complaints/{first_id}/responses", headers=sanya, json={"message": "已责令摊主退还差价二十元"}
            )
            assert r.status_code == 200, r.text
            for _ in range(200):
                if any(m["state_to"] == "assigned" for m in heard()):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            assert {m["complaint_id"] for m in heard()} == {pushed["id"]}
            assert not any(m["handled_as"] or m["state_to"] == "responded" for m in heard())

            r = await gw.post(
                f"/v1/complaints/{first_id}/link-decisions",
                headers=sanya,
                json={"link_id": flag["id"], "confirm": True, "note": "回访确认为同一游客"},
            )
            assert r.status_code == 200, r.text
            assert [(x["complaint_id"], x["channel"]) for x in r.json()["links"]] == [(pushed["id"], "partner")]

            # The case moves on where it is handled; the partner hears it about its own case.
            r = await gw.post(f"/v1/complaints/{first_id}/escalations", headers=sanya, json={"reason": "热线联动督办"})
            assert r.status_code == 200, r.text
            for _ in range(200):
                mine = heard()
                if any(m["state_to"] == "escalated" for m in mine):
                    break
                await asyncio.sleep(0.05)
            told = next(m for m in mine if m["state_to"] == "escalated")
            assert (told["complaint_id"], told["handled_as"]) == (pushed["id"], first_id)
            taken = next(m for m in mine if m["action"] == "linked")
            assert (taken["complaint_id"], taken["handled_as"]) == (pushed["id"], first_id)  # taken in, not refused

    asyncio.run(scenario())


def test_a_partner_whose_receiver_stalls_holds_back_only_its_own_webhooks(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    """Deliveries are sent outside any transaction, each partner on its own: while one partner's receiver
    hangs on a request, another partner hears of its complaints at once."""
    hooks, hook_url = receiver
    release = threading.Event()
    stalled: list[bytes] = []

    async def hang(request: Request) -> JSONResponse:
        stalled.append(await request.body())
        await asyncio.to_thread(release.wait, 20)
        return JSONResponse({"ok": True})

    slow_app = Starlette(routes=[Route("/hooks", hang, methods=["POST"])])

    async def scenario(slow_url: str) -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            r = await gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
            admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
            slow = (
                await gw.post("/v1/partners", headers=admin, json={"name": "慢平台", "webhook_url": slow_url})
            ).json()
            fast = (
                await gw.post("/v1/partners", headers=admin, json={"name": "快平台", "webhook_url": hook_url})
            ).json()

            async def push(partner: dict[str, Any], external_id: str) -> dict[str, Any]:
                body = complaint_body(merchant_id=None, merchant_name="某景区摊位", external_id=external_id)
                raw = json.dumps(body, ensure_ascii=False).encode()
                key, secret = partner["key"]["key_id"], partner["key"]["secret"]
                headers = signed_headers(key, secret, "POST", f"{system.url}/partner/v1/complaints", raw)
                answer = await gw.post(
                    "/partner/v1/complaints", content=raw, headers={**headers, "Content-Type": "application/json"}
                )
                assert answer.status_code == 201, answer.text
                return answer.json()

            await push(slow, "SLOW-1")
            await eventually(lambda: asyncio.sleep(0, stalled))  # the slow receiver holds its first request
            before = len(hooks.received)
            fast_case = await push(fast, "FAST-1")

            async def fast_heard() -> bool:
                ids = [json.loads(h["body"])["complaint_id"] for h in hooks.received[before:]]
                return ids.count(fast_case["id"]) >= 3  # submitted, accepted, assigned

            # Before the stalled request's 5 s timeout: it holds nothing but its own partner's deliveries.
            await eventually(fast_heard, within=4)
            assert not release.is_set() and len(stalled) == 1

    with ServerThread(slow_app) as slow_server:
        try:
            asyncio.run(scenario(f"{slow_server.url}/hooks"))
        finally:
            release.set()
