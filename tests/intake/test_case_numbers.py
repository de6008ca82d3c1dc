"""Case numbers people can say on the phone: region-day-sequence, the day in Asia/Shanghai, counted per region
and day without gap or repeat however many submissions arrive at once; imports dated by their own receipt;
found by the list's filter as written or as read out."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from shared.contracts.complaints import normalise_case_number
from shared.contracts.identity import Identity, Role
from tests.conftest import HAIKOU, SANYA, consumer, official
from tests.factories import complaint_body, settle_merchant, submit
from tests.support import Stack

CASE_NUMBER = re.compile(r"^\d{6}-\d{8}-\d{4}$")


def _tourist(n: int) -> Identity:
    return consumer(f"usr_CASE{n:04d}")


async def test_concurrent_submissions_get_each_its_own_number_in_order_per_region_and_day(stack: Stack) -> None:
    intake = stack.clients["intake"]

    async def file(n: int, region: str) -> dict:
        # Distinct tourists and merchants' names: nothing is refused as a repeat of another.
        response = await intake.post(
            "/v1/complaints",
            headers=stack.as_(_tourist(n)),
            json=complaint_body(
                merchant_id=None,
                merchant_name=f"第{n}号商店",
                region_code=region,
                contact_phone=f"1390000{n:04d}",
                description=f"第{n}号投诉：购买的商品与宣传不符，要求退货退款，商家拒绝处理。",
            ),
        )
        assert response.status_code == 201, response.text
        return response.json()

    filed = await asyncio.gather(*(file(n, SANYA if n % 3 else HAIKOU) for n in range(36)))
    day = stack.clock.now().strftime("%Y%m%d")  # 10:00 in Shanghai: the same day as in UTC
    for region in (SANYA, HAIKOU):
        numbers = sorted(c["case_number"] for c in filed if c["region_code"] == region)
        count = sum(1 for c in filed if c["region_code"] == region)
        assert numbers == [f"{region}-{day}-{seq:04d}" for seq in range(1, count + 1)], numbers
    assert all(CASE_NUMBER.match(c["case_number"]) for c in filed)

    # What the tourist sees and what the list finds, by the number as written or read out over the phone.
    one = filed[1]
    mine = await intake.get(f"/v1/complaints/{one['id']}", headers=stack.as_(_tourist(1)))
    assert mine.json()["case_number"] == one["case_number"]
    sanya = stack.as_(official(SANYA))
    for typed in (
        one["case_number"],
        one["case_number"].replace("-", ""),
        " ".join(one["case_number"].split("-")),
        one["case_number"].translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ):
        found = await intake.get("/v1/complaints", headers=sanya, params={"case_number": typed})
        assert [c["id"] for c in found.json()["items"]] == [one["id"]], typed
    assert (await intake.get("/v1/complaints", headers=sanya, params={"case_number": "no-such-number"})).json()[
        "items"
    ] == []
    # Another region's official finds nothing: the number is no key to someone else's case.
    elsewhere = await intake.get(
        "/v1/complaints", headers=stack.as_(official(HAIKOU)), params={"case_number": one["case_number"]}
    )
    assert elsewhere.json()["items"] == []


async def test_the_day_is_shanghai_s_and_a_channel_s_receipt_dates_the_case(stack: Stack) -> None:
    await settle_merchant(stack)
    stack.clock.set(stack.clock.now().replace(hour=16, minute=30))  # 00:30 the next day in Shanghai
    late = await submit(stack, consumer("usr_LATE"), occurred_at="2026-11-20T12:00:00Z")
    assert late["case_number"] == f"{SANYA}-20261121-0001"
    # A 12345 call taken before midnight and keyed in after it is numbered on the day it was received.
    keyed = await stack.clients["intake"].post(
        "/v1/complaints",
        headers=stack.as_(official(SANYA)),
        json=complaint_body(
            channel="hotline_12345",
            occurred_at="2026-11-20T12:00:00Z",
            contact_phone="13900001111",
            received_at=(stack.clock.now() - timedelta(minutes=45)).isoformat(),
        ),
    )
    assert keyed.status_code == 201, keyed.text
    assert keyed.json()["case_number"] == f"{SANYA}-20261120-0001"


async def test_imported_work_orders_are_numbered_by_their_own_receipt(stack: Stack) -> None:
    rows = (
        "channel,external_id,region_code,merchant_name,industry,description,received_at\n"
        "hotline_12345,HX-2,460200,椰林酒店,lodging,房间与预订不符要求退差价,2026-10-03T09:00:00+08:00\n"
        "hotline_12345,HX-1,460200,椰林酒店,lodging,房间与预订不符要求退差价,2026-10-03T08:00:00+08:00\n"
        "hotline_12345,HX-3,460200,椰林酒店,lodging,房间与预订不符要求退差价,2026-10-02T23:59:00+08:00\n"
    )
    intake = stack.clients["intake"]
    response = await intake.post(
        "/v1/imports/complaints",
        headers=stack.as_(official(SANYA)),
        files={"file": ("history.csv", rows.encode(), "text/csv")},
    )
    assert response.status_code == 200 and response.json()["imported"] == 3, response.text
    numbers = {}
    for external_id in ("HX-1", "HX-2", "HX-3"):
        found = await intake.get(
            "/v1/complaints", headers=stack.as_(official(SANYA)), params={"external_id": external_id}
        )
        numbers[external_id] = found.json()["items"][0]["case_number"]
    assert numbers == {"HX-1": "460200-20261003-0001", "HX-2": "460200-20261003-0002", "HX-3": "460200-20261002-0001"}


def test_a_case_number_as_read_out_is_the_one_written() -> None:
    assert normalise_case_number("460200 20261206 0042") == "460200-20261206-0042"
    assert normalise_case_number("460200202612060042") == "460200-20261206-0042"
    assert normalise_case_number("4602002026120600421") == "460200-20261206-00421"
    assert normalise_case_number("0042") is None and normalise_case_number("") is None


async def test_a_complaint_holder_reaches_its_own_complaint_s_progress_and_nothing_else(stack: Stack) -> None:
    await settle_merchant(stack)
    mine, other = await submit(stack, consumer("usr_HOLDER")), await submit(stack, consumer("usr_OTHERONE"))
    holder = Identity(subject=f"link:{mine['id']}", role=Role.complaint_holder, complaint_id=mine["id"])
    intake = stack.clients["intake"]
    progress = await intake.get(f"/v1/complaints/{mine['id']}/progress", headers=stack.as_(holder))
    assert progress.status_code == 200 and progress.json()["case_number"] == mine["case_number"]
    for path in (
        f"/v1/complaints/{mine['id']}",
        f"/v1/complaints/{mine['id']}/timeline",
        f"/v1/complaints/{mine['id']}/evidence",
        f"/v1/complaints/{other['id']}/progress",
    ):
        assert (await intake.get(path, headers=stack.as_(holder))).status_code == 404, path
    assert (await intake.get("/v1/complaints", headers=stack.as_(holder))).status_code == 403
    withdrawn = await intake.post(f"/v1/complaints/{mine['id']}/withdrawals", headers=stack.as_(holder), json={})
    assert withdrawn.status_code == 404
    rated = await intake.post(f"/v1/complaints/{other['id']}/evaluations", headers=stack.as_(holder), json={"score": 1})
    assert rated.status_code == 404
