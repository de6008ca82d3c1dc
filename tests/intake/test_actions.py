"""The actions a 12345 operator expects beside the basic lifecycle: 退回 (return to the dispatcher), 延期 (an
extension a supervising official approves), 督办 (the province's supervision notice with its own deadline),
合并 (merging a duplicate) and 重新办理 (reopening); the refund cap of 办结. Each is on the timeline, checked
against the caller's part (403) and the complaint's state (409), and keeps what credit counts right."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.intake.models import outbox as intake_outbox
from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, act, settle_merchant, submit
from tests.support import Stack

ALICE, BOB = consumer("usr_ALICE"), consumer("usr_BOB")
STAFF = merchant_staff(HOTEL)
CITY = official(SANYA)  # the dispatcher: an official of the complaint's own region
PROVINCE = official("460000")  # a supervising official, of the province above it
OTHER_CITY = official(HAIKOU)


async def get(stack: Stack, who: Any, path: str, expect: int = 200) -> Any:
    response = await stack.clients["intake"].get(path, headers=stack.as_(who))
    assert response.status_code == expect, response.text
    return response.json()


async def complaint(stack: Stack, who: Any, complaint_id: str) -> dict[str, Any]:
    return await get(stack, who, f"/v1/complaints/{complaint_id}")


async def timeline(stack: Stack, who: Any, complaint_id: str) -> list[dict[str, Any]]:
    return await get(stack, who, f"/v1/complaints/{complaint_id}/timeline")


async def events_of(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    """The events of this type intake wrote for its subscribers (one envelope each, whoever hears it)."""
    async with stack.apps["intake"].state.sessionmaker() as session:
        rows = (
            await session.execute(select(intake_outbox.c.envelope).where(intake_outbox.c.event_type == event_type))
        ).all()
    unique = {row.envelope["id"]: row.envelope for row in rows}
    return list(unique.values())


async def records(stack: Stack, subject: str) -> list[dict[str, Any]]:
    await stack.deliver_events()
    response = await stack.clients["credit"].get(
        f"/v1/credit/{subject}/records", headers=stack.as_(ADMIN), params={"limit": 200}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def counted(items: list[dict[str, Any]], kind: str, reference: str | None = None) -> int:
    """How many records of this kind count (are not voided), for this complaint if named."""
    return sum(
        1
        for r in items
        if r["kind"] == kind and r["voided_at"] is None and (reference is None or r["reference"] == reference)
    )


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


# --- 退回 ------------------------------------------------------------------------------------------------
async def test_the_merchant_returns_a_case_to_its_dispatcher_who_dispatches_it_anew(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    assert c["state"] == "assigned" and c["assignee"]["kind"] == "merchant"
    seen = await complaint(stack, STAFF, c["id"])
    assert "dispatch-returns" in seen["actions"] and "extension-requests" in seen["actions"]

    # Only the handler it was dispatched to returns it: not its dispatcher, the province, the tourist.
    for who in (CITY, PROVINCE, ALICE):
        refused = await act(stack, who, c["id"], "dispatch-returns", {"reason": "不归我处理"}, expect=403)
        assert refused["code"] == "action_not_allowed"
    await act(stack, STAFF, c["id"], "dispatch-returns", {}, expect=422)  # a reason is required

    returned = await act(stack, STAFF, c["id"], "dispatch-returns", {"reason": "本店已转让，现由他人经营"})
    assert returned["state"] == "returned" and returned["assignee"] is None
    assert returned["actions"] == []  # the merchant can do nothing more with it
    # No longer its handler, the merchant may not return it again (403); nobody may while it is returned (409).
    await act(stack, STAFF, c["id"], "dispatch-returns", {"reason": "再退一次"}, expect=403)
    again = await act(stack, ADMIN, c["id"], "dispatch-returns", {"reason": "再退一次"}, expect=409)
    assert again["code"] == "invalid_transition"
    await act(stack, STAFF, c["id"], "responses", {"message": "迟到的答复"}, expect=409)

    entry = (await timeline(stack, CITY, c["id"]))[-1]
    assert (entry["kind"], entry["actor_role"], entry["state_from"], entry["state_to"]) == (
        "returned",
        "merchant_staff",
        "assigned",
        "returned",
    )
    assert entry["note"] == "本店已转让，现由他人经营"
    assert entry["data"]["returned_by"]["assignee_id"] == HOTEL
    [changed] = [e for e in await events_of(stack, "complaint.state_changed") if e["payload"]["action"] == "returned"]
    assert changed["payload"]["state_to"] == "returned"

    # With the dispatcher again: the city's queue shows it, and it dispatches it to its handling unit.
    queue = await get(stack, CITY, "/v1/complaints?state=returned")
    assert [x["id"] for x in queue["items"]] == [c["id"]]
    city_view = await complaint(stack, CITY, c["id"])
    assert {"assignments", "transfers"} <= set(city_view["actions"])
    dispatched = await act(stack, CITY, c["id"], "assignments", {"kind": "unit", "note": "由市局直接调解"})
    assert dispatched["state"] == "assigned" and dispatched["assignee"]["kind"] == "unit"


async def test_a_return_does_not_stop_the_clock(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    await act(stack, STAFF, c["id"], "dispatch-returns", {"reason": "非本店顾客"})
    stack.clock.advance(minutes=30)
    assert await stack.run_deadlines() == 1
    seen = await complaint(stack, CITY, c["id"])
    assert seen["state"] == "escalated" and seen["deadlines"]["overdue"] == ["dispose"]


# --- 延期 ------------------------------------------------------------------------------------------------
async def test_an_approved_extension_moves_the_settlement_deadline(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    settle_by = at(c["deadlines"]["settle_by"])

    # The handler asks; a supervisor, the dispatcher's own region, the tourist may not.
    for who in (PROVINCE, ALICE):
        await act(stack, who, c["id"], "extension-requests", {"extend_hours": 72, "reason": "等待调查"}, expect=403)
    await act(stack, STAFF, c["id"], "extension-requests", {"extend_hours": 0, "reason": "x"}, expect=422)
    await act(stack, STAFF, c["id"], "extension-requests", {"extend_hours": 721, "reason": "x"}, expect=422)
    asked = await act(
        stack, STAFF, c["id"], "extension-requests", {"extend_hours": 72, "reason": "需等待景区调取监控录像"}
    )
    assert asked["deadlines"]["settle_by"] == c["deadlines"]["settle_by"]  # nothing moves until approved
    twice = await act(stack, STAFF, c["id"], "extension-requests", {"extend_hours": 24, "reason": "再要"}, expect=409)
    assert twice["code"] == "extension_pending"
    assert "extension-decisions" in (await complaint(stack, PROVINCE, c["id"]))["actions"]
    assert "extension-decisions" not in (await complaint(stack, CITY, c["id"]))["actions"]

    # The supervising official decides: not the city, not the merchant.
    for who in (CITY, STAFF, ALICE):
        refused = await act(stack, who, c["id"], "extension-decisions", {"approve": True}, expect=403)
        assert refused["code"] == "action_not_allowed"
    approved = await act(stack, PROVINCE, c["id"], "extension-decisions", {"approve": True, "note": "同意延期3天"})
    assert at(approved["deadlines"]["settle_by"]) == settle_by + timedelta(hours=72)
    # The channels the case came from hear that its deadline moved (the state did not).
    [moved] = [
        e for e in await events_of(stack, "complaint.state_changed") if e["payload"]["action"] == "extension_approved"
    ]
    assert (moved["payload"]["state_from"], moved["payload"]["state_to"]) == ("assigned", "assigned")
    assert at(moved["payload"]["data"]["due_after"]) == settle_by + timedelta(hours=72)
    none_left = await act(stack, PROVINCE, c["id"], "extension-decisions", {"approve": True}, expect=409)
    assert none_left["code"] == "no_pending_extension"

    [request] = await get(stack, STAFF, f"/v1/complaints/{c['id']}/extension-requests")
    assert (request["state"], request["extend_hours"], request["requested_by_role"]) == (
        "approved",
        72,
        "merchant_staff",
    )
    assert at(request["due_after"]) == settle_by + timedelta(hours=72)
    kinds = [(e["kind"], e["actor_role"]) for e in await timeline(stack, ALICE, c["id"])]
    assert ("extension_requested", "merchant_staff") in kinds and ("extension_approved", "official") in kinds
    progress = await get(stack, ALICE, f"/v1/complaints/{c['id']}/progress")
    assert "办理期限已延长" in [s["label"] for s in progress["timeline"]]

    # The old deadline passes quietly; the new one escalates, once.
    responded = await act(stack, STAFF, c["id"], "responses", {"message": "正在调取录像"})
    assert at(responded["deadlines"]["next_due_at"]) == settle_by + timedelta(hours=72)
    stack.clock.advance(hours=48, minutes=1)
    assert await stack.run_deadlines() == 0
    assert (await complaint(stack, CITY, c["id"]))["state"] == "responded"
    stack.clock.advance(hours=72)
    assert await stack.run_deadlines() == 1
    late = await complaint(stack, CITY, c["id"])
    assert late["state"] == "escalated" and late["deadlines"]["overdue"] == ["settle"]


async def test_extensions_refused_rejected_lapsed_and_never_self_approved(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    await act(stack, ADMIN, c["id"], "extension-requests", {"extend_hours": 24, "reason": "管理员代为申请"})
    own = await act(stack, ADMIN, c["id"], "extension-decisions", {"approve": True}, expect=403)
    assert own["code"] == "action_not_allowed"
    rejected = await act(stack, PROVINCE, c["id"], "extension-decisions", {"approve": False, "note": "理由不充分"})
    assert rejected["deadlines"]["settle_by"] == c["deadlines"]["settle_by"]
    assert (await timeline(stack, CITY, c["id"]))[-1]["kind"] == "extension_rejected"

    # The city's official may ask too; a pending request lapses when the complaint is resolved.
    await act(stack, CITY, c["id"], "extension-requests", {"extend_hours": 48, "reason": "商家配合调查"})
    await act(
        stack, CITY, c["id"], "resolutions", {"outcome": "mediated", "at_fault": "none", "amount_refunded_fen": 0}
    )
    states = [r["state"] for r in await get(stack, CITY, f"/v1/complaints/{c['id']}/extension-requests")]
    assert states == ["rejected", "lapsed"]
    closed_case = await act(
        stack, CITY, c["id"], "extension-requests", {"extend_hours": 24, "reason": "已办结还要"}, expect=409
    )
    assert closed_case["code"] == "invalid_transition"

    # Asked for only before the settlement deadline passes.
    d = await submit(stack, BOB, description="酒店早餐收费与预订时说明的不一致，前台不予解释和退还。")
    stack.clock.advance(hours=48)
    while await stack.run_deadlines():  # the disposal deadline, then the settlement one
        pass
    too_late = await act(stack, CITY, d["id"], "extension-requests", {"extend_hours": 24, "reason": "晚了"}, expect=409)
    assert too_late["code"] == "deadline_already_missed"


async def test_a_pending_extension_lapses_when_its_settlement_deadline_passes(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    await act(stack, STAFF, c["id"], "responses", {"message": "正在核实"})
    await act(stack, STAFF, c["id"], "extension-requests", {"extend_hours": 24, "reason": "需要时间"})
    stack.clock.advance(hours=48)
    assert await stack.run_deadlines() == 1
    [request] = await get(stack, CITY, f"/v1/complaints/{c['id']}/extension-requests")
    assert request["state"] == "lapsed"
    late = await act(stack, PROVINCE, c["id"], "extension-decisions", {"approve": True}, expect=409)
    assert late["code"] == "no_pending_extension"


async def test_extensions_are_counted_in_the_report(stack: Stack) -> None:
    await settle_merchant(stack)
    first = await submit(stack, ALICE)
    second = await submit(stack, BOB, description="酒店早餐收费与预订时说明的不一致，前台不予解释和退还。")
    for c, hours in ((first, 72), (second, 24)):
        await act(stack, STAFF, c["id"], "extension-requests", {"extend_hours": hours, "reason": "需等待调查"})
    await act(stack, PROVINCE, first["id"], "extension-decisions", {"approve": True})
    await act(stack, PROVINCE, second["id"], "extension-decisions", {"approve": False})
    await act(stack, STAFF, second["id"], "extension-requests", {"extend_hours": 12, "reason": "补充材料"})
    day = stack.clock.now().date().isoformat()
    report = await get(stack, CITY, f"/v1/reports/complaints?region_code={SANYA}&from={day}&to={day}")
    assert report["extensions"] == {
        "requested": 3,
        "approved": 1,
        "rejected": 1,
        "pending": 1,
        "lapsed": 0,
        "complaints_extended": 1,
        "hours_granted": 72,
    }
    assert "申请延期3件，批准1件。" in report["text"]
    response = await stack.clients["intake"].get(
        "/v1/reports/complaints",
        headers=stack.as_(CITY),
        params={"region_code": SANYA, "from": day, "to": day, "format": "csv"},
    )
    assert "申请延期件,3" in response.text and "批准延期件,1" in response.text


# --- 督办 ------------------------------------------------------------------------------------------------
async def test_the_province_supervises_a_city_with_its_own_deadline(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    notice = {"note": "请于24小时内核实处理并报送结果", "reply_within_hours": 24}
    for who in (CITY, STAFF, ALICE):
        refused = await act(stack, who, c["id"], "supervision-notices", notice, expect=403)
        assert refused["code"] == "action_not_allowed"
    await act(stack, OTHER_CITY, c["id"], "supervision-notices", notice, expect=404)
    assert "supervision-notices" in (await complaint(stack, PROVINCE, c["id"]))["actions"]

    await act(stack, PROVINCE, c["id"], "supervision-notices", notice)
    again = await act(stack, PROVINCE, c["id"], "supervision-notices", notice, expect=409)
    assert again["code"] == "supervision_already_open"
    [sent] = await get(stack, CITY, f"/v1/complaints/{c['id']}/supervision-notices")
    assert (sent["state"], sent["from_region"], sent["to_region"], sent["overdue"]) == ("open", "460000", SANYA, False)
    assert at(sent["reply_by"]) == stack.clock.now() + timedelta(hours=24)
    for who in (STAFF, ALICE):  # between officials only
        await get(stack, who, f"/v1/complaints/{c['id']}/supervision-notices", expect=403)
    entry = (await timeline(stack, CITY, c["id"]))[-1]
    assert (entry["kind"], entry["actor_role"], entry["data"]["to_region"]) == ("supervised", "official", SANYA)
    assert "supervised" not in [e["kind"] for e in await timeline(stack, ALICE, c["id"])]

    # The city answers: not the province itself, not the merchant.
    assert "supervision-replies" in (await complaint(stack, CITY, c["id"]))["actions"]
    for who in (PROVINCE, STAFF):
        await act(stack, who, c["id"], "supervision-replies", {"message": "已处理"}, expect=403)
    stack.clock.advance(hours=3)
    await act(stack, CITY, c["id"], "supervision-replies", {"message": "已约谈商家，今日办结"})
    [answered] = await get(stack, PROVINCE, f"/v1/complaints/{c['id']}/supervision-notices")
    assert (answered["state"], answered["replied_in_time"], answered["reply"]) == (
        "answered",
        True,
        "已约谈商家，今日办结",
    )
    nothing = await act(stack, CITY, c["id"], "supervision-replies", {"message": "再答一次"}, expect=409)
    assert nothing["code"] == "no_open_supervision"


async def test_an_unanswered_supervision_notice_is_marked_overdue_once(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    await act(stack, STAFF, c["id"], "responses", {"message": "正在处理"})
    await act(stack, PROVINCE, c["id"], "supervision-notices", {"note": "请尽快办结", "reply_within_hours": 2})
    stack.clock.advance(hours=1, minutes=59)
    assert await stack.run_deadlines() == 0
    stack.clock.advance(minutes=1)
    assert await stack.run_deadlines() == 1
    assert await stack.run_deadlines() == 0
    kinds = [e["kind"] for e in await timeline(stack, PROVINCE, c["id"])]
    assert kinds.count("supervision_overdue") == 1
    [late] = await get(stack, PROVINCE, f"/v1/complaints/{c['id']}/supervision-notices")
    assert late["overdue"] is True
    stack.clock.advance(minutes=5)
    await act(stack, CITY, c["id"], "supervision-replies", {"message": "迟复：已办结"})
    [answered] = await get(stack, PROVINCE, f"/v1/complaints/{c['id']}/supervision-notices")
    assert (answered["replied_in_time"], answered["overdue"]) == (False, False)


async def test_a_concluded_complaint_is_not_supervised(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    await act(stack, ALICE, c["id"], "withdrawals", {"reason": "已私下解决"})
    refused = await act(
        stack, PROVINCE, c["id"], "supervision-notices", {"note": "督办", "reply_within_hours": 24}, expect=409
    )
    assert refused["code"] == "invalid_transition"


# --- 合并 ------------------------------------------------------------------------------------------------
async def test_a_duplicate_is_merged_and_counts_once_in_the_merchants_credit(stack: Stack) -> None:
    await settle_merchant(stack)
    kept = await submit(stack, ALICE)
    duplicate = await submit(stack, BOB, description="同行的朋友也投诉：海景房变成了停车场景观房，酒店拒绝退差价。")
    assert counted(await records(stack, HOTEL), "complaint_accepted") == 2

    body = {"into": kept["case_number"], "reason": "同一行程同一房间，重复投诉"}
    for who in (STAFF, BOB):
        refused = await act(stack, who, duplicate["id"], "merges", body, expect=403)
        assert refused["code"] == "action_not_allowed"
    for stranger in (ALICE, OTHER_CITY):  # not theirs to see: the same 404 as an absent complaint
        await act(stack, stranger, duplicate["id"], "merges", body, expect=404)
    itself = await act(stack, CITY, duplicate["id"], "merges", {**body, "into": duplicate["id"]}, expect=409)
    assert itself["code"] == "merge_into_itself"
    nowhere = await act(stack, CITY, duplicate["id"], "merges", {**body, "into": "cmp_NOSUCH"}, expect=422)
    assert nowhere["code"] == "merge_target_not_found"

    merged = await act(stack, CITY, duplicate["id"], "merges", body)
    assert (merged["state"], merged["not_accepted_reason"], merged["duplicate_of"]) == (
        "not_accepted",
        "duplicate",
        kept["id"],
    )
    survivor = await complaint(stack, CITY, kept["id"])
    assert [link["complaint_id"] for link in survivor["links"]] == [duplicate["id"]]
    assert survivor["state"] == "assigned"
    dup_kinds = [e["kind"] for e in await timeline(stack, CITY, duplicate["id"])]
    assert dup_kinds[-2:] == ["merged", "linked"]
    assert "merged" in [e["kind"] for e in await timeline(stack, CITY, kept["id"])]
    # The duplicate's tourist hears it is handled with the other (the same `linked` step every channel knows).
    assert [s["kind"] for s in (await get(stack, BOB, f"/v1/complaints/{duplicate['id']}/progress"))["timeline"]][
        -1
    ] == "linked"
    [event] = await events_of(stack, "complaint.merged")
    assert (event["payload"]["complaint_id"], event["payload"]["merged_into"]) == (duplicate["id"], kept["id"])

    items = await records(stack, HOTEL)
    assert counted(items, "complaint_accepted") == 1  # one case, counted once
    assert counted(items, "complaint_accepted", kept["id"]) == 1
    [voided] = [r for r in items if r["reference"] == duplicate["id"]]
    assert voided["voided_at"] is not None

    # Nothing more to merge: the duplicate is concluded, and nothing merges into a concluded complaint.
    twice = await act(stack, CITY, duplicate["id"], "merges", {**body, "into": kept["id"]}, expect=409)
    assert twice["code"] == "invalid_transition"
    third = await submit(stack, consumer("usr_CAROL"), description="又一位游客：订的海景房变成了面向停车场的房间。")
    into_closed = await act(stack, CITY, third["id"], "merges", {**body, "into": duplicate["id"]}, expect=409)
    assert into_closed["code"] == "invalid_transition"


async def test_confirming_a_possible_link_is_a_merge_for_credit_too(stack: Stack) -> None:
    await settle_merchant(stack)
    first = await submit(stack, consumer("usr_MALLORY"), contact_phone="13812349999")
    second = await submit(stack, ALICE, contact_phone="13812349999")
    seen = await complaint(stack, CITY, second["id"])
    [link] = seen["possible_links"]
    assert "link-decisions" in seen["actions"]
    await act(stack, CITY, second["id"], "link-decisions", {"link_id": link["id"], "confirm": True})
    assert "link-decisions" not in (await complaint(stack, CITY, first["id"]))["actions"]
    items = await records(stack, HOTEL)
    assert counted(items, "complaint_accepted") == 1 and counted(items, "complaint_accepted", first["id"]) == 1


# --- 重新办理 --------------------------------------------------------------------------------------------
async def test_a_reopened_case_is_counted_once_in_credit_and_in_the_report(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    await act(stack, STAFF, c["id"], "responses", {"message": "同意退差价 300 元", "offered_refund_fen": 30000})
    await act(stack, ALICE, c["id"], "rejections", {"note": "应全额退款"})
    await act(
        stack,
        CITY,
        c["id"],
        "resolutions",
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 30000},
    )
    await act(stack, ALICE, c["id"], "evaluations", {"score": 2})
    before = await records(stack, HOTEL)
    assert counted(before, "resolved_at_fault") == 1 and counted(before, "rating") == 1

    reason = {"reason": "回访不满意，商家未按承诺退款"}
    for who in (STAFF, ALICE):
        refused = await act(stack, who, c["id"], "reopenings", reason, expect=403)
        assert refused["code"] == "action_not_allowed"
    await act(stack, CITY, c["id"], "reopenings", {}, expect=422)
    stack.clock.advance(hours=1)
    reopened = await act(stack, CITY, c["id"], "reopenings", reason)
    assert (reopened["state"], reopened["outcome"], reopened["at_fault"], reopened["satisfaction"]) == (
        "assigned",
        None,
        None,
        None,
    )
    assert reopened["assignee"]["kind"] == "unit" and reopened["resolved_at"] is None
    assert at(reopened["deadlines"]["settle_by"]) == stack.clock.now() + timedelta(hours=48)
    assert reopened["deadlines"]["next_deadline"] == "settle"
    entry = (await timeline(stack, ALICE, c["id"]))[-1]
    assert (entry["kind"], entry["state_from"], entry["state_to"], entry["note"]) == (
        "reopened",
        "closed",
        "assigned",
        reason["reason"],
    )
    assert entry["data"]["previous"]["at_fault"] == "merchant"
    again = await act(stack, CITY, c["id"], "reopenings", reason, expect=409)
    assert again["code"] == "invalid_transition"
    middle = await records(stack, HOTEL)
    assert counted(middle, "resolved_at_fault") == 0 and counted(middle, "rating") == 0
    assert counted(middle, "complaint_accepted") == 1  # it was accepted once, and still is

    await act(
        stack,
        CITY,
        c["id"],
        "resolutions",
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 128000},
    )
    await act(stack, ALICE, c["id"], "evaluations", {"score": 5})
    after = await records(stack, HOTEL)
    assert counted(after, "resolved_at_fault") == 1 and counted(after, "rating") == 1
    assert [r["value"] for r in after if r["kind"] == "rating" and r["voided_at"] is None] == [5]
    assert counted(await records(stack, ALICE.subject), "honest_complaint") == 1
    [reopened_event] = await events_of(stack, "complaint.reopened")
    assert reopened_event["payload"]["previous_at_fault"] == "merchant"

    day = stack.clock.now().date().isoformat()
    report = await get(stack, CITY, f"/v1/reports/complaints?region_code={SANYA}&from={day}&to={day}")
    assert report["handling_time"]["complaints"] == 1 and report["satisfaction_average"] == 5.0
    assert report["amount_refunded_fen"] == 128000


async def test_only_a_concluded_case_is_reopened(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    refused = await act(stack, CITY, c["id"], "reopenings", {"reason": "还在办"}, expect=409)
    assert refused["code"] == "invalid_transition"
    await act(stack, ALICE, c["id"], "withdrawals", {})
    withdrawn = await act(stack, CITY, c["id"], "reopenings", {"reason": "游客撤诉后又来电"}, expect=409)
    assert withdrawn["code"] == "invalid_transition"


# --- 办结 ------------------------------------------------------------------------------------------------
async def test_a_resolution_names_its_outcome_and_fault_and_refunds_no_more_than_involved(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)  # about 1,280 yuan
    for missing in ({"at_fault": "merchant"}, {"outcome": "refunded"}):
        await act(stack, CITY, c["id"], "resolutions", missing, expect=422)
    # The outcome is one of the platform's words (reports and the channels' centres read them), not free text.
    unknown = await act(stack, CITY, c["id"], "resolutions", {"outcome": "退款了", "at_fault": "merchant"}, 422)
    assert unknown["code"] == "validation_failed" and unknown["errors"][0]["field"] == "body.outcome"
    too_much = await act(
        stack,
        CITY,
        c["id"],
        "resolutions",
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 128001},
        expect=422,
    )
    assert too_much["code"] == "refund_above_amount_involved"
    assert too_much["errors"] == [{"field": "body.amount_refunded_fen", "message": "exceeds amount_involved_fen"}]
    offer = await act(stack, STAFF, c["id"], "responses", {"message": "全退再多给", "offered_refund_fen": 200000}, 422)
    assert offer["code"] == "refund_above_amount_involved"
    resolved = await act(
        stack,
        CITY,
        c["id"],
        "resolutions",
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 128000},
    )
    assert (resolved["amount_refunded_fen"], resolved["outcome"]) == (128000, "refunded")
    progress = await get(stack, ALICE, f"/v1/complaints/{c['id']}/progress")
    assert progress["outcome_text"] == "商家已退款"


# --- who may do what, as the complaint says ---------------------------------------------------------------
async def test_each_part_is_offered_the_actions_it_may_take(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    offered = {
        who: (await complaint(stack, identity, c["id"]))["actions"]
        for who, identity in (
            ("staff", STAFF),
            ("city", CITY),
            ("province", PROVINCE),
            ("alice", ALICE),
        )
    }
    assert offered["staff"] == ["responses", "dispatch-returns", "extension-requests"]
    assert offered["city"] == [
        "assignments",
        "responses",
        "escalations",
        "transfers",
        "resolutions",
        "compensation-requests",
        "extension-requests",
        "merges",
    ]
    assert "extension-requests" not in offered["province"] and "supervision-notices" in offered["province"]
    assert offered["alice"] == ["withdrawals"]
    # What the list offers is what the service allows: every offered action is let through the role check.
    admin = set((await complaint(stack, ADMIN, c["id"]))["actions"])
    assert {"dispatch-returns", "supervision-notices", "merges", "extension-requests"} <= admin
