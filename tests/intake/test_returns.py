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
        "exchanged": 0,
        "withdrawn": 0,
        "overdue": 0,
        "referred": 0,
        "visited": 0,
        "satisfied": 0,
        "withdrawal_induced": 0,
        "shirking_reported": 0,
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


async def test_an_exchange_and_the_follow_up_visits_are_what_the_report_says(stack: Stack) -> None:
    """Returns end in a refund, an exchange (换货, nothing refunded) or a withdrawal; an official visits each
    tourist (回访) once it is concluded. The paragraph counts what the visits found rather than claiming all
    were satisfied."""
    await settle_merchant(stack, SHOP, name="七彩云南银器店", industry="shopping")
    shop, desk = merchant_staff(SHOP), official(SANYA)
    refunded, exchanged, withdrawn, still_open = [
        await ask(stack, consumer(f"usr_T{n}"), receipt_no=f"NO.{n}") for n in range(4)
    ]
    await act(stack, shop, refunded["id"], "refunds", {"amount_refunded_fen": 286_000})
    swapped = await act(stack, shop, exchanged["id"], "exchanges", {"note": "已为游客调换同款商品"})
    assert swapped["state"] == "exchanged" and swapped["amount_refunded_fen"] == 0 and swapped["concluded_at"]
    await act(stack, consumer("usr_T2"), withdrawn["id"], "withdrawals", {"reason": "已协商一致"})

    def visit(satisfied: bool = True, induced: bool = False, shirking: bool = False) -> dict[str, Any]:
        return {"satisfied": satisfied, "withdrawal_induced": induced, "shirking_reported": shirking}

    assert (await act(stack, desk, still_open["id"], "visits", visit(), 409))["code"] == "invalid_transition"
    assert (await act(stack, shop, refunded["id"], "visits", visit(), 403))["code"] == "action_not_allowed"
    not_withdrawn = await act(stack, desk, refunded["id"], "visits", visit(induced=True), 422)
    assert not_withdrawn["code"] == "validation_failed"
    seen = await act(stack, desk, refunded["id"], "visits", {**visit(), "note": "电话回访"})
    assert seen["visit"]["satisfied"] is True and seen["visit"]["by"] == desk.display_name
    for other in (consumer("usr_T0"), shop):  # the tourist and the shop see that the desk visited, not who
        mine = await stack.clients["intake"].get(f"/v1/returns/{refunded['id']}", headers=stack.as_(other))
        assert mine.json()["visit"]["by"] == "退货监理工作人员"
    assert seen["history"][-1]["action"] == "visited" and "游客表示满意" in seen["history"][-1]["note"]
    await act(stack, desk, exchanged["id"], "visits", visit(satisfied=False, shirking=True))
    await act(stack, desk, withdrawn["id"], "visits", visit(induced=True))

    day = stack.clock.now().astimezone(SHANGHAI).date().isoformat()
    report = (
        await stack.clients["intake"].get(
            "/v1/reports/complaints", headers=stack.as_(desk), params={"region_code": SANYA, "from": day, "to": day}
        )
    ).json()
    figures = report["returns"]
    assert (figures["received"], figures["amount_fen"], figures["exchanged"]) == (4, 3 * 286_000, 1)
    assert (figures["visited"], figures["satisfied"]) == (3, 2)
    assert (figures["withdrawal_induced"], figures["shirking_reported"]) == (1, 1)
    assert report["returns_text"].endswith(
        "收到退换货件4件，合计退货金额8580.00元，1件已退货退款，退款金额2860.00元，1件已换货，撤销1件，正在处理1件，"
        "回访3件，2件游客表示满意，1件游客表示不满意，1件游客反映工作人员或商家推诿责任，1件游客反映被诱导撤销。"
    )


async def test_imported_returns_carry_exchanges_referrals_and_visits(stack: Stack) -> None:
    from tests.intake.test_regions import PANLONG, XISHUANGBANNA, beijing, upload

    stack.clock.set(beijing(15, 9, 0))

    def row(n: int, state: str, **more: Any) -> dict[str, Any]:
        return {
            "external_id": f"TH-{n}",
            "region_code": PANLONG,
            "merchant_name": "昆明某旅游购物店",
            "goods": "翡翠手镯",
            "amount_fen": 280_000,
            "requested_at": beijing(9, 10, n).isoformat(),
            "state": state,
            "concluded_at": beijing(9, 16, n).isoformat(),
            **more,
        }

    visited = {"visited_at": beijing(10, 9, 0).isoformat(), "visit_satisfied": "是"}
    rows = [
        row(1, "exchanged", **visited),
        row(2, "referred", referred_to_region=XISHUANGBANNA, referred_to="西双版纳游客购物退货监理中心"),
        row(3, "refunded", **visited, shirking_reported="true"),
        # Bad rows: an exchange with a refund, a referral nowhere or to the district itself, a visit before the
        # conclusion or without its time, an induced withdrawal of a request that was refunded.
        row(4, "exchanged", amount_refunded_fen=280_000),
        row(5, "referred"),
        row(6, "referred", referred_to_region=PANLONG),
        row(7, "refunded", visited_at=beijing(9, 12, 0).isoformat(), visit_satisfied=True),
        row(8, "refunded", visit_satisfied=True),
        row(9, "refunded", **visited, withdrawal_induced=True),
        row(10, "refunded", referred_to_region=XISHUANGBANNA),
    ]
    result = await upload(stack, "returns", rows)
    assert result["imported"] == 3
    assert [(b["line"], b["code"]) for b in result["bad"]] == [
        (4, "bad_amount"),
        (5, "unknown_region"),
        (6, "bad_row"),
        (7, "timestamps_out_of_order"),
        (8, "missing"),
        (9, "bad_row"),
        (10, "bad_row"),
    ]
    listed = {r["receipt_no"]: r for r in await queue(stack, official(PANLONG))}
    assert listed["TH-1"]["state"] == "exchanged" and listed["TH-1"]["amount_refunded_fen"] == 0
    assert listed["TH-1"]["visit"]["satisfied"] is True and listed["TH-1"]["history"][-1]["action"] == "visited"
    referred = listed["TH-2"]
    assert (referred["referred_to_region"], referred["referred_to"]) == (XISHUANGBANNA, "西双版纳游客购物退货监理中心")
    assert "不属于盘龙区辖区" in referred["history"][-1]["note"]
    assert listed["TH-3"]["visit"]["shirking_reported"] is True
    report = (
        await stack.clients["intake"].get(
            "/v1/reports/complaints",
            headers=stack.as_(official(PANLONG)),
            params={"region_code": PANLONG, "from": "2021-01-08", "to": "2021-01-14"},
        )
    ).json()
    assert (report["returns"]["received"], report["returns"]["amount_fen"]) == (2, 280_000)  # the exchange is not
    assert (report["returns"]["exchanged"], report["returns"]["referred"]) == (1, 1)
    # Every request visited and satisfied, but one tourist reported shirking: said, not "无…推诿".
    assert report["returns_text"] == (
        "2021年1月8日—1月14日，“一机游”退换货处置平台收到退换货件2件，合计退货金额2800.00元，"
        "均由区指挥中心督促商家与游客积极沟通协商处理，游客均表示满意，1件已退货退款，退款金额2800.00元，1件已换货，"
        "1件游客反映工作人员或商家推诿责任。"
        "现场受理辖区外购物的退货问题1件，购买地在西双版纳傣族自治州，不属于本辖区，已转当地处理。"
    )
