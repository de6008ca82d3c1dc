"""Who may file a complaint, and against whom.

Tourists file for themselves on the channel they logged in through, partners on their own channel,
officials (and admins) for their region as walk-ins or hotline calls; merchant staff never.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.common import Channel
from shared.contracts.identity import Identity, Role
from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, complaint_body, merchant_id, settle_merchant, submit
from tests.support import Stack

ALICE = consumer("usr_ALICE")
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
        assert "merchant" in r.json()["detail"].lower()
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
    call = await submit(stack, official(SANYA), channel="hotline_12345", contact_phone="13900002222",
                        description="来电反映：酒店把海景房换成了对着停车场的房间，不肯退差价。")
    assert (call["state"], call["channel"]) == ("assigned", "hotline_12345")
    # The province's official files anywhere in it; an admin as well (documented: as an official of every region).
    province = await submit(stack, official("460000"), contact_phone="13900003333",
                            description="省局接待：游客反映酒店房型与预订不符，要求退还差价。")
    assert province["region_code"] == SANYA
    by_admin = await submit(stack, ADMIN, contact_phone="13900004444", region_code=HAIKOU, merchant_id=None,
                            merchant_name="海口某餐厅", industry="food")
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
