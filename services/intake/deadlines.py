"""The SLA clock as pure rules: when each deadline falls, which one a complaint waits on next, which it missed,
where it stands in the queue, and the minutes the reports count. No session, no I/O: tested directly
(tests/unit/test_deadlines.py).

A region's SLA (services/intake/regions.py, `sla`) gives three spans, by the wall clock (no working hours):
accept (受理, 3 minutes unless the region sets another) from receipt; dispose (处置, 30 minutes) and settle
(办结, 48 hours) from acceptance. An approved extension moves the settlement deadline by the hours asked.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from services.intake.models import Complaint
from services.intake.regions import Sla
from shared.contracts.complaints import OPEN_STATES, ComplaintState, DeadlineKind

S = ComplaintState
CLOCK_SKEW = timedelta(minutes=2)  # how far a channel's clock may run ahead of ours
QUEUE_LATE, QUEUE_OPEN, QUEUE_CONCLUDED = 0, 1, 2


def accept_by(received: datetime, sla: Sla) -> datetime:
    """A complaint is accepted (or declined) this soon after it is received, or after it is transferred."""
    return received + sla.accept


def start_handling(c: Complaint, now: datetime, sla: Sla) -> None:
    """Accepted now: the dispose and settle clocks start."""
    c.accepted_at, c.dispose_by, c.settle_by = now, now + sla.dispose, now + sla.settle


def restart_clock(c: Complaint, now: datetime, sla: Sla) -> None:
    """Transferred to another region (转办): its clock starts again there, from acceptance, nothing missed."""
    c.accept_by, c.accepted_at, c.dispose_by, c.settle_by = accept_by(now, sla), None, None, None
    c.accept_overdue = c.dispose_overdue = c.settle_overdue = False


def settle_again(c: Complaint, now: datetime, sla: Sla) -> None:
    """Reopened (重新办理): a new settlement deadline, not missed yet."""
    c.settle_by, c.settle_overdue = now + sla.settle, False


def extended(settle_by: datetime, hours: int) -> datetime:
    """The settlement deadline an approved extension (延期) sets."""
    return settle_by + timedelta(hours=hours)


def reply_by(received: datetime, hours: int) -> datetime:
    """When a reply is due (a public-opinion notice's report back, a supervision notice's answer)."""
    return received + timedelta(hours=hours)


def next_deadline(c: Complaint) -> tuple[DeadlineKind | None, datetime | None]:
    """The deadline the complaint waits on now: acceptance while it waits for a decision; disposal until the first
    response; settlement while it is handled; none once concluded or once each has been missed."""
    kind, due = None, None
    if c.state in (S.submitted, S.transferred):
        if not c.accept_overdue:
            kind, due = DeadlineKind.accept, c.accept_by
    elif c.state in (S.accepted, S.assigned, S.returned) and c.responded_at is None and not c.dispose_overdue:
        kind, due = DeadlineKind.dispose, c.dispose_by
    elif c.state in (S.accepted, S.assigned, S.returned, S.responded, S.escalated) and not c.settle_overdue:
        kind, due = DeadlineKind.settle, c.settle_by
    if kind is None or due is None:
        return None, None
    return kind, due


def schedule(c: Complaint) -> None:
    """Point the complaint at its next pending deadline (what the scheduler's index looks at) and its queue place."""
    kind, due = next_deadline(c)
    c.next_deadline_kind = kind.value if kind else None
    c.next_deadline_at = due
    c.queue_rank, c.queue_at = queue_position(c)


def missed_deadlines(c: Complaint) -> list[tuple[DeadlineKind, datetime]]:
    """The deadlines the complaint missed, with when each fell due, earliest first."""
    missed = [
        (DeadlineKind.accept, c.accept_by, c.accept_overdue),
        (DeadlineKind.dispose, c.dispose_by, c.dispose_overdue),
        (DeadlineKind.settle, c.settle_by, c.settle_overdue),
        (DeadlineKind.reply, c.reply_by, c.reply_overdue),
    ]
    return sorted(((kind, due) for kind, due, flag in missed if flag and due is not None), key=lambda m: m[1])


def queue_position(c: Complaint) -> tuple[int, datetime]:
    """Where the complaint stands in the staff queue (rank, then time, then id): open and late first, the
    longest late first; then open by nearest deadline; concluded last, by when received."""
    if c.state in OPEN_STATES:
        missed = missed_deadlines(c)
        if missed:
            return QUEUE_LATE, missed[0][1]
        return QUEUE_OPEN, c.next_deadline_at or c.submitted_at
    return QUEUE_CONCLUDED, c.submitted_at


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes, rounded up: a response 6 min 10 s after acceptance took 7 minutes."""
    return max(0, math.ceil((end - start).total_seconds() / 60))


def handled_minutes(submitted_at: datetime, concluded_at: datetime) -> int:
    """A complaint's handling time as the reports count it (办结时长): whole minutes from receipt, truncated."""
    return max(0, int((concluded_at - submitted_at).total_seconds() // 60))
