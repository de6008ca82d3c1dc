"""The returns desk: Yunnan's 30-day no-reason return, and seeds/004's 15 returns worth 42,565.00 yuan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.clock import SHANGHAI
from shared.contracts.identity import Identity
from tests.conftest import HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, merchant_id, settle_merchant
from tests.support import Stack

SHOP = merchant_id("SILVER")
# Fifteen requests that add up to seeds/004's 42,565.00 yuan.
AMOUNTS = [283_800] * 14 + [283_300]


def return_body(stack: Stack, **overrides: Any) -> dict[str, Any]:
    today = stack.clock.now().astimezone(SHANGHAI).date()
    return {
        "region_code": SANYA,
        "merchant_id": SHOP,
        "goods": "银手镯一只（足银999，38克）",
        "receipt_no": "NO.0031",
        "purchased_on": (today - timedelta(days=3)).isoformat(),
        "amount_fen": 286_000,
        "custom_made": False,
        "reason": "回家后觉得价格过高，申请无理由退货。",
        "contact_phone": "13812341234",
        **overrides,
    }


async def ask(stack: Stack, who: Identity, expect: int = 201, **overrides: Any) -> dict[str, Any]:
    response = await stack.clients["intake"].post(
        "/v1/returns", headers=stack.as_(who), json=return_body(stack, **overrides)
    )
    assert response.status_code == expect, response.text
    return response.json()


async def act(
    stack: Stack, who: Identity, return_id: str, action: str, body: dict[str, Any], expect: int = 200
) -> dict[str, Any]:
    response = await stack.clients["intake"].post(
        f"/v1/returns/{return_id}/{action}", headers=stack.as_(who), json=body
    )
    assert response.status_code == expect, response.text
    return response.json()


async def queue(stack: Stack, who: Identity, **params: Any) -> list[dict[str, Any]]:
    response = await stack.clients["intake"].get("/v1/returns", headers=stack.as_(who), params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_week_of_returns_like_seeds_004_reaches_the_report(stack: Stack) -> None:
    await settle_merchant(stack, SHOP, name="七彩云南银器店", industry="shopping")
    shop = merchant_staff(SHOP)
    for n, amount in enumerate(AMOUNTS):
        r = await ask(stack, consumer(f"usr_SHANGHAI{n:02d}"), amount_fen=amount, receipt_no=f"NO.{n:04d}")
        assert r["state"] == "requested" and r["merchant_name"] == "七彩云南银器店"
        assert r["refund_by"] > r["requested_at"]
        assert r["contact_phone"] == "13812341234"  # the tourist sees their own number
    waiting = await queue(stack, shop)
    assert len(waiting) == 15 and {r["contact_phone"] for r in waiting} == {"138****1234"}
    for r in waiting:
        done = await act(
            stack, shop, r["id"], "refunds", {"amount_refunded_fen": r["amount_fen"], "note": "已原路退款"}
        )
        assert done["state"] == "refunded" and [h["action"] for h in done["history"]] == ["requested", "refunded"]
    day = stack.clock.now().astimezone(SHANGHAI).date().isoformat()
    response = await stack.clients["intake"].get(
        "/v1/reports/complaints",
        headers=stack.as_(official(SANYA)),
        params={"region_code": SANYA, "from": day, "to": day},
    )
    report = response.json()
    assert report["returns"] == {
        "received": 15,
        "amount_fen": 4_256_500,
        "refunded": 15,
        "amount_refunded_fen": 4_256_500,
        "withdrawn": 0,
        "overdue": 0,
        "referred": 0,
    }
    assert (
        "“海南放心游”退换货平台收到退换货件15件，合计退货金额42565.00元，均已退货退款，退款金额42565.00元。"
        in (report["returns_text"])
    )


async def test_only_goods_within_30_days_and_not_custom_made_are_covered(stack: Stack) -> None:
    await settle_merchant(stack, SHOP, name="七彩云南银器店", industry="shopping")
    today = stack.clock.now().astimezone(SHANGHAI).date()
    alice = consumer()
    late = await ask(stack, alice, 422, purchased_on=(today - timedelta(days=31)).isoformat())
    assert late["code"] == "return_window_passed" and "30 天内" in late["detail"]
    await ask(stack, alice, 201, purchased_on=(today - timedelta(days=30)).isoformat())  # the 30th day is in
    custom = await ask(stack, alice, 422, custom_made=True)
    assert custom["code"] == "return_not_covered"
    future = await ask(stack, alice, 422, purchased_on=(today + timedelta(days=1)).isoformat())
    assert future["code"] == "validation_failed"
    assert (await ask(stack, alice, 422, merchant_id=merchant_id("NOBODY")))["code"] == "unknown_merchant"
    assert (await ask(stack, alice, 422, amount_fen=0))["code"] == "validation_failed"
    assert (await ask(stack, alice, 422, region_code="999999"))["code"] == "unknown_region"
    assert len(await queue(stack, alice)) == 1  # the refused ones left nothing behind


async def test_a_shop_that_does_not_refund_in_time_is_escalated_once(stack: Stack) -> None:
    await settle_merchant(stack, SHOP, name="七彩云南银器店", industry="shopping")
    r = await ask(stack, consumer())
    stack.clock.advance(timedelta(hours=47))
    assert await stack.run_deadlines() == 0
    stack.clock.advance(timedelta(hours=1, seconds=1))
    assert await stack.run_deadlines() == 1
    assert await stack.run_deadlines() == 0
    overdue = await queue(stack, official(SANYA), overdue="true")
    assert [o["id"] for o in overdue] == [r["id"]] and overdue[0]["state"] == "escalated"
    assert [h["action"] for h in overdue[0]["history"]] == ["requested", "overdue", "escalated"]
    # The official orders the refund and records it; the report counts it as refunded and overdue.
    done = await act(stack, official(SANYA), r["id"], "refunds", {"amount_refunded_fen": 286_000})
    assert done["state"] == "refunded" and done["overdue"] is True
    again = await act(stack, official(SANYA), r["id"], "refunds", {"amount_refunded_fen": 286_000}, expect=409)
    assert again["code"] == "invalid_transition"


async def test_who_may_see_and_act_on_a_return(stack: Stack) -> None:
    await settle_merchant(stack, SHOP, name="七彩云南银器店", industry="shopping")
    await settle_merchant(stack, HOTEL)
    alice, bob = consumer("usr_ALICE"), consumer("usr_BOB")
    r = await ask(stack, alice)
    for stranger in (bob, merchant_staff(HOTEL), official(HAIKOU)):
        response = await stack.clients["intake"].get(f"/v1/returns/{r['id']}", headers=stack.as_(stranger))
        assert response.status_code == 404 and response.json()["code"] == "return_not_found"
    assert (await act(stack, alice, r["id"], "refunds", {"amount_refunded_fen": 1}, 403))[
        "code"
    ] == "action_not_allowed"
    assert (await act(stack, merchant_staff(SHOP), r["id"], "rejections", {"note": "不退"}, 403))[
        "code"
    ] == "action_not_allowed"
    above = await act(stack, merchant_staff(SHOP), r["id"], "refunds", {"amount_refunded_fen": 286_001}, 422)
    assert above["code"] == "refund_above_amount"
    # An official of another region cannot file at this region's desk; Sanya's desk can, for a walk-in.
    assert (await ask(stack, official(HAIKOU), 403))["code"] == "action_not_allowed"
    walk_in = await ask(stack, official(SANYA), merchant_id=None, merchant_name="西双版纳某银器店")
    assert walk_in["channel"] == "walk_in" and walk_in["consumer_id"] is None
    # The shop disputes; the official decides against the tourist, saying why.
    disputed = await act(stack, merchant_staff(SHOP), r["id"], "escalations", {"note": "商品已刻字，属定制"})
    assert disputed["state"] == "escalated"
    rejected = await act(stack, official(SANYA), r["id"], "rejections", {"note": "商品已刻字，属个性化定制。"})
    assert rejected["state"] == "rejected" and rejected["concluded_at"]
    assert (await act(stack, alice, r["id"], "withdrawals", {}, 409))["code"] == "invalid_transition"
