"""Who may do what in which state: the lifecycle's ACTIONS table (services/intake/lifecycle.py) read as the rules
it encodes, without HTTP or a database. tests/unit/test_lifecycle_table.py covers the parts each caller has and
that the table and the API agree; here each rule is stated as a tourist, a merchant or an official meets it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.intake.lifecycle import ACTIONS, BEING_HANDLED, Context, available, may_take, ready
from services.intake.models import Complaint
from shared.contracts.common import Channel
from shared.contracts.complaints import OPEN_STATES, ComplaintState
from shared.contracts.identity import Identity, Role
from tests.conftest import ADMIN, consumer, merchant_staff, official

S = ComplaintState
HOTEL = "mer_HOTEL"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
ALICE, BOB = consumer("usr_ALICE"), consumer("usr_BOB")
HOTEL_STAFF = merchant_staff(HOTEL)
SANYA_OFFICIAL, HAINAN_OFFICIAL, HAIKOU_OFFICIAL = official("460200"), official("460000"), official("460100")


def complaint(state: ComplaintState, *, assignee: str = "merchant", **fields: object) -> Complaint:
    c = Complaint(
        id="cmp_1",
        consumer_id="usr_ALICE",
        channel=Channel.wechat_miniprogram.value,
        region_code="460200",
        merchant_id=HOTEL,
        state=state.value,
        assignee_kind=assignee,
        assignee_id=HOTEL if assignee == "merchant" else "460200",
        settle_by=NOW,
        responded_at=None,
        replied_at=None,
        accept_overdue=False,
        dispose_overdue=False,
        settle_overdue=False,
        satisfaction=None,
        compensation_requested_at=None,
    )
    for name, value in fields.items():
        setattr(c, name, value)
    return c


def offered(c: Complaint, actor: Identity, ctx: Context | None = None) -> set[str]:
    return set(available(c, actor, ctx or Context()))


def test_a_new_complaint_waits_for_the_regions_officials() -> None:
    c = complaint(S.submitted)
    assert offered(c, SANYA_OFFICIAL) == {"intake-decisions", "assignments", "transfers", "merges"}
    assert offered(c, ALICE) == {"withdrawals"}
    assert offered(c, HOTEL_STAFF) == set()
    assert offered(c, HAIKOU_OFFICIAL) == set()  # another city's officials have no part in it


def test_the_handler_responds_returns_or_asks_for_time_while_it_is_being_handled() -> None:
    for state in BEING_HANDLED:
        assert may_take(complaint(state), HOTEL_STAFF, "responses")
        assert state in ACTIONS["responses"].allowed_from
    assert S.assigned in ACTIONS["dispatch-returns"].allowed_from
    assert ACTIONS["dispatch-returns"].allowed_from == {S.assigned}
    assert offered(complaint(S.assigned), HOTEL_STAFF) == {"responses", "dispatch-returns", "extension-requests"}
    assert offered(complaint(S.submitted), HOTEL_STAFF) == set()  # nothing before it is dispatched
    # The merchant's staff respond to a complaint about them even when a unit handles it, but do not return it.
    unit_case = complaint(S.assigned, assignee="unit")
    assert offered(unit_case, HOTEL_STAFF) == {"responses"}
    assert {"dispatch-returns", "extension-requests"} <= offered(unit_case, SANYA_OFFICIAL)


def test_only_the_complainant_judges_the_response_and_only_once_it_came() -> None:
    responded = complaint(S.responded, responded_at=NOW)
    assert {"acceptances", "rejections"} <= offered(responded, ALICE)
    assert not {"acceptances", "rejections"} & offered(responded, BOB)
    assert not {"acceptances", "rejections"} & offered(responded, SANYA_OFFICIAL)
    assert not {"acceptances", "rejections"} & offered(complaint(S.assigned), ALICE)
    holder = Identity(subject="h", role=Role.complaint_holder, complaint_id="cmp_1")
    assert {"acceptances", "rejections"} <= offered(responded, holder)
    assert ACTIONS["acceptances"].to == S.resolved and ACTIONS["rejections"].to == S.escalated


def test_the_complainant_escalates_only_after_a_missed_deadline() -> None:
    assert "escalations" not in offered(complaint(S.assigned), ALICE)
    assert "escalations" in offered(complaint(S.assigned, dispose_overdue=True), ALICE)
    assert "escalations" in offered(complaint(S.assigned), SANYA_OFFICIAL)  # officials at any time


def test_withdrawal_is_the_complainants_alone_while_the_complaint_is_open() -> None:
    assert ACTIONS["withdrawals"].allowed_from == OPEN_STATES
    for state in OPEN_STATES:
        assert "withdrawals" in offered(complaint(state), ALICE)
        assert "withdrawals" not in offered(complaint(state), SANYA_OFFICIAL)
    assert "withdrawals" not in offered(complaint(S.resolved), ALICE)


def test_extensions_are_asked_for_by_the_handler_and_decided_by_a_supervisor_never_the_asker() -> None:
    c = complaint(S.assigned)
    waiting = Context(pending_extension_by=HOTEL_STAFF.subject)
    assert "extension-requests" not in offered(c, HOTEL_STAFF, waiting)  # one request waits at a time
    assert "extension-decisions" in offered(c, HAINAN_OFFICIAL, waiting)
    assert "extension-decisions" not in offered(c, SANYA_OFFICIAL, waiting)  # the city does not decide its own
    asked_by_admin = Context(pending_extension_by=ADMIN.subject)
    assert not ready(c, ADMIN, "extension-decisions", asked_by_admin)
    assert "extension-requests" not in offered(complaint(S.assigned, settle_overdue=True), HOTEL_STAFF)


def test_supervision_goes_from_the_province_to_the_city() -> None:
    c = complaint(S.assigned)
    assert "supervision-notices" in offered(c, HAINAN_OFFICIAL)
    assert "supervision-notices" not in offered(c, SANYA_OFFICIAL)
    assert "supervision-replies" in offered(c, SANYA_OFFICIAL, Context(open_notice=True))
    assert "supervision-replies" not in offered(c, HAINAN_OFFICIAL, Context(open_notice=True))
    assert "supervision-replies" not in offered(c, SANYA_OFFICIAL)  # nothing to answer


@pytest.mark.parametrize("state", [S.resolved, S.closed])
def test_a_concluded_complaint_is_rated_visited_or_reopened(state: ComplaintState) -> None:
    c = complaint(state)
    assert offered(c, ALICE) >= {"evaluations"}
    assert "evaluations" not in offered(complaint(state, satisfaction=5), ALICE)  # rated once
    assert {"callback-visits", "reopenings"} <= offered(c, SANYA_OFFICIAL)
    assert "reopenings" not in offered(c, HOTEL_STAFF)
    assert ACTIONS["reopenings"].to == S.assigned


def test_compensation_is_asked_for_after_a_missed_deadline_or_a_rejected_response() -> None:
    assert "compensation-requests" not in offered(complaint(S.assigned), ALICE)
    assert "compensation-requests" in offered(complaint(S.assigned, settle_overdue=True), ALICE)
    assert "compensation-requests" in offered(complaint(S.escalated, responded_at=NOW), ALICE)
    assert "compensation-requests" in offered(complaint(S.assigned), SANYA_OFFICIAL)
    assert "compensation-requests" not in offered(complaint(S.submitted), SANYA_OFFICIAL)  # not before acceptance
    asked = complaint(S.assigned, compensation_requested_at=NOW)
    assert "compensation-requests" not in offered(asked, SANYA_OFFICIAL)  # once


def test_notice_actions_are_for_public_opinion_notices_only() -> None:
    notice = complaint(S.submitted, channel=Channel.public_opinion.value, consumer_id=None)
    assert {"notice-links", "notice-replies"} <= offered(notice, SANYA_OFFICIAL)
    assert "notice-replies" not in offered(
        complaint(S.submitted, channel=Channel.public_opinion.value, replied_at=NOW), SANYA_OFFICIAL
    )
    assert not {"notice-links", "notice-replies"} & offered(complaint(S.submitted), SANYA_OFFICIAL)


def test_each_action_leads_where_the_table_says_from_where_it_says() -> None:
    moves = {path: (a.to, a.kind) for path, a in ACTIONS.items() if a.to is not None}
    assert moves == {
        "intake-decisions": (S.accepted, "accepted"),
        "assignments": (S.assigned, "assigned"),
        "responses": (S.responded, "responded"),
        "acceptances": (S.resolved, "response_accepted"),
        "rejections": (S.escalated, "response_rejected"),
        "escalations": (S.escalated, "escalated"),
        "transfers": (S.transferred, "transferred"),
        "withdrawals": (S.withdrawn, "withdrawn"),
        "resolutions": (S.resolved, "resolved"),
        "closures": (S.closed, "closed"),
        "dispatch-returns": (S.returned, "returned"),
        "merges": (S.not_accepted, "merged"),
        "reopenings": (S.assigned, "reopened"),
        "notice-links": (S.not_accepted, "linked"),
    }
    assert ACTIONS["resolutions"].allowed_from == BEING_HANDLED
    assert ACTIONS["closures"].allowed_from == {S.resolved}
    assert ACTIONS["intake-decisions"].allowed_from == {S.submitted, S.transferred}
