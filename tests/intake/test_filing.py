"""Who may file a complaint, and against whom; and a phone number typed into a form is not an identity.

Tourists file for themselves on the channel they logged in through, partners on their own channel,
officials (and admins) for their region as walk-ins or hotline calls; merchant staff never. A complaint
from another account with the same phone and story is never refused as a duplicate: it is worked, and
an official of the region confirms or dismisses the possible link the system flags.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.common import Channel
from shared.contracts.identity import Identity, Role
from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, act, complaint_body, merchant_id, phone_of, settle_merchant, submit, timeline_kinds
from tests.support import Stack

ALICE, MALLORY = consumer("usr_ALICE"), consumer("usr_MALLORY")
RIVAL = merchant_id("RIVAL")
OTA = Identity(subject="ptn_OTA", role=Role.partner, display_name="某OTA")


async def post_complaint(stack: Stack, who: Identity, **fields: Any) -> Any:
    return await stack.clients["intake"].post("/v1/complaints", headers=stack.as_(who), json=complaint_body(**fields))


async def get(stack: Stack, who: Identity, complaint_id: str) -> Any:
    return await stack.clients["intake"].get(f"/v1/complaints/{complaint_id}", headers=stack.as_(who))


# --- item 4: who may file ------------------------------------------------------------------------------
async def test_merchant_staff_may_not_file_a_complaint_on_any_channel(stack: Stack) -> None:
    await settle_merchant(stack)
    await settle_merchant(stack, RIVAL, name="三亚湾另一家酒店")
    staff = merchant_staff(RIVAL, "usr_RIVALSTAFF")
    for channel in [None, *Channel]:
        r = await post_complaint(stack, staff, channel=channel)
        assert r.status_code == 403, (channel, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "filing_not_allowed", channel
        assert "商户" in r.json()["detail"]
    # Nothing was stored: the hotel's queue is empty, and no credit event was sent for it.
    queue = await stack.clients["intake"].get("/v1/complaints", headers=stack.as_(merchant_staff(HOTEL)))
    assert queue.json()["items"] == []


async def test_an_official_files_only_into_their_own_region(stack: Stack) -> None:
    await settle_merchant(stack)
    r = await post_complaint(stack, official(HAIKOU), contact_phone="13900001111")
    assert r.status_code == 403 and r.json()["code"] == "filing_region_not_allowed", r.text
    queue = await stack.clients["intake"].get("/v1/complaints", headers=stack.as_(official(SANYA)))
    assert queue.json()["items"] == []


async def test_an_official_files_a_walk_in_or_a_hotline_call_in_their_own_region(stack: Stack) -> None:
    await settle_merchant(stack)
    walk_in = await submit(stack, official(SANYA), contact_phone="13900001111")
    assert (walk_in["state"], walk_in["channel"], walk_in["consumer_id"]) == ("assigned", "walk_in", None)
    call = await submit(
        stack,
        official(SANYA),
        channel="hotline_12345",
        contact_phone="13900002222",
        description="来电反映：酒店把海景房换成了对着停车场的房间，不肯退差价。",
    )
    assert (call["state"], call["channel"]) == ("assigned", "hotline_12345")
    # The province's official files anywhere in it; an admin as well (documented: as an official of every region).
    province = await submit(
        stack,
        official("460000"),
        contact_phone="13900003333",
        description="省局接待：游客反映酒店房型与预订不符，要求退还差价。",
    )
    assert province["region_code"] == SANYA
    by_admin = await submit(
        stack,
        ADMIN,
        contact_phone="13900004444",
        region_code=HAIKOU,
        merchant_id=None,
        merchant_name="海口某餐厅",
        industry="food",
    )
    assert by_admin["channel"] == "walk_in"
    # An official is not a mini-program, a partner platform nor a government channel's center.
    for channel in ("wechat_miniprogram", "partner", "platform_12315", "platform_12301", "douyin"):
        r = await post_complaint(stack, official(SANYA), channel=channel, contact_phone="13900005555")
        assert r.status_code == 403 and r.json()["code"] == "channel_not_allowed", (channel, r.text)


async def test_a_tourist_files_for_themselves_on_their_own_login_channel(stack: Stack) -> None:
    await settle_merchant(stack)
    r = await post_complaint(stack, ALICE, channel="hotline_12345")
    assert r.status_code == 403 and r.json()["code"] == "channel_not_allowed", r.text
    mine = await submit(stack, ALICE, channel="wechat_miniprogram")
    assert (mine["channel"], mine["consumer_id"]) == ("wechat_miniprogram", ALICE.subject)


async def test_a_partner_files_only_on_its_own_channel(stack: Stack) -> None:
    await settle_merchant(stack)
    for channel in ("walk_in", "wechat_miniprogram", "hotline_12345"):
        r = await post_complaint(stack, OTA, channel=channel, external_id=f"OTA-{channel}")
        assert r.status_code == 403 and r.json()["code"] == "channel_not_allowed", (channel, r.text)
    pushed = await submit(stack, OTA, external_id="OTA-1")
    assert pushed["channel"] == "partner"


# --- item 5: a phone number is not an identity --------------------------------------------------------
async def flagged_pair(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mallory files first with Alice's phone and story; then Alice files her own complaint."""
    await settle_merchant(stack)
    first = await submit(stack, MALLORY, contact_phone=phone_of(ALICE.subject))
    stack.clock.advance(minutes=20)
    second = await submit(stack, ALICE)
    return first, second


async def test_a_stranger_with_the_victims_phone_does_not_make_her_complaint_a_duplicate(stack: Stack) -> None:
    first, second = await flagged_pair(stack)
    assert second["state"] == "assigned"
    assert (second["not_accepted_reason"], second["duplicate_of"]) == (None, None)
    seen = await get(stack, ALICE, second["id"])
    assert seen.status_code == 200 and seen.json()["state"] == "assigned"
    mine = (await stack.clients["intake"].get("/v1/complaints", headers=stack.as_(ALICE))).json()["items"]
    assert [c["id"] for c in mine] == [second["id"]]
    # Neither tourist hears of the other, nor sees the flag; the first complaint is unchanged.
    assert second["possible_links"] == [] and second["links"] == []
    theirs = (await get(stack, MALLORY, first["id"])).json()
    assert (theirs["state"], theirs["links"], theirs["possible_links"]) == ("assigned", [], [])
    assert "possible_link" not in await timeline_kinds(stack, ALICE, second["id"])


async def test_a_possible_link_is_flagged_for_the_regions_official_who_confirms_it(stack: Stack) -> None:
    first, second = await flagged_pair(stack)
    sanya = official(SANYA)
    seen = (await get(stack, sanya, second["id"])).json()
    [flag] = seen["possible_links"]
    assert (flag["complaint_id"], flag["state"], flag["channel"]) == (first["id"], "suggested", "wechat_miniprogram")
    assert flag["reason"] == "same_phone_similar_text" and flag["similarity"] >= 0.8
    [other_side] = (await get(stack, sanya, first["id"])).json()["possible_links"]
    assert (other_side["id"], other_side["complaint_id"]) == (flag["id"], second["id"])
    assert "possible_link" in await timeline_kinds(stack, sanya, second["id"])

    # Only an official of the region (or an admin) decides.
    decision = {"link_id": flag["id"], "confirm": True, "note": "电话回访确认为同一游客"}
    await act(stack, ALICE, second["id"], "link-decisions", decision, expect=403)
    await act(stack, merchant_staff(HOTEL), second["id"], "link-decisions", decision, expect=403)
    await act(stack, official(HAIKOU), second["id"], "link-decisions", decision, expect=404)
    wrong = await stack.clients["intake"].post(
        f"/v1/complaints/{second['id']}/link-decisions",
        headers=stack.as_(sanya),
        json={**decision, "link_id": "lnk_NOPE"},
    )
    assert wrong.status_code == 404 and wrong.json()["code"] == "link_not_found"

    merged = await act(stack, sanya, second["id"], "link-decisions", decision)
    assert (merged["state"], merged["not_accepted_reason"], merged["duplicate_of"]) == (
        "not_accepted",
        "duplicate",
        first["id"],
    )
    assert [f["state"] for f in merged["possible_links"]] == ["confirmed"]
    worked = (await get(stack, sanya, first["id"])).json()
    assert worked["state"] == "assigned"
    assert [(x["complaint_id"], x["consumer_id"]) for x in worked["links"]] == [(second["id"], ALICE.subject)]
    kinds = await timeline_kinds(stack, sanya, second["id"])
    assert kinds[-2:] == ["link_confirmed", "linked"]
    assert (await get(stack, ALICE, second["id"])).status_code == 200  # still hers to see
    # The first complaint's tourist learns which case was linked, never the other account.
    theirs = (await get(stack, MALLORY, first["id"])).json()
    assert theirs["links"] == [
        {"complaint_id": second["id"], "case_number": second["case_number"], "channel": "wechat_miniprogram"}
    ]
    steps = (
        await stack.clients["intake"].get(f"/v1/complaints/{first['id']}/timeline", headers=stack.as_(MALLORY))
    ).json()
    assert ALICE.subject not in str([e["data"] for e in steps])
    assert not {"possible_link", "link_confirmed"} & {e["kind"] for e in steps}
    again = await stack.clients["intake"].post(
        f"/v1/complaints/{second['id']}/link-decisions", headers=stack.as_(sanya), json=decision
    )
    assert again.status_code == 409 and again.json()["code"] == "link_already_decided"


async def test_a_dismissed_link_changes_neither_complaint(stack: Stack) -> None:
    first, second = await flagged_pair(stack)
    sanya = official(SANYA)
    [flag] = (await get(stack, sanya, second["id"])).json()["possible_links"]
    kept = await act(
        stack, sanya, first["id"], "link-decisions", {"link_id": flag["id"], "confirm": False, "note": "不是同一游客"}
    )
    assert (kept["state"], kept["links"]) == ("assigned", [])
    assert [f["state"] for f in kept["possible_links"]] == ["dismissed"]
    assert (await get(stack, sanya, second["id"])).json()["state"] == "assigned"
    assert "link_dismissed" in await timeline_kinds(stack, sanya, first["id"])


async def test_the_same_accounts_repeat_is_still_refused_as_a_duplicate(stack: Stack) -> None:
    await settle_merchant(stack)
    first = await submit(stack, ALICE)
    stack.clock.advance(hours=1)
    repeat = await submit(stack, ALICE, contact_phone="13700000000")  # another phone, the same account
    assert (repeat["state"], repeat["not_accepted_reason"], repeat["duplicate_of"]) == (
        "not_accepted",
        "duplicate",
        first["id"],
    )
    assert repeat["possible_links"] == []
    # A partner pushing the same case again under another id of its own is its own repeat too.
    pushed = await submit(stack, OTA, external_id="OTA-7", contact_phone="13900007777")
    again = await submit(stack, OTA, external_id="OTA-8", contact_phone="13900007777")
    assert (again["state"], again["duplicate_of"]) == ("not_accepted", pushed["id"])
