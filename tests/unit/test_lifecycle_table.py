"""The lifecycle table (services/intake/lifecycle.py): whom each caller is to a complaint, what it offers them,
and that the table and the API name the same actions."""

from __future__ import annotations

from datetime import UTC, datetime

from services.intake.lifecycle import ACTIONS, Context, Part, available, parts_of
from services.intake.models import Complaint
from services.intake.router import router
from shared.contracts.complaints import OPEN_STATES, ComplaintState
from shared.contracts.identity import Identity, Role, is_province, region_above
from tests.conftest import ADMIN, consumer, merchant_staff, official

HOTEL, OTHER = "mer_HOTEL", "mer_OTHER"


def complaint(state: str = "assigned", *, assignee: str = "merchant", region: str = "460200") -> Complaint:
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    return Complaint(
        id="cmp_1",
        consumer_id="usr_ALICE",
        region_code=region,
        merchant_id=HOTEL,
        state=state,
        assignee_kind=assignee,
        assignee_id=HOTEL if assignee == "merchant" else region,
        accept_by=now,
        settle_by=now,
        accept_overdue=False,
        dispose_overdue=False,
        settle_overdue=False,
        satisfaction=None,
        compensation_requested_at=None,
    )


def test_regions_above_and_provinces() -> None:
    assert region_above("460000", "460200") and region_above("460000", "469001")
    assert not region_above("460200", "460200") and not region_above("460100", "460200")
    assert not region_above("460200", "460000")
    assert is_province("460000") and not is_province("460200") and not is_province("469001")


def test_each_caller_has_its_part() -> None:
    merchant_case, unit_case = complaint(), complaint(assignee="unit")
    assert parts_of(merchant_case, consumer("usr_ALICE")) == {Part.complainant}
    assert parts_of(merchant_case, consumer("usr_BOB")) == set()
    assert parts_of(merchant_case, merchant_staff(HOTEL)) == {Part.merchant, Part.handler}
    assert parts_of(unit_case, merchant_staff(HOTEL)) == {Part.merchant}
    assert parts_of(merchant_case, merchant_staff(OTHER)) == set()
    assert parts_of(merchant_case, official("460200")) == {Part.dispatcher}
    assert parts_of(unit_case, official("460200")) == {Part.dispatcher, Part.handler}
    assert parts_of(merchant_case, official("460000")) == {Part.supervisor, Part.province}
    assert parts_of(merchant_case, official("460100")) == set()
    assert parts_of(complaint(region="460000"), official("460000")) == {Part.dispatcher}
    assert parts_of(merchant_case, ADMIN) == {Part.admin}
    holder = Identity(subject="h", role=Role.complaint_holder, complaint_id="cmp_1")
    assert parts_of(merchant_case, holder) == {Part.holder}


def test_what_each_is_offered_follows_the_table() -> None:
    c = complaint()
    assert available(c, merchant_staff(HOTEL), Context()) == ["responses", "dispatch-returns", "extension-requests"]
    pending = Context(pending_extension_by="usr_MERCHANTSTAFF")
    assert "extension-requests" not in available(c, merchant_staff(HOTEL), pending)
    assert "extension-decisions" in available(c, official("460000"), pending)
    assert "extension-decisions" not in available(c, official("460200"), pending)
    assert "supervision-notices" in available(c, official("460000"), Context())
    assert "supervision-notices" not in available(c, official("460000"), Context(open_notice=True))
    assert "supervision-replies" in available(c, official("460200"), Context(open_notice=True))
    returned = complaint("returned")
    assert available(returned, merchant_staff(HOTEL), Context()) == []
    assert {"assignments", "transfers", "merges"} <= set(available(returned, official("460200"), Context()))
    closed = complaint("closed", assignee="unit")
    assert set(available(closed, official("460200"), Context())) == {
        "callback-visits",
        "compensation-requests",
        "reopenings",
    }


def test_the_table_and_the_api_name_the_same_actions() -> None:
    routes = {
        route.path.removeprefix("/v1/complaints/{complaint_id}/")
        for route in router.routes
        if "POST" in getattr(route, "methods", set()) and route.path.startswith("/v1/complaints/{complaint_id}/")
    }
    assert set(ACTIONS) == routes - {"evidence", "contact-reveals"}
    for action in ACTIONS.values():
        assert action.allowed_from <= set(ComplaintState)
        assert action.to is None or action.to in ComplaintState
        assert action.who
    assert ComplaintState.returned in OPEN_STATES
