"""Credit end to end over loopback, through the gateway only: a merchant settles in and is approved, a
tourist scans its code without logging in, complaints resolved late and at fault lower its grade with
reasons, penalties put it on notice and then (unanswered) on the dishonest list, repair restores it,
and a good-credit tourist gets a free first ticket once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from services.credit.signing import verify
from tests.e2e.conftest import HOTEL, OTHER, System
from tests.factories import complaint_body, uscc
from tests.support import eventually


async def login(gw: httpx.AsyncClient, path: str, body: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    r = await gw.post(path, json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}, r.json()["account"]


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def act(gw: httpx.AsyncClient, path: str, who: dict[str, str], body: dict[str, Any]) -> Any:
    """A complaint step, retried as the problem says when intake's scheduler moved it at the same moment."""
    for _ in range(20):
        r = await gw.post(path, headers=who, json=body)
        if r.status_code != 409 or r.json()["code"] != "concurrent_update":
            return await ok(r)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} kept colliding")


async def test_credit_through_the_gateway(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
        staff = {}
        for name in ("admin", "sanya", "hotel", "other"):
            staff[name], _ = await login(gw, "/v1/auth/staff/login", {"username": name, "password": f"{name}-pass-e2e"})
        for merchant_id, name, industry in (
            (HOTEL, "三亚湾海景酒店", "lodging"),
            (OTHER, "南山文化旅游区", "sightseeing"),
        ):
            await ok(
                await gw.post(
                    "/v1/merchants",
                    headers=staff["sanya"],
                    json={
                        "id": merchant_id,
                        "name": name,
                        "uscc": uscc(merchant_id),
                        "region_code": "460200",
                        "industry": industry,
                        "in_integrity_alliance": True,
                    },
                ),
                201,
            )
            await ok(
                await gw.post(
                    f"/v1/merchants/{merchant_id}/reviews",
                    headers=staff["sanya"],
                    json={"decision": "approve", "note": "证照齐全"},
                )
            )

        # Code check: anyone scans, no login; the QR encodes /c/<code>, which opens the code's page.
        code = await ok(await gw.get(f"/v1/merchants/{HOTEL}/code", headers=staff["hotel"]))
        png = await gw.get(f"/v1/merchants/{HOTEL}/code.png", headers=staff["hotel"])
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        profile = await ok(await gw.get(f"/v1/codes/{code['code']}"))
        assert (profile["name"], profile["grade"]) == ("三亚湾海景酒店", "B")
        scanned = await gw.get(f"/c/{code['code']}")
        assert scanned.status_code == 307 and scanned.headers["location"] == f"/code/#{code['code']}"
        assert (await gw.get("/code/")).status_code == 200

        # Complaints resolved late and at fault lower the grade, with the reasons shown.
        tourist, _ = await login(gw, "/v1/auth/wechat/login", {"code": "demo-credit-alice"})

        async def known() -> bool:
            probe = await gw.post("/v1/complaints", headers=tourist, json=complaint_body(merchant_id=HOTEL))
            return probe.status_code == 201

        await eventually(known)  # subject.updated reaches intake through the outbox
        complaints = (await ok(await gw.get("/v1/complaints", headers=tourist)))["items"]
        cid = complaints[0]["id"]
        system.clock.advance(timedelta(minutes=45))
        await act(gw, f"/v1/complaints/{cid}/responses", staff["hotel"], {"message": "房型与订单一致。"})
        await act(gw, f"/v1/complaints/{cid}/rejections", tourist, {"note": "不一致"})
        await act(
            gw,
            f"/v1/complaints/{cid}/resolutions",
            staff["sanya"],
            {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 30000},
        )

        async def scored() -> bool:
            credit = await ok(await gw.get(f"/v1/credit/{HOTEL}", headers=staff["hotel"]))
            return any(r["kind"] == "resolved_at_fault" for r in credit["reasons"])

        await eventually(scored)
        credit = await ok(await gw.get(f"/v1/credit/{HOTEL}", headers=staff["sanya"]))
        assert credit["score"] == 700 - 4 - 15 - 40 and credit["history"][0]["score_after"] == credit["score"]

        # Two penalties in a year: a notice, the defence period passes unanswered, the dishonest list.
        for n in (1, 2):
            await ok(
                await gw.post(
                    f"/v1/credit/{HOTEL}/records",
                    headers=staff["sanya"],
                    json={"kind": "penalty", "note": f"价格欺诈 第 {n} 次", "reference": f"三市监罚〔2026〕{n}号"},
                ),
                201,
            )
        credit = await ok(await gw.get(f"/v1/credit/{HOTEL}", headers=staff["hotel"]))
        assert credit["grade"] == "D"  # 641 - 2 x 150: key supervision (grade D) and dishonest (penalties)
        assert sorted(x["list_name"] for x in credit["listings"]) == ["dishonest", "key_supervision"]
        notice = next(x for x in credit["listings"] if x["list_name"] == "dishonest")
        assert notice["state"] == "noticed"
        system.clock.advance(timedelta(days=5, minutes=1))

        async def listed() -> bool:
            items = (await ok(await gw.get("/v1/lists/dishonest")))["items"]
            return [x["subject_id"] for x in items] == [HOTEL]

        await eventually(listed)  # credit's lists scheduler, on its own
        assert (await ok(await gw.get(f"/v1/codes/{code['code']}")))["warnings"] == ["dishonest", "key_supervision"]

        # Repair after the minimum period: applied for by the merchant, decided by the official.
        system.clock.advance(timedelta(days=181))
        repair = await ok(
            await gw.post(
                "/v1/credit-repairs",
                headers=staff["hotel"],
                json={
                    "listing_id": notice["id"],
                    "statement": "罚款已缴清，完成价格公示整改。",
                    "evidence": ["缴款书 2026-12-01"],
                },
            ),
            201,
        )
        await ok(
            await gw.post(
                f"/v1/credit-repairs/{repair['id']}/decisions",
                headers=staff["sanya"],
                json={"decision": "approve", "note": "整改到位"},
            )
        )
        assert (await ok(await gw.get("/v1/lists/dishonest")))["items"] == []

        # A good-credit tourist: a free first ticket at the scenic spot, once.
        _, account = await login(gw, "/v1/auth/wechat/login", {"code": "demo-credit-alice"})
        await ok(await gw.get(f"/v1/credit/{account['id']}", headers=tourist))
        await ok(
            await gw.post(
                f"/v1/credit/{account['id']}/records",
                headers=staff["sanya"],
                json={"kind": "honour", "note": "见义勇为 2026", "honour": "见义勇为"},
            ),
            201,
        )
        key = await ok(await gw.get("/v1/benefits/signing-key"))
        ask = {"consumer": account["id"], "benefit": "free_first_ticket", "merchant": OTHER}
        answer = await ok(await gw.get("/v1/benefits/eligibility", headers=staff["other"], params=ask))
        assert answer["eligible"] and verify(answer, key["public_key"])
        body = {"benefit": "free_first_ticket", "consumer_id": account["id"], "merchant_id": OTHER}
        await ok(await gw.post("/v1/benefits/redemptions", headers=staff["other"], json=body), 201)
        again = await ok(await gw.post("/v1/benefits/redemptions", headers=staff["other"], json=body), 409)
        assert again["code"] == "benefit_already_redeemed"
