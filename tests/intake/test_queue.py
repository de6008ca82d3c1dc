"""The staff queue: late complaints first by how late, totals, every page by key, search and filters; and the
complainant's contact in full for the official handling the case, each reveal recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, act, merchant_id, settle_merchant, submit, timeline_kinds
from tests.support import Databases, Stack, running_stack

SANYA_OFFICIAL = official(SANYA)
PROVINCE = official("460000", subject="usr_PROVINCE")
STAFF = merchant_staff(HOTEL)
SHOP = merchant_id("SHOP")


async def listing(stack: Stack, who: Any, **params: Any) -> dict[str, Any]:
    response = await stack.clients["intake"].get("/v1/complaints", params=params, headers=stack.as_(who))
    assert response.status_code == 200, response.text
    return response.json()


async def every_page(stack: Stack, who: Any, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = await listing(stack, who, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_late_complaints_come_first_by_lateness_and_every_page_is_reachable(stack: Stack) -> None:
    await settle_merchant(stack)
    late = []
    for n in range(3):  # answered by nobody: their 30-minute deadlines pass 5 minutes apart
        late.append((await submit(stack, consumer(f"usr_LATE{n}")))["id"])
        stack.clock.advance(minutes=5)
    stack.clock.advance(minutes=26)
    assert await stack.run_deadlines() == 3
    fresh = [(await submit(stack, consumer(f"usr_NEW{n}")))["id"] for n in range(52)]

    first = await listing(stack, SANYA_OFFICIAL, limit=50)
    assert first["total"] == 55 and first["total_is_lower_bound"] is False and len(first["items"]) == 50
    assert [c["id"] for c in first["items"][:3]] == late  # the longest late first
    assert all(c["deadlines"]["late_since"] is None for c in first["items"][3:])
    everything = await every_page(stack, SANYA_OFFICIAL, limit=20)
    assert [c["id"] for c in everything] == late + fresh  # then the nearest deadline first
    second = await listing(stack, SANYA_OFFICIAL, limit=50, cursor=first["next_cursor"])
    assert second["total"] is None and len(second["items"]) == 5 and second["next_cursor"] is None

    counts = (await stack.clients["intake"].get("/v1/complaints/counts", headers=stack.as_(SANYA_OFFICIAL))).json()
    assert counts["open"] == 55 and counts["overdue"] == 3
    assert counts["overdue_by_state"] == {"escalated": 3}
    overdue = await listing(stack, STAFF, overdue="true")
    assert overdue["total"] == 3 and [c["id"] for c in overdue["items"]] == late


async def test_the_total_is_counted_up_to_the_cap_and_says_when_there_are_more(
    databases: Databases, tmp_path: Path
) -> None:
    async with running_stack(databases, tmp_path, overrides={"intake": {"queue_total_cap": 3}}) as stack:
        await settle_merchant(stack)
        for n in range(3):
            await submit(stack, consumer(f"usr_CAP{n}"))
        exact = await listing(stack, SANYA_OFFICIAL, limit=2)
        assert exact["total"] == 3 and exact["total_is_lower_bound"] is False  # as many as the cap: exact
        assert len(await every_page(stack, SANYA_OFFICIAL, limit=2)) == 3

        await submit(stack, consumer("usr_CAP3"))
        capped = await listing(stack, SANYA_OFFICIAL, limit=2)
        assert capped["total"] == 3 and capped["total_is_lower_bound"] is True  # "3+": counting stopped there
        later = await listing(stack, SANYA_OFFICIAL, limit=2, cursor=capped["next_cursor"])
        assert later["total"] is None and later["total_is_lower_bound"] is None
        assert len(await every_page(stack, SANYA_OFFICIAL, limit=2)) == 4  # every complaint is still reachable
        narrowed = await listing(stack, SANYA_OFFICIAL, overdue="true")
        assert narrowed["total"] == 0 and narrowed["total_is_lower_bound"] is False  # the same filter counted


async def test_a_late_complaint_says_which_deadline_it_missed_and_since_when(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, consumer("usr_SLOW"))
    stack.clock.advance(minutes=45)
    await stack.run_deadlines()
    seen = (await stack.clients["intake"].get(f"/v1/complaints/{c['id']}", headers=stack.as_(SANYA_OFFICIAL))).json()
    deadlines = seen["deadlines"]
    assert deadlines["missed"] == [{"kind": "dispose", "due_at": c["deadlines"]["dispose_by"].replace("+00:00", "Z")}]
    assert deadlines["late_since"] == deadlines["missed"][0]["due_at"]
    assert deadlines["next_deadline"] == "settle"  # still to meet, and not late
    resolved = await act(
        stack,
        SANYA_OFFICIAL,
        c["id"],
        "resolutions",
        {"outcome": "mediated", "at_fault": "merchant", "amount_refunded_fen": 0},
    )
    assert resolved["deadlines"]["late_since"] is None and resolved["deadlines"]["missed"][0]["kind"] == "dispose"
    counts = (await stack.clients["intake"].get("/v1/complaints/counts", headers=stack.as_(SANYA_OFFICIAL))).json()
    assert counts["overdue"] == 0 and counts["open"] == 0


async def test_a_cursor_stays_put_when_new_complaints_arrive_between_pages(stack: Stack) -> None:
    await settle_merchant(stack)
    ids = []
    for n in range(5):
        ids.append((await submit(stack, consumer(f"usr_K{n}")))["id"])
        stack.clock.advance(minutes=1)
    first = await listing(stack, SANYA_OFFICIAL, order="newest", limit=2)
    assert [c["id"] for c in first["items"]] == [ids[4], ids[3]]
    await submit(stack, consumer("usr_K9"))  # arrives while the official reads page one
    rest = await listing(stack, SANYA_OFFICIAL, order="newest", limit=10, cursor=first["next_cursor"])
    assert [c["id"] for c in rest["items"]] == [ids[2], ids[1], ids[0]]  # neither repeated nor skipped
    # A consumer's own list is newest first, page by page alike.
    mine = await listing(stack, consumer("usr_K2"))
    assert [c["id"] for c in mine["items"]] == [ids[2]]
    other_order = await stack.clients["intake"].get(
        "/v1/complaints", params={"cursor": first["next_cursor"]}, headers=stack.as_(SANYA_OFFICIAL)
    )
    assert other_order.status_code == 422 and other_order.json()["code"] == "invalid_cursor"


async def test_search_finds_by_phone_merchant_and_text_and_each_filter_narrows(stack: Stack) -> None:
    await settle_merchant(stack)
    await settle_merchant(stack, SHOP, name="椰梦长廊旅游商店", industry="shopping")
    hotel = await submit(stack, consumer("usr_S1"), contact_phone="13900001111")
    stack.clock.advance(hours=30)
    shop = await submit(
        stack,
        consumer("usr_S2"),
        merchant_id=SHOP,
        industry="shopping",
        description="导游带到商店强制购物，买的珍珠项链是假货，要求退货退款。",
    )
    hotline = await submit(
        stack,
        SANYA_OFFICIAL,
        channel="hotline_12345",
        contact_phone="13900002222",
        description="游客来电：酒店房间有蟑螂，要求换房并道歉。",
    )

    def ids(page: dict[str, Any]) -> set[str]:
        return {c["id"] for c in page["items"]}

    assert ids(await listing(stack, SANYA_OFFICIAL, q="13900001111")) == {hotel["id"]}
    assert ids(await listing(stack, SANYA_OFFICIAL, q="139 0000 2222")) == {hotline["id"]}
    # Merchant staff see the phone masked: the full number finds nothing (no guessing the hidden digits).
    assert ids(await listing(stack, STAFF, q="13900001111")) == set()
    assert ids(await listing(stack, SANYA_OFFICIAL, q="椰梦")) == {shop["id"]}
    assert ids(await listing(stack, SANYA_OFFICIAL, q=SHOP)) == {shop["id"]}
    assert ids(await listing(stack, SANYA_OFFICIAL, q="蟑螂")) == {hotline["id"]}
    assert ids(await listing(stack, SANYA_OFFICIAL, q="100%_")) == set()  # wildcards are plain text
    assert ids(await listing(stack, SANYA_OFFICIAL, merchant_id=SHOP)) == {shop["id"]}
    assert ids(await listing(stack, SANYA_OFFICIAL, industry="shopping")) == {shop["id"]}
    assert ids(await listing(stack, SANYA_OFFICIAL, channel="hotline_12345")) == {hotline["id"]}
    day_one = hotel["submitted_at"][:10]  # 10:00 Shanghai: the same day there
    assert ids(await listing(stack, SANYA_OFFICIAL, received_to=day_one)) == {hotel["id"]}
    assert ids(await listing(stack, SANYA_OFFICIAL, received_from=shop["submitted_at"][:10])) == {
        shop["id"],
        hotline["id"],
    }
    assert ids(await listing(stack, SANYA_OFFICIAL, state="assigned", q="酒店")) >= {hotel["id"]}
    both = await listing(stack, SANYA_OFFICIAL, q="酒店", industry="lodging")
    assert both["total"] == len(both["items"]) == 2


async def test_the_handling_official_reveals_the_contact_and_the_supervisor_sees_who_did(stack: Stack) -> None:
    await settle_merchant(stack)
    alice = consumer("usr_CALLBACK")
    c = await submit(stack, alice, contact_phone="13812345678", contact_name="王芳")
    intake = stack.clients["intake"]
    for who in (SANYA_OFFICIAL, STAFF):
        seen = (await intake.get(f"/v1/complaints/{c['id']}", headers=stack.as_(who))).json()
        assert (seen["contact_name"], seen["contact_phone"]) == ("王*", "138****5678")
    assert (await intake.get(f"/v1/complaints/{c['id']}", headers=stack.as_(alice))).json()["contact_name"] == "王芳"

    revealed = await intake.post(
        f"/v1/complaints/{c['id']}/contact-reveals", json={"purpose": "回访"}, headers=stack.as_(SANYA_OFFICIAL)
    )
    assert revealed.status_code == 201, revealed.text
    assert (revealed.json()["contact_name"], revealed.json()["contact_phone"]) == ("王芳", "13812345678")
    assert "contact_revealed" in await timeline_kinds(stack, SANYA_OFFICIAL, c["id"])
    assert "contact_revealed" not in await timeline_kinds(stack, alice, c["id"])
    assert "contact_revealed" not in await timeline_kinds(stack, STAFF, c["id"])

    for who in (STAFF, alice):
        refused = await intake.post(f"/v1/complaints/{c['id']}/contact-reveals", headers=stack.as_(who))
        assert refused.status_code == 403 and refused.json()["code"] == "contact_reveal_not_allowed"
    elsewhere = await intake.post(f"/v1/complaints/{c['id']}/contact-reveals", headers=stack.as_(official(HAIKOU)))
    assert elsewhere.status_code == 404

    for who in (PROVINCE, ADMIN):
        records = await intake.get(f"/v1/complaints/{c['id']}/contact-reveals", headers=stack.as_(who))
        assert records.status_code == 200, records.text
        [record] = records.json()
        assert record["revealed_by"] == SANYA_OFFICIAL.subject and record["revealed_by_region"] == SANYA
        assert record["purpose"] == "回访" and "13812345678" not in records.text
    for who in (SANYA_OFFICIAL, STAFF):
        refused = await intake.get(f"/v1/complaints/{c['id']}/contact-reveals", headers=stack.as_(who))
        assert refused.status_code == 403 and refused.json()["code"] == "contact_reveals_not_allowed"
