"""The SLA clock as pure rules (services/intake/deadlines.py), without HTTP or a database: when each deadline
falls, which one a complaint waits on in each state, what an extension, a transfer or a reopening does to the
clock, where a complaint stands in the queue and how its minutes are counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.config import DATA_DIR
from services.intake.deadlines import (
    QUEUE_CONCLUDED,
    QUEUE_LATE,
    QUEUE_OPEN,
    accept_by,
    extended,
    handled_minutes,
    minutes_between,
    missed_deadlines,
    next_deadline,
    queue_position,
    reply_by,
    restart_clock,
    schedule,
    settle_again,
    start_handling,
)
from services.intake.models import Complaint
from services.intake.regions import Sla, load_catalogue
from shared.contracts.complaints import ComplaintState, DeadlineKind

S = ComplaintState
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SLA = Sla(accept=timedelta(minutes=3), dispose=timedelta(minutes=30), settle=timedelta(hours=48))


def complaint(state: ComplaintState = S.submitted, **fields: object) -> Complaint:
    c = Complaint(
        id="cmp_1",
        state=state.value,
        submitted_at=NOW,
        accept_by=accept_by(NOW, SLA),
        accepted_at=None,
        dispose_by=None,
        settle_by=None,
        responded_at=None,
        accept_overdue=False,
        dispose_overdue=False,
        settle_overdue=False,
    )
    for name, value in fields.items():
        setattr(c, name, value)
    return c


def accepted(state: ComplaintState = S.assigned, **fields: object) -> Complaint:
    c = complaint(state)
    start_handling(c, NOW + timedelta(minutes=1), SLA)
    for name, value in fields.items():
        setattr(c, name, value)
    return c


def test_the_platforms_default_sla_is_3_minutes_30_minutes_48_hours() -> None:
    sla = load_catalogue(DATA_DIR / "regions.json").get("460200").sla
    assert (sla.accept, sla.dispose, sla.settle) == (timedelta(minutes=3), timedelta(minutes=30), timedelta(hours=48))


def test_acceptance_is_due_3_minutes_after_receipt() -> None:
    assert accept_by(NOW, SLA) == NOW + timedelta(minutes=3)
    assert next_deadline(complaint()) == (DeadlineKind.accept, NOW + timedelta(minutes=3))


def test_acceptance_starts_the_dispose_and_settle_clocks() -> None:
    c = complaint()
    at = NOW + timedelta(minutes=2)
    start_handling(c, at, SLA)
    assert (c.accepted_at, c.dispose_by, c.settle_by) == (at, at + timedelta(minutes=30), at + timedelta(hours=48))


def test_the_clock_runs_by_the_wall_clock_night_and_weekend_alike() -> None:
    saturday_night = datetime(2026, 11, 21, 15, 50, tzinfo=UTC)  # 23:50 in Beijing, a Saturday
    c = complaint()
    start_handling(c, saturday_night, SLA)
    assert c.dispose_by == datetime(2026, 11, 21, 16, 20, tzinfo=UTC)
    assert c.settle_by == datetime(2026, 11, 23, 15, 50, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "fields", "expected"),
    [
        (S.submitted, {}, DeadlineKind.accept),
        (S.transferred, {}, DeadlineKind.accept),
        (S.submitted, {"accept_overdue": True}, None),
        (S.accepted, {}, DeadlineKind.dispose),
        (S.assigned, {}, DeadlineKind.dispose),
        (S.returned, {}, DeadlineKind.dispose),
        (S.assigned, {"responded_at": NOW}, DeadlineKind.settle),  # responded, then taken back: settle runs on
        (S.assigned, {"dispose_overdue": True}, DeadlineKind.settle),
        (S.responded, {"responded_at": NOW}, DeadlineKind.settle),
        (S.escalated, {}, DeadlineKind.settle),
        (S.escalated, {"settle_overdue": True}, None),
        (S.resolved, {}, None),
        (S.closed, {}, None),
        (S.withdrawn, {}, None),
        (S.not_accepted, {}, None),
    ],
)
def test_the_deadline_a_complaint_waits_on_in_each_state(
    state: ComplaintState, fields: dict[str, object], expected: DeadlineKind | None
) -> None:
    c = accepted(state, **fields) if state not in (S.submitted, S.transferred) else complaint(state, **fields)
    kind, due = next_deadline(c)
    assert kind == expected
    assert (
        due
        == {
            None: None,
            DeadlineKind.accept: c.accept_by,
            DeadlineKind.dispose: c.dispose_by,
            DeadlineKind.settle: c.settle_by,
        }[expected]
    )


def test_scheduling_points_the_complaint_at_its_next_deadline() -> None:
    c = accepted()
    schedule(c)
    assert (c.next_deadline_kind, c.next_deadline_at) == ("dispose", c.dispose_by)
    assert (c.queue_rank, c.queue_at) == (QUEUE_OPEN, c.dispose_by)
    c.state = S.resolved.value
    schedule(c)
    assert (c.next_deadline_kind, c.next_deadline_at) == (None, None)
    assert (c.queue_rank, c.queue_at) == (QUEUE_CONCLUDED, NOW)


def test_an_extension_moves_the_settlement_deadline_by_the_hours_asked() -> None:
    settle_by = NOW + timedelta(hours=48)
    assert extended(settle_by, 24) == NOW + timedelta(hours=72)
    assert extended(settle_by, 1) == settle_by + timedelta(hours=1)


def test_a_transfer_restarts_the_clock_in_the_new_region() -> None:
    c = accepted(S.escalated, accept_overdue=True, dispose_overdue=True, settle_overdue=True)
    later = NOW + timedelta(hours=5)
    restart_clock(c, later, SLA)
    assert c.accept_by == later + timedelta(minutes=3)
    assert (c.accepted_at, c.dispose_by, c.settle_by) == (None, None, None)
    assert not (c.accept_overdue or c.dispose_overdue or c.settle_overdue)


def test_reopening_gives_a_new_settlement_deadline() -> None:
    c = accepted(S.closed, settle_overdue=True)
    later = NOW + timedelta(days=3)
    settle_again(c, later, SLA)
    assert (c.settle_by, c.settle_overdue) == (later + timedelta(hours=48), False)


def test_a_reply_is_due_the_hours_after_receipt() -> None:
    assert reply_by(NOW, 24) == NOW + timedelta(hours=24)


def test_missed_deadlines_come_earliest_first_and_late_complaints_lead_the_queue() -> None:
    c = accepted(S.escalated, accept_overdue=False, dispose_overdue=True, settle_overdue=True)
    assert missed_deadlines(c) == [(DeadlineKind.dispose, c.dispose_by), (DeadlineKind.settle, c.settle_by)]
    assert queue_position(c) == (QUEUE_LATE, c.dispose_by)
    assert missed_deadlines(accepted()) == []
    waiting = complaint()
    schedule(waiting)
    assert queue_position(waiting) == (QUEUE_OPEN, waiting.accept_by)


def test_minutes_to_respond_round_up_and_handling_minutes_truncate() -> None:
    assert minutes_between(NOW, NOW + timedelta(minutes=6, seconds=10)) == 7
    assert minutes_between(NOW, NOW + timedelta(minutes=6)) == 6
    assert minutes_between(NOW, NOW - timedelta(minutes=1)) == 0
    assert handled_minutes(NOW, NOW + timedelta(minutes=79, seconds=59)) == 79
    assert handled_minutes(NOW, NOW - timedelta(seconds=1)) == 0
