"""The weekly report of seeds/004: minutes 6, 3, 7, 7, 12 and 44 make 1 h 19 min, on average 13.16 (truncated)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from html import escape

from openpyxl import load_workbook

from services.intake.report_formats import XLSX
from services.intake.reports import DEFINITIONS
from shared.clock import SHANGHAI
from shared.contracts.identity import Identity, Role
from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, official
from tests.factories import HOTEL, act, settle_merchant, submit
from tests.support import Stack

SEED_MINUTES = [6, 3, 7, 7, 12, 44]


async def report(stack: Stack, who, expect: int = 200, **params: str) -> dict:  # type: ignore[no-untyped-def]
    response = await stack.clients["intake"].get("/v1/reports/complaints", headers=stack.as_(who), params=params)
    assert response.status_code == expect, response.text
    return response.json()


async def replay_week(stack: Stack, *, other_channels: bool = False) -> str:
    """Seeds/004's six handled complaints (6, 3, 7, 7, 12, 44 minutes) and one withdrawn; with
    `other_channels`, also its 12345 hotline case and two partner platform (智旅通) cases still being
    handled, and three returns worth 42,565.00 yuan. Returns the day."""
    await settle_merchant(stack)
    if other_channels:
        # The hotline call keyed in by Sanya's official; the partner platform's cases pushed by the partner.
        zhilvtong = Identity(subject="ptn_ZHILVTONG", role=Role.partner, display_name="智旅通")
        for n, (who, channel) in enumerate(
            ((official(SANYA), "hotline_12345"), (zhilvtong, "partner"), (zhilvtong, "partner"))
        ):
            c = await submit(
                stack,
                who,
                channel=channel,
                contact_phone=f"1390000111{n}",
                description=f"{channel}转来：旅行社未按合同安排行程，要求退还差价。",
            )
            await act(stack, official(SANYA), c["id"], "assignments", {"kind": "unit"})
        for n, amount in enumerate((1_500_000, 1_500_000, 1_256_500)):
            r = await stack.clients["intake"].post(
                "/v1/returns",
                headers=stack.as_(consumer(f"usr_SH{n}")),
                json={
                    "region_code": SANYA,
                    "merchant_id": HOTEL,
                    "goods": "银饰品",
                    "receipt_no": f"R{n}",
                    "purchased_on": stack.clock.now().date().isoformat(),
                    "amount_fen": amount,
                    "custom_made": False,
                },
            )
            assert r.status_code == 201, r.text
    for n, minutes in enumerate(SEED_MINUTES):
        c = await submit(
            stack,
            consumer(f"usr_TOURIST{n}"),
            description=f"第{n + 1}件：旅行社强制购物，导游态度恶劣，要求退还团费差价。",
        )
        await act(stack, official(SANYA), c["id"], "assignments", {"kind": "unit"})
        # 20 seconds past the minute: a report counts whole minutes, so they must not round up.
        stack.clock.advance(timedelta(minutes=minutes, seconds=20))
        await act(
            stack,
            official(SANYA),
            c["id"],
            "resolutions",
            {"outcome": "mediated", "at_fault": "merchant", "amount_refunded_fen": 10_000 * (n + 1)},
        )
        stack.clock.advance(timedelta(minutes=1))
    alice = consumer()
    gone = await submit(stack, alice, description="已与旅行社协商一致，撤销本次投诉，谢谢工作人员。")
    await act(stack, alice, gone["id"], "withdrawals", {"reason": "已协商一致"})
    return stack.clock.now().date().isoformat()


async def test_the_weekly_report_counts_handling_time_as_the_command_center_does(stack: Stack) -> None:
    day = await replay_week(stack)
    r = await report(stack, official(SANYA), region_code=SANYA, **{"from": day, "to": day})
    assert (r["received"], r["valid"], r["withdrawn"], r["not_accepted"]) == (7, 6, 1, 0)
    assert [h["minutes"] for h in r["handled"]] == SEED_MINUTES
    assert r["handling_time"] == {
        "complaints": 6,
        "total_minutes": 79,
        "total_text": "1小时19分钟",
        "average_minutes": "13.16",
        "average_text": "13.16分钟",
    }
    # Per named source, the region's sources that had none first; consecutive complaints alike in one item.
    y, m, d = (int(part) for part in day.split("-"))
    assert r["text"] == (
        f"{y}年{m}月{d}日，“海南放心游”支付宝小程序、12345市长热线、12301平台均无涉旅投诉件。"
        "“海南放心游”微信小程序涉旅投诉件6件，6件投诉三亚湾海景酒店，处理单位：三亚市旅游和文化广电体育局，"
        "办结时长分别是6分钟、3分钟、7分钟、7分钟、12分钟、44分钟。"
        "有效投诉件6件，办结总时长1小时19分钟，平均办结时长13.16分钟。"
    )
    assert r["by_source"] == [{"channel": "wechat_miniprogram", "source": "“海南放心游”微信小程序", "count": 6}]
    assert r["definitions"]["valid"].startswith("有效投诉件：") and "截断" in r["definitions"]["average"]
    assert r["amount_refunded_fen"] == 10_000 * sum(range(1, 7))
    assert r["by_channel"] == [{"key": "wechat_miniprogram", "label": "微信小程序", "count": 7}]
    assert r["by_day"] == [{"day": day, "channel": "wechat_miniprogram", "count": 7}]
    assert [(m["label"], m["count"]) for m in r["top_merchants"]] == [("三亚湾海景酒店", 7)]
    # The unit answers for every complaint of the week, the withdrawn one (left with the hotel) too.
    assert [(u["label"], u["count"]) for u in r["by_handling_unit"]] == [("三亚市旅游和文化广电体育局", 7)]
    # Accepted at once; the 44-minute one missed the 30-minute disposal deadline, the rest met it.
    assert r["sla"]["accepted_within_deadline"] == 1.0
    assert r["sla"]["disposed_within_deadline"] == round(5 / 6, 4)

    province = await report(stack, ADMIN, region_code="460000", **{"from": day, "to": day})
    assert province["received"] == 7 and province["region_name"]
    elsewhere = await report(stack, official(HAIKOU), region_code=HAIKOU, **{"from": day, "to": day})
    assert elsewhere["received"] == 0 and elsewhere["handling_time"]["average_text"] == "0.00分钟"


async def test_an_open_complaint_reads_as_forwarded_to_its_unit_whoever_holds_it(stack: Stack) -> None:
    """seeds/004: "已转区文化和旅游局督促企业按要求及时处理", with the merchant or with the unit, by the unit's name."""
    await settle_merchant(stack)
    with_merchant = await submit(stack, consumer("usr_TOURIST1"), description="酒店前台拒绝退还押金，要求尽快退还。")
    with_unit = await submit(stack, consumer("usr_TOURIST2"), description="旅行社未按合同安排行程，要求退还差价。")
    await act(stack, official(SANYA), with_unit["id"], "assignments", {"kind": "unit"})
    assert with_merchant["assignee"]["kind"] == "merchant"
    day = stack.clock.now().date().isoformat()
    r = await report(stack, official(SANYA), region_code=SANYA, **{"from": day, "to": day})
    forwarded = "投诉三亚湾海景酒店，已转三亚市旅游和文化广电体育局督促企业按要求及时处理"
    assert f"“海南放心游”微信小程序涉旅投诉件2件，2件{forwarded}。" in r["text"]
    assert "办结" not in r["text"].split("有效投诉件")[0]
    assert r["valid"] == 0


async def test_bad_report_requests_are_refused_with_a_reason(stack: Stack) -> None:
    week = {"from": "2021-01-08", "to": "2021-01-14"}
    backwards = await report(stack, ADMIN, 422, region_code=SANYA, **{"from": "2021-01-14", "to": "2021-01-08"})
    # In Chinese by default, with the values in place (shared/i18n.py); the same code in every language.
    assert (
        backwards["code"] == "bad_period"
        and backwards["detail"] == "截止日期（2021-01-08）早于起始日期（2021-01-14）。"
    )
    too_long = await report(stack, ADMIN, 422, region_code=SANYA, **{"from": "2020-01-01", "to": "2021-06-30"})
    assert too_long["code"] == "bad_period" and "最多统计 366 天" in too_long["detail"]
    assert (await report(stack, ADMIN, 422, region_code="999999", **week))["code"] == "unknown_region"
    assert (await report(stack, ADMIN, 422, region_code=SANYA, **{"from": "2021-13-01", "to": "2021-01-14"}))[
        "code"
    ] == "validation_failed"
    for who, region in ((consumer(), SANYA), (official(HAIKOU), SANYA), (official(SANYA), "460000")):
        assert (await report(stack, who, 403, region_code=region, **week))["code"] == "report_not_allowed"


async def test_the_report_as_csv_opens_in_a_spreadsheet(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, consumer())
    stack.clock.advance(timedelta(minutes=6))
    await act(stack, official(SANYA), c["id"], "resolutions", {"outcome": "mediated", "at_fault": "merchant"})
    day = stack.clock.now().date().isoformat()
    response = await stack.clients["intake"].get(
        "/v1/reports/complaints",
        headers=stack.as_(official(SANYA)),
        params={"region_code": SANYA, "from": day, "to": day, "format": "csv"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert f'filename="complaints-{SANYA}-{day}-{day}.csv"' in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert ["平均办结时长", "6.00分钟"] in rows and ["办结总时长", "6分钟"] in rows
    terms = rows[rows.index(["统计口径"]) + 1 :]
    assert [row[0] for row in terms] == list(DEFINITIONS.values())
    header = rows.index(["序号", "案件编号", "来源", "被投诉商户", "处理单位", "办结时长（分钟）"])
    assert rows[header + 1] == [
        "1",
        c["case_number"],
        "“海南放心游”微信小程序",
        "三亚湾海景酒店",
        "三亚市旅游和文化广电体育局",
        "6",
    ]


async def test_the_week_as_an_excel_workbook_and_a_page_to_print(stack: Stack) -> None:
    day = await replay_week(stack, other_channels=True)
    params = {"region_code": SANYA, "from": day, "to": day}
    response = await stack.clients["intake"].get(
        "/v1/reports/complaints", headers=stack.as_(official(SANYA)), params={**params, "format": "xlsx"}
    )
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    assert f'filename="complaints-{SANYA}-{day}-{day}.xlsx"' in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["汇总", "办结明细", "分项统计", "统计口径"]
    terms = [row[0] for row in book["统计口径"].iter_rows(min_row=2, values_only=True)]
    assert any(str(t).startswith("有效投诉件：") for t in terms) and len(terms) == len(DEFINITIONS)
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True) if row[0]}
    # 有效投诉件 counts the concluded ones, as the bureau does: the three still being handled are not.
    assert (summary["收到投诉件"], summary["有效投诉件"], summary["撤销"]) == (10, 6, 1)
    assert (summary["退换货件"], summary["合计退货金额（元）"]) == (3, "42565.00")
    assert (summary["办结总时长"], summary["平均办结时长"]) == ("1小时19分钟", "13.16分钟")
    assert any("平均办结时长13.16分钟" in str(row[0]) for row in book["汇总"].iter_rows(values_only=True))
    handled = list(book["办结明细"].iter_rows(min_row=2, values_only=True))
    assert [row[5] for row in handled[:6]] == SEED_MINUTES  # numbers, so the sheet can sum them
    assert handled[6][5] == "=SUM(F2:F7)" and handled[7][5] == "=TRUNC(AVERAGE(F2:F7),2)"
    counts = list(book["分项统计"].iter_rows(values_only=True))
    by_source = counts[counts.index(("来源平台（涉旅投诉件）", "件数")) + 1 :]
    assert by_source[:5] == [  # the region's sources in its order, then others (a partner by its name)
        ("“海南放心游”微信小程序", 6),
        ("12345市长热线", 1),
        ("智旅通", 2),
        ("“海南放心游”支付宝小程序", 0),
        ("12301平台", 0),
    ]
    counts = counts[counts.index(("渠道", "件数")) :]
    assert [row for row in counts if row[0] in ("微信小程序", "合作平台", "12345市长热线")] == [
        ("微信小程序", 7),
        ("合作平台", 2),
        ("12345市长热线", 1),
    ]
    assert ("三亚湾海景酒店", 10) in counts
    as_json = await report(stack, official(SANYA), **params)
    assert [(c["label"], c["count"]) for c in as_json["by_channel"]] == [
        ("微信小程序", 7),
        ("合作平台", 2),
        ("12345市长热线", 1),
    ]

    page = await stack.clients["intake"].get(
        "/v1/reports/complaints", headers=stack.as_(official(SANYA)), params={**params, "format": "html"}
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<title>三亚市旅游投诉处理情况" in html and "办结总时长1小时19分钟，平均办结时长13.16分钟" in html
    assert "@media print" in html and "<svg class=bars" in html and "http" not in html.split("<body>")[1]
    # What each figure counts, on the page as in the JSON; the deadlines' labels from the region's deadlines.
    assert "<h2>统计口径</h2>" in html and all(f"<li>{escape(d)}</li>" in html for d in DEFINITIONS.values())
    assert "<td>3分钟内受理占比</td>" in html and "<td>48小时内办结占比</td>" in html


async def test_public_figures_need_no_login_and_carry_no_personal_data(stack: Stack) -> None:
    await replay_week(stack)
    month = stack.clock.now().astimezone(SHANGHAI).strftime("%Y-%m")
    response = await stack.clients["gateway"].get(
        "/v1/public/figures", params={"region_code": "460000", "from": month, "to": month}
    )
    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["region_name"] == "海南省" and figures["merchants_settled"] == 1
    assert figures["months"] == [
        {"month": month, "received": 7, "resolved": 6, "average_handling_minutes": "13.16", "compensation_paid_fen": 0}
    ]
    body = response.text
    assert "usr_" not in body and "cmp_" not in body and "138" not in body and "旅行社" not in body
    for params, code in (
        (dict(region_code="460000", **{"from": "2026-05", "to": "2026-01"}), "bad_period"),
        (dict(region_code="460000", **{"from": "2024-01", "to": "2026-01"}), "bad_period"),
        (dict(region_code="999999", **{"from": "2026-01", "to": "2026-01"}), "unknown_region"),
        (dict(region_code="460000", **{"from": "2026-13", "to": "2026-13"}), "bad_period"),
    ):
        refused = await stack.clients["gateway"].get("/v1/public/figures", params=params)
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text


# What OWASP's CSV-injection guidance names: text a spreadsheet would take for a formula (or a DDE call).
FORMULA_NAMES = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "=1+2|cmd", "-2+3"]


async def test_merchant_names_that_look_like_formulas_are_text_in_every_download(stack: Stack) -> None:
    for n, name in enumerate(FORMULA_NAMES):
        c = await submit(
            stack,
            consumer(f"usr_FORMULA{n}"),
            merchant_id=None,
            merchant_name=name,
            description=f"第{n + 1}家：商家收费与标价不符，拒绝退还多收的费用，要求退款。",
        )
        stack.clock.advance(timedelta(minutes=3))
        await act(stack, official(SANYA), c["id"], "resolutions", {"outcome": "mediated", "at_fault": "merchant"})
    day = stack.clock.now().date().isoformat()
    params = {"region_code": SANYA, "from": day, "to": day}
    get = stack.clients["intake"].get
    as_csv = await get("/v1/reports/complaints", headers=stack.as_(official(SANYA)), params={**params, "format": "csv"})
    rows = list(csv.reader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
    header = rows.index(["序号", "案件编号", "来源", "被投诉商户", "处理单位", "办结时长（分钟）"])
    assert [row[3] for row in rows[header + 1 : header + 1 + len(FORMULA_NAMES)]] == ["'" + n for n in FORMULA_NAMES]
    counted = {row[0] for row in rows if len(row) == 2}
    assert {"'" + n for n in FORMULA_NAMES} <= counted and not counted & set(FORMULA_NAMES)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    as_xlsx = await get(
        "/v1/reports/complaints", headers=stack.as_(official(SANYA)), params={**params, "format": "xlsx"}
    )
    book = load_workbook(io.BytesIO(as_xlsx.content))
    handled = list(book["办结明细"].iter_rows(min_row=2, max_row=1 + len(FORMULA_NAMES)))
    assert [row[3].value for row in handled] == FORMULA_NAMES  # as given, but text: the sheet shows, never runs it
    assert all(row[3].data_type == "s" and row[3].quotePrefix for row in handled)
    assert [row[5].value for row in handled] == [3] * len(FORMULA_NAMES) and handled[0][5].data_type == "n"
    formulas = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert [cell.value for cell in formulas] == [
        f"=SUM(F2:F{len(FORMULA_NAMES) + 1})",
        f"=TRUNC(AVERAGE(F2:F{len(FORMULA_NAMES) + 1}),2)",
    ]


async def test_the_deadline_labels_are_the_regions_own_deadlines(databases, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A region with deadlines of its own (regions.json `sla`, the rest inherited): the report carries them and
    every format labels its shares with them, not with the defaults."""
    from services.intake.config import DATA_DIR
    from tests.support import running_stack

    doc = json.loads((DATA_DIR / "regions.json").read_text(encoding="utf-8"))
    doc["regions"][SANYA]["sla"] = {"accept_seconds": 300, "settle_seconds": 86400}
    custom = tmp_path / "regions.json"
    custom.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    async with running_stack(databases, tmp_path, overrides={"intake": {"regions_file": custom}}) as s:
        day = s.clock.now().date().isoformat()
        params = {"region_code": SANYA, "from": day, "to": day}
        r = await report(s, official(SANYA), **params)
        sla = {k: v for k, v in r["sla"].items() if k.endswith("_seconds")}
        assert sla == {"accept_seconds": 300, "dispose_seconds": 1800, "settle_seconds": 86400}
        as_csv = await s.clients["intake"].get(
            "/v1/reports/complaints", headers=s.as_(official(SANYA)), params={**params, "format": "csv"}
        )
        labels = [row[0] for row in csv.reader(io.StringIO(as_csv.text.lstrip("\ufeff"))) if row]
        assert ["5分钟内受理占比", "30分钟内处置占比", "24小时内办结占比"] == [x for x in labels if x.endswith("占比")]
