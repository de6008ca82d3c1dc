"""Issue 20 through the gateway: Sanya's ferry standard decides claims from their facts alone, a rule body
with a field the rules cannot hold is refused, a dry run; a merchant's deposit drawn for a recovery order
without a payout, asked to be topped up below its floor, and its monthly statement; a fund's monthly
statement as JSON, CSV and XLSX that matches the ledger to the fen, months in Asia/Shanghai."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from shared.clock import ManualClock
from tests.e2e.test_compensation_journey import staff, system  # noqa: F401  (the module's running system)
from tests.factories import complaint_body, merchant_id, photo_png, uscc
from tests.support import eventually

pytestmark = pytest.mark.e2e

FERRY = merchant_id("E2EHTL")  # the merchant the e2e staff account "hotel" works for: here a ferry line
PNG = photo_png()
TICKET = 16_000


async def ferry_claim(
    gw: httpx.AsyncClient, clock: ManualClock, name: str, outbound: int, back: int, returned_hours_ago: int
) -> dict[str, Any]:
    """A tourist's complaint against the ferry, past its deadline, asking under the standard with her facts."""
    r = await gw.post("/v1/auth/wechat/login", json={"code": f"demo-{name}"})
    tourist = {"Authorization": f"Bearer {r.json()['access_token']}"}
    created = await gw.post(
        "/v1/complaints",
        headers=tourist,
        json=complaint_body(
            merchant_id=FERRY,
            industry="transport",
            amount_involved_fen=TICKET,
            description=f"{name}：轮渡排队时间远超规定时限，售票处不予退票。",
        ),
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    r = await gw.post(f"/v1/complaints/{cid}/evidence", headers=tourist, files={"file": ("p.png", PNG, "image/png")})
    assert r.status_code == 201, r.text
    clock.advance(timedelta(hours=48, minutes=1))

    async def overdue() -> bool:
        return "settle" in (await gw.get(f"/v1/complaints/{cid}", headers=tourist)).json()["deadlines"]["overdue"]

    await eventually(overdue)
    facts = {
        "outbound_queue_minutes": outbound,
        "return_queue_minutes": back,
        "returned_at": (clock.now() - timedelta(hours=returned_hours_ago)).isoformat(),
        "ticket_price_fen": TICKET,
    }
    asked = await gw.post(
        f"/v1/complaints/{cid}/compensation-requests",
        headers=tourist,
        json={
            "amount_requested_fen": TICKET,
            "reason": "轮渡排队超时",
            "scenario": "sanya_ferry_queue",
            "facts": facts,
        },
    )
    assert asked.status_code == 202, asked.text
    return {"complaint_id": cid, "tourist": tourist}


async def claim_settled(gw: httpx.AsyncClient, official: dict[str, str], complaint_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        items = (await gw.get("/v1/claims", headers=official)).json()["items"]
        claim = next((c for c in items if c["complaint_id"] == complaint_id), None)
        return claim if claim and claim["state"] in ("paid", "rejected") else None

    return await eventually(done)


def yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


async def test_ferry_standard_deposits_on_demand_and_monthly_statements(
    system: tuple[str, ManualClock],  # noqa: F811
) -> None:
    url, clock = system
    async with httpx.AsyncClient(base_url=url, timeout=10) as gw:
        admin, sanya, hotel = await staff(gw, "admin"), await staff(gw, "sanya"), await staff(gw, "hotel")
        r = await gw.post(
            "/v1/merchants",
            headers=admin,
            json={
                "id": FERRY,
                "name": "三亚南山港轮渡",
                "uscc": uscc(FERRY),
                "region_code": "460200",
                "industry": "transport",
                "in_compensation_program": True,
            },
        )
        assert r.status_code == 201, r.text
        assert (await gw.post(f"/v1/merchants/{FERRY}/reviews", headers=admin, json={"decision": "approve"})).is_success
        r = await gw.post(
            "/v1/funds/460200/top-ups", headers=admin, json={"amount_fen": 1_000_000, "reference": "预算"}
        )
        assert r.status_code == 201, r.text

        async def enrolled() -> bool:
            return (await gw.get(f"/v1/merchants/{FERRY}/deposit", headers=sanya)).status_code == 200

        await eventually(enrolled)  # once subject.registered reached compensation

        # --- item 2: rules as data ---------------------------------------------------------------
        versions = (await gw.get("/v1/compensation-rules", headers=sanya)).json()
        assert [v["version"] for v in versions] == [1]
        (ferry,) = versions[0]["scenarios"]
        assert [f["name"] for f in ferry["facts"]] == [
            "outbound_queue_minutes",
            "return_queue_minutes",
            "returned_at",
            "ticket_price_fen",
        ]
        body = {k: v for k, v in versions[0].items() if k not in ("version", "created_at", "created_by")}
        sloppy = {**body, "scenarios": [{**ferry, "queue_limit_minutes": 60}]}
        refused = await gw.post("/v1/compensation-rules", headers=admin, json=sloppy)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        refused = await gw.post("/v1/compensation-rules", headers=admin, json={**body, "ferry_limit": 60})
        assert refused.status_code == 422
        assert [v["version"] for v in (await gw.get("/v1/compensation-rules", headers=admin)).json()] == [1]

        def dry(**facts: Any) -> dict[str, Any]:
            return {
                "industry": "transport",
                "region_code": "460200",
                "scenario": "sanya_ferry_queue",
                "amount_requested_fen": TICKET,
                "registered_at": "2026-11-21T09:00:00+08:00",
                "facts": {
                    "outbound_queue_minutes": 95,
                    "return_queue_minutes": 80,
                    "returned_at": "2026-11-20T18:30:00+08:00",
                    "ticket_price_fen": TICKET,
                    **facts,
                },
            }

        r = await gw.post("/v1/compensation-rules/1/dry-runs", headers=sanya, json=dry())
        assert r.status_code == 200, r.text
        assert (r.json()["amount_fen"], r.json()["decided_by"]) == (TICKET, "sanya_ferry_queue/both_legs_over_limit")
        late = (
            await gw.post(
                "/v1/compensation-rules/1/dry-runs", headers=sanya, json=dry(returned_at="2026-11-19T07:00:00+08:00")
            )
        ).json()
        assert not late["eligible"] and late["decided_by"] == "sanya_ferry_queue/registered_after_48h"
        assert (await gw.post("/v1/compensation-rules/9/dry-runs", headers=sanya, json=dry())).status_code == 404
        assert (await gw.post("/v1/compensation-rules/1/dry-runs", headers=hotel, json=dry())).status_code == 403
        assert not await _claims(gw, admin)  # a dry run writes nothing

        both = await ferry_claim(gw, clock, "fern", outbound=95, back=80, returned_hours_ago=2)
        one = await ferry_claim(gw, clock, "finn", outbound=20, back=75, returned_hours_ago=3)
        late_claim = await ferry_claim(gw, clock, "flo", outbound=95, back=80, returned_hours_ago=50)
        paid_all = await claim_settled(gw, sanya, both["complaint_id"])
        paid_half = await claim_settled(gw, sanya, one["complaint_id"])
        refused_late = await claim_settled(gw, sanya, late_claim["complaint_id"])
        assert (paid_all["state"], paid_all["amount_fen"]) == ("paid", TICKET)
        assert paid_all["decided_by"] == "sanya_ferry_queue/both_legs_over_limit"
        assert (paid_half["state"], paid_half["amount_fen"]) == ("paid", TICKET // 2)
        assert paid_half["decided_by"] == "sanya_ferry_queue/one_leg_over_limit"
        assert (refused_late["state"], refused_late["amount_fen"]) == ("rejected", 0)
        assert refused_late["decided_by"] == "sanya_ferry_queue/registered_after_48h"
        assert any(r["code"] == "scenario_refused" and not r["passed"] for r in refused_late["reasons"])

        async def tourist_told() -> bool:
            timeline = (
                await gw.get(f"/v1/complaints/{late_claim['complaint_id']}/timeline", headers=late_claim["tourist"])
            ).json()
            return any(e["kind"] == "compensation_rejected" for e in timeline)

        await eventually(tourist_told)

        # --- item 3: deposits on demand ------------------------------------------------------------
        recoveries = {r["claim_id"]: r for r in (await gw.get("/v1/recoveries", headers=sanya)).json()["items"]}
        order_all, order_half = recoveries[paid_all["id"]], recoveries[paid_half["id"]]
        assert (order_all["outstanding_fen"], order_half["outstanding_fen"]) == (TICKET, TICKET // 2)  # no deposit yet
        r = await gw.post(
            f"/v1/merchants/{FERRY}/deposit/top-ups", headers=admin, json={"amount_fen": 30_000, "reference": "保证金"}
        )
        assert r.status_code == 201, r.text
        drawn = await gw.post(f"/v1/recoveries/{order_all['id']}/deposit-draws", headers=sanya, json={})
        assert drawn.status_code == 200, drawn.text
        assert (drawn.json()["state"], drawn.json()["outstanding_fen"]) == ("settled", 0)
        r = await gw.post(f"/v1/recoveries/{order_all['id']}/deposit-draws", headers=hotel, json={})
        assert r.status_code in (403, 404)  # a merchant never draws its own deposit

        assert (
            await gw.put(f"/v1/merchants/{FERRY}/deposit/floor", headers=sanya, json={"floor_fen": 20_000})
        ).is_success
        deposit = (await gw.get(f"/v1/merchants/{FERRY}/deposit", headers=hotel)).json()
        assert (deposit["balance_fen"], deposit["below_floor"], deposit["top_up_request"]) == (14_000, True, None)
        asked = await gw.post(
            f"/v1/merchants/{FERRY}/deposit/top-up-requests",
            headers=sanya,
            json={"note": "保证金已低于最低限额，请于7日内补足", "due_days": 7},
        )
        assert asked.status_code == 201, asked.text
        assert asked.json()["amount_fen"] == 6_000
        again = await gw.post(f"/v1/merchants/{FERRY}/deposit/top-up-requests", headers=sanya, json={})
        assert (again.status_code, again.json()["code"]) == (409, "top_up_already_requested")
        seen_by_merchant = (await gw.get(f"/v1/merchants/{FERRY}/deposit", headers=hotel)).json()
        assert seen_by_merchant["top_up_request"]["id"] == asked.json()["id"]
        assert seen_by_merchant["top_up_request"]["note"] == "保证金已低于最低限额，请于7日内补足"

        part = await gw.post(
            f"/v1/recoveries/{order_half['id']}/deposit-draws", headers=sanya, json={"amount_fen": 5_000}
        )
        assert (part.status_code, part.json()["outstanding_fen"]) == (200, 3_000), part.text
        too_much = await gw.post(
            f"/v1/recoveries/{order_half['id']}/deposit-draws", headers=sanya, json={"amount_fen": 9_001}
        )
        assert (too_much.status_code, too_much.json()["code"]) == (409, "amount_above_outstanding")
        r = await gw.post(f"/v1/recoveries/{order_half['id']}/write-offs", headers=sanya, json={"reason": "经营困难"})
        assert r.status_code == 200, r.text
        r = await gw.post(
            f"/v1/merchants/{FERRY}/deposit/top-ups", headers=admin, json={"amount_fen": 11_000, "reference": "补缴"}
        )
        assert r.status_code == 201, r.text
        deposit = (await gw.get(f"/v1/merchants/{FERRY}/deposit", headers=hotel)).json()
        assert (deposit["balance_fen"], deposit["below_floor"], deposit["top_up_request"]) == (20_000, False, None)
        requests = (await gw.get(f"/v1/merchants/{FERRY}/deposit/top-up-requests", headers=hotel)).json()
        assert [q["met_at"] is not None for q in requests] == [True]

        statement = (await gw.get(f"/v1/merchants/{FERRY}/deposit/statements/2026-11", headers=hotel)).json()
        assert {k: statement[k] for k in ("opening_fen", "drawn_fen", "topped_up_fen", "other_fen", "closing_fen")} == {
            "opening_fen": 0,
            "drawn_fen": 21_000,
            "topped_up_fen": 41_000,
            "other_fen": 0,
            "closing_fen": 20_000,
        }
        assert [line["kind"] for line in statement["lines"]] == [
            "deposit_top_up",
            "deposit_drawn",
            "deposit_drawn",
            "deposit_top_up",
        ]

        # --- item 5: the fund's month, in Asia/Shanghai ----------------------------------------------
        # 00:30 on 1 December in Shanghai is still 30 November in UTC: a top-up then is December's.
        clock.set(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
        r = await gw.post("/v1/funds/460200/top-ups", headers=admin, json={"amount_fen": 123, "reference": "十二月"})
        assert r.status_code == 201, r.text
        november = (
            await gw.get(
                "/v1/reports/fund-statements", headers=sanya, params={"region_code": "460200", "month": "2026-11"}
            )
        ).json()
        december = (
            await gw.get(
                "/v1/reports/fund-statements", headers=sanya, params={"region_code": "460200", "month": "2026-12"}
            )
        ).json()
        assert {
            k: november[k]
            for k in (
                "opening_fen",
                "topped_up_fen",
                "paid_fen",
                "recovered_fen",
                "written_off_fen",
                "other_fen",
                "closing_fen",
                "owed_by_merchants_fen",
            )
        } == {
            "opening_fen": 0,
            "topped_up_fen": 1_000_000,
            "paid_fen": 24_000,
            "recovered_fen": 21_000,
            "written_off_fen": 3_000,
            "other_fen": 0,
            "closing_fen": 997_000,
            "owed_by_merchants_fen": 0,
        }
        assert (
            sum(line["amount_fen"] for line in november["lines"]) == november["closing_fen"] - november["opening_fen"]
        )
        assert (december["opening_fen"], december["topped_up_fen"], december["closing_fen"]) == (997_000, 123, 997_123)
        fund = (await gw.get("/v1/funds/460200", headers=sanya)).json()
        assert fund["balance_fen"] == december["closing_fen"]  # the ledger's balance, to the fen
        check = (await gw.get("/v1/ledger/check", headers=admin)).json()
        assert check["ok"] and check["total_fen"] == 0

        params = {"region_code": "460200", "month": "2026-11"}
        as_csv = await gw.get("/v1/reports/fund-statements", headers=sanya, params={**params, "format": "csv"})
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
        assert "fund-statement-460200-2026-11.csv" in as_csv.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
        summary = {row[0]: row[1] for row in rows if len(row) >= 2}
        assert Decimal(summary["期初余额（元）"]) == yuan(0)
        assert Decimal(summary["本月赔付（元）"]) == yuan(24_000)
        assert Decimal(summary["本月追偿收回（元）"]) == yuan(21_000)
        assert Decimal(summary["本月核销（元）"]) == yuan(3_000)
        assert Decimal(summary["本月注资（元）"]) == yuan(1_000_000)
        assert Decimal(summary["期末余额（元）"]) == yuan(november["closing_fen"])
        header = rows.index(["序号", "时间（北京时间）", "类别", "业务编号", "金额（元）", "账务流水号"])
        assert sum(Decimal(row[4]) for row in rows[header + 1 :]) == yuan(november["closing_fen"])

        as_xlsx = await gw.get("/v1/reports/fund-statements", headers=sanya, params={**params, "format": "xlsx"})
        assert as_xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
        cells = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
        assert Decimal(str(cells["期末余额（元）"])) == yuan(november["closing_fen"])
        assert Decimal(str(cells["本月赔付（元）"])) == yuan(24_000)

        haikou = await staff(gw, "haikou")
        r = await gw.get("/v1/reports/fund-statements", headers=haikou, params=params)
        assert r.status_code == 403
        r = await gw.get("/v1/reports/fund-statements", headers=hotel, params=params)
        assert r.status_code == 403


async def _claims(gw: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return (await gw.get("/v1/claims", headers=headers)).json()["items"]
