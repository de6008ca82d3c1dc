"""A complaint reads the same in a queue page as on its own, for every viewer: the page reads its complaints'
evidence counts, pending extensions, open supervision notices and possible links in the page's own statement,
the complaint on its own in a second one; neither may drift from the other."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, act, phone_of, photo_png, settle_merchant, submit
from tests.support import Stack

ALICE, MALLORY = consumer("usr_ALICE"), consumer("usr_MALLORY")
STAFF, CITY, PROVINCE = merchant_staff(HOTEL), official(SANYA), official("460000")


async def get(stack: Stack, who: Any, path: str, **params: Any) -> Any:
    response = await stack.clients["intake"].get(path, headers=stack.as_(who), params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_complaint_reads_the_same_in_the_queue_as_on_its_own(stack: Stack) -> None:
    await settle_merchant(stack)
    # Mallory files first with Alice's phone and story; Alice's own complaint is then flagged as possibly linked.
    first = await submit(stack, MALLORY, contact_phone=phone_of(ALICE.subject))
    stack.clock.advance(minutes=20)
    flagged = await submit(stack, ALICE)
    # Alice's has two photos (one removed again), a pending extension and an open supervision notice.
    for name in ("room.png", "door.png"):
        uploaded = await stack.clients["intake"].post(
            f"/v1/complaints/{flagged['id']}/evidence",
            headers=stack.as_(ALICE),
            files={"file": (name, photo_png(), "image/png")},
        )
        assert uploaded.status_code == 201, uploaded.text
    removed = await stack.clients["intake"].delete(
        f"/v1/complaints/{flagged['id']}/evidence/{uploaded.json()['id']}", headers=stack.as_(ALICE)
    )
    assert removed.status_code == 204, removed.text
    await act(stack, STAFF, flagged["id"], "extension-requests", {"extend_hours": 72, "reason": "需等待调取监控"})
    await act(stack, PROVINCE, flagged["id"], "supervision-notices", {"note": "请核实", "reply_within_hours": 24})
    plain = await submit(stack, consumer("usr_CAROL"))

    for who in (ALICE, MALLORY, STAFF, CITY, PROVINCE, ADMIN):
        page = (await get(stack, who, "/v1/complaints"))["items"]
        assert page, who
        for item in page:
            assert item == await get(stack, who, f"/v1/complaints/{item['id']}"), (who, item["id"])

    seen = {
        "alice": await get(stack, ALICE, f"/v1/complaints/{flagged['id']}"),
        "staff": await get(stack, STAFF, f"/v1/complaints/{flagged['id']}"),
        "city": await get(stack, CITY, f"/v1/complaints/{flagged['id']}"),
        "province": await get(stack, PROVINCE, f"/v1/complaints/{flagged['id']}"),
    }
    assert {who: out["evidence_count"] for who, out in seen.items()} == dict.fromkeys(seen, 1)
    # The flag is the officials' business; the notice is the city's to answer; the extension the province's.
    assert seen["alice"]["possible_links"] == [] and seen["staff"]["possible_links"] == []
    [link] = seen["city"]["possible_links"]
    assert (link["complaint_id"], link["state"]) == (first["id"], "suggested")
    assert "link-decisions" in seen["city"]["actions"] and "supervision-replies" in seen["city"]["actions"]
    assert "extension-decisions" in seen["province"]["actions"]
    assert "extension-requests" not in seen["staff"]["actions"]  # one is pending
    assert "supervision-notices" not in seen["province"]["actions"]  # one is open
    # A complaint with none of it reads as such, in the page and on its own.
    alone = await get(stack, CITY, f"/v1/complaints/{plain['id']}")
    assert (alone["evidence_count"], alone["possible_links"]) == (0, [])
    assert {"extension-requests", "link-decisions"} & set(alone["actions"]) == {"extension-requests"}
