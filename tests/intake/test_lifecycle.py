"""A complaint's lifecycle: responses, the consumer's verdict, escalation, transfer, closing, visibility."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import ADMIN, HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, act, merchant_id, settle_merchant, submit, timeline_kinds
from tests.support import Stack

ALICE = consumer("usr_ALICE")
STAFF = merchant_staff(HOTEL)


async def test_merchant_response_accepted_by_consumer_then_evaluated_closes_it(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    stack.clock.advance(minutes=6, seconds=10)
    responded = await act(
        stack,
        STAFF,
        c["id"],
        "responses",
        {"message": "非常抱歉，已为您退还房差 300 元。", "offered_refund_fen": 30000},
    )
    assert responded["state"] == "responded"
    assert responded["response_text"].startswith("非常抱歉")
    resolved = await act(stack, ALICE, c["id"], "acceptances", {"note": "可以接受"})
    assert resolved["state"] == "resolved"
    assert resolved["amount_refunded_fen"] == 30000
    assert resolved["outcome"] == "response_accepted"
    closed = await act(stack, ALICE, c["id"], "evaluations", {"score": 5, "comment": "处理很快"})
    assert closed["state"] == "closed" and closed["satisfaction"] == 5
    await act(stack, official(SANYA), c["id"], "callback-visits", {"reached": True, "satisfied": True})

    response = await stack.clients["intake"].get(f"/v1/complaints/{c['id']}/timeline", headers=stack.as_(ALICE))
    entries = response.json()
    assert [e["kind"] for e in entries] == [
        "submitted",
        "accepted",
        "assigned",
        "responded",
        "response_accepted",
        "evaluated",
        "callback_visit",
    ]
    response_entry = entries[3]
    assert response_entry["actor_role"] == "merchant_staff"
    assert response_entry["data"]["minutes_to_respond"] == 7  # 6 min 10 s, counted in started minutes
    assert response_entry["data"]["in_time"] is True
    assert [e["state_to"] for e in entries[:6]] == [
        "submitted",
        "accepted",
        "assigned",
        "responded",
        "resolved",
        "closed",
    ]


async def test_rejected_response_goes_to_mediation_and_an_official_resolves_it(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    await act(stack, STAFF, c["id"], "responses", {"message": "房型与订单一致，不予退款。"})
    escalated = await act(stack, ALICE, c["id"], "rejections", {"note": "订单写的是海景房"})
    assert escalated["state"] == "escalated"
    assert escalated["assignee"]["kind"] == "unit"
    resolved = await act(
        stack,
        official(SANYA),
        c["id"],
        "resolutions",
        {"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 128000},
    )
    assert (resolved["state"], resolved["at_fault"], resolved["amount_refunded_fen"]) == (
        "resolved",
        "merchant",
        128000,
    )
    closed = await act(stack, official(SANYA), c["id"], "closures", {"note": "结案"})
    assert closed["state"] == "closed"
    late = await act(stack, ALICE, c["id"], "evaluations", {"score": 4}, expect=200)
    assert late["satisfaction"] == 4 and late["state"] == "closed"
    again = await act(stack, ALICE, c["id"], "evaluations", {"score": 1}, expect=409)
    assert again["code"] == "already_evaluated"


async def test_illegal_steps_are_refused_with_invalid_transition(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    premature = await act(stack, ALICE, c["id"], "evaluations", {"score": 5}, expect=409)
    assert premature["code"] == "invalid_transition"
    no_response = await act(stack, ALICE, c["id"], "acceptances", {}, expect=409)
    assert no_response["code"] == "invalid_transition"
    await act(stack, ALICE, c["id"], "withdrawals", {"reason": "已与商家私下协商"})
    after = await act(stack, STAFF, c["id"], "responses", {"message": "迟到的回复"}, expect=409)
    assert after["code"] == "invalid_transition"
    twice = await act(stack, ALICE, c["id"], "withdrawals", {}, expect=409)
    assert twice["code"] == "invalid_transition"


async def test_roles_may_only_take_their_own_actions(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    denied = await act(
        stack,
        STAFF,
        c["id"],
        "resolutions",
        {"outcome": "refunded", "at_fault": "none", "amount_refunded_fen": 0},
        expect=403,
    )
    assert denied["code"] == "action_not_allowed"
    await act(stack, ALICE, c["id"], "responses", {"message": "我自己回复自己"}, expect=403)
    early = await act(stack, ALICE, c["id"], "escalations", {"reason": "太慢"}, expect=409)
    assert early["code"] == "invalid_transition"


async def test_a_complaint_is_invisible_to_everyone_it_does_not_concern(stack: Stack) -> None:
    await settle_merchant(stack)
    await settle_merchant(stack, merchant_id("OTHER1"), name="别家酒店")
    c = await submit(stack, ALICE)
    intake = stack.clients["intake"]
    for stranger in (consumer("usr_BOB"), official(HAIKOU), merchant_staff(merchant_id("OTHER1"))):
        seen = await intake.get(f"/v1/complaints/{c['id']}", headers=stack.as_(stranger))
        assert seen.status_code == 404 and seen.json()["code"] == "complaint_not_found"
        timeline = await intake.get(f"/v1/complaints/{c['id']}/timeline", headers=stack.as_(stranger))
        assert timeline.status_code == 404
        acted = await intake.post(f"/v1/complaints/{c['id']}/withdrawals", headers=stack.as_(stranger), json={})
        assert acted.status_code == 404
        listed = await intake.get("/v1/complaints", headers=stack.as_(stranger))
        assert listed.json()["items"] == []
    for insider in (ALICE, STAFF, official(SANYA), official("460000"), ADMIN):
        seen = await intake.get(f"/v1/complaints/{c['id']}", headers=stack.as_(insider))
        assert seen.status_code == 200, insider
    absent = await intake.get("/v1/complaints/cmp_NOPE", headers=stack.as_(ADMIN))
    assert absent.status_code == 404


async def test_requests_without_the_gateways_identity_are_refused(stack: Stack) -> None:
    intake = stack.clients["intake"]
    missing = await intake.get("/v1/complaints")
    assert missing.status_code == 401 and missing.json()["code"] == "internal_token_missing"
    forged = await intake.get("/v1/complaints", headers={"X-Internal-Token": "eyJhbGciOiJIUzI1NiJ9.e30.x"})
    assert forged.status_code == 401 and forged.json()["code"] == "internal_token_invalid"
    stack.clock.advance(minutes=0)
    import jwt

    from shared.auth import INTERNAL_AUDIENCE

    wrong_key = jwt.encode(
        {"subject": "usr_X", "role": "admin", "aud": INTERNAL_AUDIENCE, "exp": 4102444800},
        "another-secret-of-sufficient-length",
        algorithm="HS256",
    )
    refused = await intake.get("/v1/complaints", headers={"X-Internal-Token": wrong_key})
    assert refused.status_code == 401


async def test_transfer_hands_the_complaint_to_the_other_region(stack: Stack) -> None:
    c = await submit(stack, ALICE, merchant_id=None, merchant_name="西双版纳银饰店", industry="shopping")
    moved = await act(
        stack, official(SANYA), c["id"], "transfers", {"region_code": HAIKOU, "reason": "购买地不属本辖区"}
    )
    assert (moved["state"], moved["region_code"], moved["transferred_from"]) == ("transferred", HAIKOU, SANYA)
    assert moved["deadlines"]["next_deadline"] == "accept"
    gone = await stack.clients["intake"].get(f"/v1/complaints/{c['id']}", headers=stack.as_(official(SANYA)))
    assert gone.status_code == 404
    taken = await act(stack, official(HAIKOU), c["id"], "assignments", {"kind": "unit"})
    assert taken["state"] == "assigned" and taken["assignee"]["id"] == "460100-lwj"
    same = await act(stack, official(HAIKOU), c["id"], "transfers", {"region_code": HAIKOU, "reason": "x"}, expect=409)
    assert same["code"] == "same_region"
    nowhere = await act(
        stack, official(HAIKOU), c["id"], "transfers", {"region_code": "999999", "reason": "x"}, expect=422
    )
    assert nowhere["code"] == "unknown_region"


async def test_unanswered_complaint_escalates_at_its_30_minute_deadline_exactly_once(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    stack.clock.advance(minutes=29, seconds=59)
    assert await stack.run_deadlines() == 0
    stack.clock.advance(seconds=1)
    assert await stack.run_deadlines() == 1
    assert await stack.run_deadlines() == 0
    stack.clock.advance(minutes=10)
    assert await stack.run_deadlines() == 0
    seen = (await stack.clients["intake"].get(f"/v1/complaints/{c['id']}", headers=stack.as_(ALICE))).json()
    assert seen["state"] == "escalated"
    assert seen["deadlines"]["overdue"] == ["dispose"]
    assert seen["deadlines"]["next_deadline"] == "settle"
    kinds = await timeline_kinds(stack, ALICE, c["id"])
    assert kinds.count("overdue") == 1 and kinds.count("escalated") == 1
    # Now overdue, the complainant may escalate; an official mediates and the 48-hour clock still runs.
    stack.clock.advance(hours=48)
    assert await stack.run_deadlines() == 1
    seen = (await stack.clients["intake"].get(f"/v1/complaints/{c['id']}", headers=stack.as_(ALICE))).json()
    assert seen["deadlines"]["overdue"] == ["dispose", "settle"] and seen["deadlines"]["next_deadline"] is None


async def test_queue_lists_nearest_deadline_first_with_filters_and_pages(stack: Stack) -> None:
    await settle_merchant(stack)
    ids = []
    for n in range(5):
        c = await submit(stack, consumer(f"usr_C{n}"))
        ids.append(c["id"])
        stack.clock.advance(minutes=1)
    await act(stack, STAFF, ids[0], "responses", {"message": "已处理"})
    queue = stack.clients["intake"]
    page = (await queue.get("/v1/complaints", params={"limit": 2}, headers=stack.as_(official(SANYA)))).json()
    assert [c["id"] for c in page["items"]] == ids[1:3]  # dispose deadlines first, nearest first
    rest = (
        await queue.get(
            "/v1/complaints", params={"limit": 10, "cursor": page["next_cursor"]}, headers=stack.as_(official(SANYA))
        )
    ).json()
    assert [c["id"] for c in rest["items"]] == ids[3:] + ids[:1] and rest["next_cursor"] is None
    stack.clock.advance(minutes=27)
    await stack.run_deadlines()
    overdue = (await queue.get("/v1/complaints", params={"overdue": "true"}, headers=stack.as_(STAFF))).json()
    assert {c["id"] for c in overdue["items"]} == {ids[1], ids[2]}
    responded = (await queue.get("/v1/complaints", params={"state": "responded"}, headers=stack.as_(STAFF))).json()
    assert [c["id"] for c in responded["items"]] == [ids[0]]
    bad = await queue.get("/v1/complaints", params={"cursor": "garbage!"}, headers=stack.as_(STAFF))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
    mine = (await queue.get("/v1/complaints", headers=stack.as_(consumer("usr_C3")))).json()
    assert [c["id"] for c in mine["items"]] == [ids[3]]


async def test_two_schedulers_at_once_fire_each_deadline_once(stack: Stack) -> None:
    """Replicas each run the scheduler; row claims (PostgreSQL) or version checks (SQLite) keep it once."""
    import asyncio

    from services.intake.main import run_deadlines_once

    await settle_merchant(stack)
    ids = [(await submit(stack, consumer(f"usr_R{n}")))["id"] for n in range(12)]
    stack.clock.advance(minutes=31)
    app = stack.apps["intake"]
    results = await asyncio.gather(run_deadlines_once(app), run_deadlines_once(app))  # the loser of a race waits
    fired = sum(results) + await run_deadlines_once(app)
    assert fired == len(ids)
    for complaint_id in ids:
        kinds = await timeline_kinds(stack, official(SANYA), complaint_id)
        assert kinds.count("overdue") == 1 and kinds.count("escalated") == 1


async def test_a_deadline_whose_complaint_changes_as_it_fires_fires_on_the_next_pass(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A request (or, on SQLite, another replica) writes the complaint between the pass's read and its write:
    the version check refuses the pass's write. The pass loses that race quietly and the next one fires it."""
    from sqlalchemy import text

    from services.intake.main import run_deadlines_once
    from services.intake.repository.due import Due

    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    stack.clock.advance(minutes=31)
    due = Due.complaints

    async def due_then_changed(self: Due, now: Any, limit: int) -> list[Any]:
        found = await due(self, now, limit)
        # The other writer's UPDATE, unseen by this session's objects (on PostgreSQL the pass holds the row,
        # so only its own connection may write it here).
        await self.session.execute(text("UPDATE complaints SET version = version + 1 WHERE id = :id"), {"id": c["id"]})
        return found

    monkeypatch.setattr(Due, "complaints", due_then_changed)
    caplog.set_level(logging.INFO, logger="intake.scheduler")
    app = stack.apps["intake"]
    assert await run_deadlines_once(app) == 0
    assert [r.levelno for r in caplog.records if r.name == "intake.scheduler"] == [logging.INFO]
    assert "overdue" not in await timeline_kinds(stack, ALICE, c["id"])  # the whole batch was rolled back

    monkeypatch.setattr(Due, "complaints", due)
    assert await run_deadlines_once(app) == 1
    kinds = await timeline_kinds(stack, ALICE, c["id"])
    assert kinds.count("overdue") == 1 and kinds.count("escalated") == 1
