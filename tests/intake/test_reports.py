"""The weekly report of seeds/004: minutes 6, 3, 7, 7, 12 and 44 make 1 h 19 min, on average 13.16 (truncated)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, official
from tests.factories import act, settle_merchant, submit
from tests.support import Stack

SEED_MINUTES = [6, 3, 7, 7, 12, 44]


async def report(stack: Stack, who, expect: int = 200, **params: str) -> dict:  # type: ignore[no-untyped-def]
    response = await stack.clients["intake"].get("/v1/reports/complaints", headers=stack.as_(who), params=params)
    assert response.status_code == expect, response.text
    return response.json()


async def test_the_weekly_report_counts_handling_time_as_the_command_center_does(stack: Stack) -> None:
    await settle_merchant(stack)
    for n, minutes in enumerate(SEED_MINUTES):
        c = await submit(stack, consumer(f"usr_TOURIST{n}"),
                         description=f"第{n + 1}件：旅行社强制购物，导游态度恶劣，要求退还团费差价。")
        await act(stack, official(SANYA), c["id"], "assignments", {"kind": "unit"})
        # 20 seconds past the minute: a report counts whole minutes, so they must not round up.
        stack.clock.advance(timedelta(minutes=minutes, seconds=20))
        await act(stack, official(SANYA), c["id"], "resolutions",
                  {"outcome": "mediated", "at_fault": "merchant", "amount_refunded_fen": 10_000 * (n + 1)})
        stack.clock.advance(timedelta(minutes=1))
    alice = consumer()
    gone = await submit(stack, alice, description="已与旅行社协商一致，撤销本次投诉，谢谢工作人员。")
    await act(stack, alice, gone["id"], "withdrawals", {"reason": "已协商一致"})
    day = stack.clock.now().date().isoformat()

    r = await report(stack, official(SANYA), region_code=SANYA, **{"from": day, "to": day})
    assert (r["received"], r["valid"], r["withdrawn"], r["not_accepted"]) == (7, 6, 1, 0)
    assert [h["minutes"] for h in r["handled"]] == SEED_MINUTES
    assert r["handling_time"] == {"complaints": 6, "total_minutes": 79, "total_text": "1小时19分钟",
                                  "average_minutes": "13.16", "average_text": "13.16分钟"}
    assert "有效投诉件6件，办结总时长1小时19分钟，平均办结时长13.16分钟。" in r["text"]
    assert r["text"].count("办结时长") == 7 and "办结时长44分钟" in r["text"]
    assert r["amount_refunded_fen"] == 10_000 * sum(range(1, 7))
    assert r["by_channel"] == [{"key": "wechat_miniprogram", "label": "微信小程序", "count": 7}]
    assert [(m["label"], m["count"]) for m in r["top_merchants"]] == [("三亚湾海景酒店", 7)]
    assert [(u["label"], u["count"]) for u in r["by_handling_unit"]] == [
        ("三亚市旅游和文化广电体育局", 6), ("三亚湾海景酒店", 1)]
    # Accepted at once; the 44-minute one missed the 30-minute disposal deadline, the rest met it.
    assert r["sla"]["accepted_within_deadline"] == 1.0
    assert r["sla"]["disposed_within_deadline"] == round(5 / 6, 4)

    province = await report(stack, ADMIN, region_code="460000", **{"from": day, "to": day})
    assert province["received"] == 7 and province["region_name"]
    elsewhere = await report(stack, official(HAIKOU), region_code=HAIKOU, **{"from": day, "to": day})
    assert elsewhere["received"] == 0 and elsewhere["handling_time"]["average_text"] == "0.00分钟"


async def test_bad_report_requests_are_refused_with_a_reason(stack: Stack) -> None:
    week = {"from": "2021-01-08", "to": "2021-01-14"}
    backwards = await report(stack, ADMIN, 422, region_code=SANYA, **{"from": "2021-01-14", "to": "2021-01-08"})
    assert backwards["code"] == "bad_period" and "before it starts" in backwards["detail"]
    too_long = await report(stack, ADMIN, 422, region_code=SANYA, **{"from": "2020-01-01", "to": "2021-06-30"})
    assert too_long["code"] == "bad_period" and "at most 366 days" in too_long["detail"]
    assert (await report(stack, ADMIN, 422, region_code="999999", **week))["code"] == "unknown_region"
    assert (await report(stack, ADMIN, 422, region_code=SANYA, **{"from": "2021-13-01", "to": "2021-01-14"})
            )["code"] == "validation_failed"
    for who, region in ((consumer(), SANYA), (official(HAIKOU), SANYA), (official(SANYA), "460000")):
        assert (await report(stack, who, 403, region_code=region, **week))["code"] == "report_not_allowed"


async def test_the_report_as_csv_opens_in_a_spreadsheet(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, consumer())
    stack.clock.advance(timedelta(minutes=6))
    await act(stack, official(SANYA), c["id"], "resolutions", {"outcome": "mediated", "at_fault": "merchant"})
    day = stack.clock.now().date().isoformat()
    response = await stack.clients["intake"].get("/v1/reports/complaints", headers=stack.as_(official(SANYA)),
                                                 params={"region_code": SANYA, "from": day, "to": day, "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert f'filename="complaints-{SANYA}-{day}-{day}.csv"' in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert ["平均办结时长", "6.00分钟"] in rows and ["办结总时长", "6分钟"] in rows
    header = rows.index(["序号", "投诉编号", "渠道", "被投诉商户", "处理单位", "办结时长（分钟）"])
    assert rows[header + 1] == ["1", c["id"], "微信小程序", "三亚湾海景酒店", "三亚湾海景酒店", "6"]
