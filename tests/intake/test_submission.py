"""Submitting a complaint: acceptance rules, assignment, deadlines, bad input, idempotency."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import HAIKOU, SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, complaint_body, settle_merchant, submit, timeline_kinds
from tests.support import Stack

ALICE = consumer("usr_ALICE")


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_complaint_against_settled_merchant_is_accepted_and_assigned_to_it(stack: Stack) -> None:
    await settle_merchant(stack)
    complaint = await submit(stack, ALICE)

    assert complaint["state"] == "assigned"
    assert complaint["assignee"] == {"kind": "merchant", "id": HOTEL, "name": "三亚湾海景酒店"}
    assert complaint["channel"] == "wechat_miniprogram"
    submitted = at(complaint["submitted_at"])
    assert at(complaint["accepted_at"]) == submitted  # accepted at once, well inside 3 minutes
    deadlines = complaint["deadlines"]
    assert at(deadlines["accept_by"]) - submitted == timedelta(minutes=3)
    assert at(deadlines["dispose_by"]) - submitted == timedelta(minutes=30)
    assert at(deadlines["settle_by"]) - submitted == timedelta(hours=48)
    assert deadlines["next_deadline"] == "dispose"
    assert await timeline_kinds(stack, ALICE, complaint["id"]) == ["submitted", "accepted", "assigned"]


async def test_complaint_about_unregistered_merchant_goes_to_the_regions_handling_unit(stack: Stack) -> None:
    complaint = await submit(
        stack,
        ALICE,
        merchant_id=None,
        merchant_name="电力公司",
        merchant_address="海口",
        region_code=HAIKOU,
        industry="shopping",
    )
    assert complaint["state"] == "assigned"
    assert complaint["merchant_id"] is None and complaint["merchant_name"] == "电力公司"
    assert complaint["assignee"] == {"kind": "unit", "id": "460100-lwj", "name": "海口市旅游和文化广电体育局"}
    assert complaint["unit"] == complaint["assignee"] and complaint["source_name"] == "“海南放心游”微信小程序"


async def test_repeat_within_a_day_is_not_accepted_and_linked_to_the_original(stack: Stack) -> None:
    await settle_merchant(stack)
    first = await submit(stack, ALICE)
    stack.clock.advance(hours=2)
    repeat = await submit(stack, ALICE, description="预订了海景房，入住时被安排在对着停车场的房间，前台拒绝退还差价！")
    assert repeat["state"] == "not_accepted"
    assert repeat["not_accepted_reason"] == "duplicate"
    assert repeat["duplicate_of"] == first["id"]
    # Another consumer with the same story, and the same consumer a day later, are new complaints.
    other = await submit(stack, consumer("usr_BOB"))
    assert other["state"] == "assigned"
    stack.clock.advance(hours=23)
    later = await submit(stack, ALICE, occurred_at="2026-11-21T01:00:00Z")
    assert later["state"] == "assigned"


async def test_complaint_missing_what_it_needs_is_not_accepted_with_the_reason(stack: Stack) -> None:
    short = await submit(stack, ALICE, merchant_id=None, merchant_name="某商店", description="太差了")
    assert (short["state"], short["not_accepted_reason"]) == ("not_accepted", "insufficient_information")
    assert short["not_accepted_note"] == "请至少用10个字描述事情经过。"
    nameless = await submit(stack, ALICE, merchant_id=None, description="在景区门口买的椰子水是过期的，商家拒绝退款。")
    assert nameless["not_accepted_reason"] == "insufficient_information"
    old = await submit(stack, ALICE, merchant_id=None, merchant_name="某商店", occurred_at="2026-07-01T00:00:00Z")
    assert (old["state"], old["not_accepted_reason"]) == ("not_accepted", "out_of_scope")


async def test_bad_input_gets_a_problem_naming_the_field_and_stores_nothing(stack: Stack) -> None:
    intake = stack.clients["intake"]
    response = await intake.post(
        "/v1/complaints", headers=stack.as_(ALICE), json=complaint_body(amount_involved_fen=-5, contact_phone="12345")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert {e["field"] for e in problem["errors"]} == {"body.amount_involved_fen", "body.contact_phone"}
    assert problem["request_id"]

    unknown = await intake.post("/v1/complaints", headers=stack.as_(ALICE), json=complaint_body(region_code="460300"))
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_region"  # Sansha is not served

    fen_as_float = await intake.post(
        "/v1/complaints", headers=stack.as_(ALICE), json=complaint_body(amount_involved_fen=12.5)
    )
    assert fen_as_float.status_code == 422

    malformed = await intake.post(
        "/v1/complaints", headers={**stack.as_(ALICE), "content-type": "application/json"}, content=b"{not json"
    )
    assert malformed.status_code in (400, 422)
    assert malformed.json()["code"] in ("malformed_json", "validation_failed")

    unknown_merchant = await intake.post(
        "/v1/complaints", headers=stack.as_(ALICE), json=complaint_body(merchant_id="mer_NOPE")
    )
    assert unknown_merchant.status_code == 422 and unknown_merchant.json()["code"] == "unknown_merchant"

    future = await intake.post(
        "/v1/complaints",
        headers=stack.as_(ALICE),
        json=complaint_body(merchant_id=None, merchant_name="某店", occurred_at="2030-01-01T00:00:00Z"),
    )
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "body.occurred_at"

    nul = await intake.post(
        "/v1/complaints", headers=stack.as_(ALICE), json=complaint_body(description="no NUL\x00 reaches the database")
    )
    assert nul.status_code == 422  # PostgreSQL refuses NUL in text; the API says so first

    mine = await intake.get("/v1/complaints", headers=stack.as_(ALICE))
    assert mine.json()["items"] == []


async def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(stack: Stack) -> None:
    await settle_merchant(stack)
    intake = stack.clients["intake"]
    headers = {**stack.as_(ALICE), "Idempotency-Key": "retry-123"}
    first = await intake.post("/v1/complaints", headers=headers, json=complaint_body())
    again = await intake.post("/v1/complaints", headers=headers, json=complaint_body())
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replay"] == "true"
    other = await intake.post("/v1/complaints", headers=headers, json=complaint_body(amount_involved_fen=1))
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    mine = await intake.get("/v1/complaints", headers=stack.as_(ALICE))
    assert len(mine.json()["items"]) == 1


async def test_phone_number_is_whole_only_for_the_complainant(stack: Stack) -> None:
    await settle_merchant(stack)
    complaint = await submit(stack, ALICE, contact_phone="13812341234")
    assert complaint["contact_phone"] == "13812341234"
    for viewer in (merchant_staff(HOTEL), official(SANYA)):
        seen = await stack.clients["intake"].get(f"/v1/complaints/{complaint['id']}", headers=stack.as_(viewer))
        assert seen.json()["contact_phone"] == "138****1234"


async def test_region_that_does_not_accept_automatically_waits_for_an_official(databases, tmp_path) -> None:
    import json

    from services.intake.config import DATA_DIR
    from tests.support import running_stack

    doc = json.loads((DATA_DIR / "regions.json").read_text(encoding="utf-8"))
    doc["regions"][SANYA].update(acceptance={"auto_accept": False}, sla={"accept_seconds": 120})  # the rest inherited
    custom = tmp_path / "regions.json"
    custom.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    async with running_stack(databases, tmp_path, overrides={"intake": {"regions_file": custom}}) as s:
        complaint = await submit(s, ALICE, merchant_id=None, merchant_name="某海鲜店")
        assert complaint["state"] == "submitted"
        assert complaint["deadlines"]["next_deadline"] == "accept"
        s.clock.advance(seconds=121)
        assert await s.run_deadlines() == 1
        assert await s.run_deadlines() == 0
        seen = (await s.clients["intake"].get(f"/v1/complaints/{complaint['id']}", headers=s.as_(ALICE))).json()
        assert seen["deadlines"]["overdue"] == ["accept"] and seen["state"] == "submitted"
        accepted = await s.clients["intake"].post(
            f"/v1/complaints/{complaint['id']}/intake-decisions", headers=s.as_(official(SANYA)), json={"accept": True}
        )
        assert accepted.json()["state"] == "assigned"
        kinds = await timeline_kinds(s, ALICE, complaint["id"])
        assert kinds == ["submitted", "overdue", "accepted", "assigned"]


async def test_channel_times_are_kept_checked_and_an_odr_case_skips_the_officials_queue(databases, tmp_path) -> None:
    import json

    from services.intake.config import DATA_DIR
    from shared.contracts.identity import Identity, Role
    from tests.factories import uscc
    from tests.support import running_stack

    doc = json.loads((DATA_DIR / "regions.json").read_text(encoding="utf-8"))
    doc["regions"][SANYA]["acceptance"] = {"auto_accept": False}  # officials accept each case by hand here...
    custom = tmp_path / "regions.json"
    custom.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    center = Identity(subject="ptn_ODR12315", role=Role.partner, display_name="12315 ODR", channel="platform_12315")
    ota = Identity(subject="ptn_OTA", role=Role.partner, display_name="某OTA")
    async with running_stack(databases, tmp_path, overrides={"intake": {"regions_file": custom}}) as s:
        await settle_merchant(s)
        now = s.clock.now()
        intake = s.clients["intake"]

        def case(**fields: object) -> dict[str, object]:
            return complaint_body(
                **{
                    "merchant_id": None,
                    "merchant_name": "三亚湾海景酒店",
                    "channel": "platform_12315",
                    "occurred_at": (now - timedelta(days=1)).isoformat(),
                    **fields,
                }
            )

        # ...but an ODR case naming an enrolled merchant by its credit code goes straight to it.
        r = await intake.post(
            "/v1/complaints",
            headers=s.as_(center),
            json=case(
                external_id="ODR-1",
                merchant_uscc=uscc(HOTEL),
                received_at=(now - timedelta(minutes=40)).isoformat(),
                dispatched_at=(now - timedelta(minutes=1)).isoformat(),
            ),
        )
        assert r.status_code == 201, r.text
        odr = r.json()
        assert (odr["state"], odr["merchant_id"], odr["assignee"]["kind"]) == ("assigned", HOTEL, "merchant")
        assert datetime.fromisoformat(odr["submitted_at"]) == now - timedelta(minutes=40)
        assert datetime.fromisoformat(odr["arrived_at"]) == now
        assert datetime.fromisoformat(odr["deadlines"]["dispose_by"]) > now  # its clock starts on arrival

        # Not enrolled here (no registered merchant with that code): the officials' queue, as usual.
        stranger = await intake.post(
            "/v1/complaints",
            headers=s.as_(center),
            json=case(
                external_id="ODR-2",
                merchant_uscc=uscc("STRANGER"),
                contact_phone="13700001111",
                merchant_name="某不知名商店",
            ),
        )
        assert stranger.status_code == 201 and stranger.json()["state"] == "submitted"

        for fields, code in (
            ({"received_at": (now + timedelta(minutes=30)).isoformat()}, "timestamp_in_future"),
            (
                {
                    "received_at": (now - timedelta(minutes=5)).isoformat(),
                    "dispatched_at": (now - timedelta(minutes=9)).isoformat(),
                },
                "timestamps_out_of_order",
            ),
            ({"received_at": (now - timedelta(days=3)).isoformat()}, "timestamps_out_of_order"),  # before the event
            ({"merchant_id": "mer_01DEMQ00000000000000000000", "merchant_uscc": uscc(HOTEL)}, "unknown_merchant"),
            ({"received_at": "2026-11-19T12:00:00"}, "validation_failed"),  # a time without its offset
            ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "validation_failed"),  # out of any reasonable range
        ):
            refused = await intake.post(
                "/v1/complaints", headers=s.as_(center), json=case(external_id="ODR-X", **fields)
            )
            assert refused.status_code == 422 and refused.json()["code"] == code, (fields, refused.text)
        # Only the 12315 center is the 12315 channel: another partner claiming it is refused.
        claimed = await intake.post("/v1/complaints", headers=s.as_(ota), json=case(external_id="OTA-1"))
        assert claimed.status_code == 403 and claimed.json()["code"] == "channel_not_allowed"
        mine = await intake.post(
            "/v1/complaints", headers=s.as_(consumer()), json=complaint_body(received_at=now.isoformat())
        )
        assert mine.status_code == 422 and mine.json()["errors"][0]["field"] == "body.received_at"
