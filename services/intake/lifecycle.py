"""The complaint lifecycle as data: each action a caller may take on a complaint, the states it is taken from, the
state it leads to, and who may take it. The service checks every action against this table, and a complaint's
`actions` (what the console offers) are read from it, so the two never disagree.

Who may take an action is the caller's part in the complaint, which follows from the role model
(shared/contracts/identity.py: a role, and an official's region or a merchant's staff's merchant):

- complainant: the tourist who filed it; holder: whoever holds its progress link (for the tourist).
- merchant: the staff of the merchant complained about.
- handler (承办): whoever the complaint is dispatched to: the merchant's staff when it is assigned to the
  merchant, the officials of its region when it is assigned to the region's handling unit.
- dispatcher (派单/受理): an official of the complaint's own region: accepts it, dispatches it, takes it back
  when its handler returns it, answers the province's supervision notices.
- supervisor (上级主管): an official of a region above the complaint's (Hainan's above Sanya's): decides the
  handler's extension requests.
- province (省级): a supervisor whose region is a province: issues supervision notices (督办) to the city.
- admin: every staff part.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from services.intake.models import Complaint
from shared.contracts.common import Channel
from shared.contracts.complaints import OPEN_STATES, AssigneeKind, ComplaintState
from shared.contracts.identity import Identity, Role, is_province, region_above, region_covers

S = ComplaintState


class Part(StrEnum):
    complainant = "complainant"
    holder = "holder"
    merchant = "merchant"
    handler = "handler"
    dispatcher = "dispatcher"
    supervisor = "supervisor"
    province = "province"
    admin = "admin"
    service = "service"


def parts_of(c: Complaint, actor: Identity) -> frozenset[Part]:
    """The caller's parts in this complaint (none: they may take no action on it)."""
    parts: set[Part] = set()
    if actor.role == Role.admin:
        return frozenset({Part.admin})
    if actor.role == Role.service:
        return frozenset({Part.service})
    if actor.role == Role.consumer and c.consumer_id is not None and c.consumer_id == actor.subject:
        parts.add(Part.complainant)
    elif actor.role == Role.complaint_holder and actor.complaint_id == c.id:
        parts.add(Part.holder)
    elif actor.role == Role.merchant_staff and c.merchant_id is not None and c.merchant_id == actor.merchant_id:
        parts.add(Part.merchant)
        if c.assignee_kind == AssigneeKind.merchant and c.assignee_id == actor.merchant_id:
            parts.add(Part.handler)
    elif actor.role == Role.official and actor.region_code and region_covers(actor.region_code, c.region_code):
        if region_above(actor.region_code, c.region_code):
            parts.add(Part.supervisor)
            if is_province(actor.region_code):
                parts.add(Part.province)
        else:
            parts.add(Part.dispatcher)
            if c.assignee_kind == AssigneeKind.unit:
                parts.add(Part.handler)
    return frozenset(parts)


OFFICIALS = frozenset({Part.dispatcher, Part.supervisor, Part.admin})  # the region's officials or those above it
TOURIST = frozenset({Part.complainant, Part.holder})
CONCLUDED_BY_RESOLUTION = frozenset({S.resolved, S.closed})
BEING_HANDLED = frozenset({S.assigned, S.responded, S.escalated})


@dataclass(frozen=True)
class Action:
    path: str  # the sub-resource: POST /v1/complaints/{id}/<path>
    kind: str  # its timeline entry and event action
    allowed_from: frozenset[ComplaintState]
    to: ComplaintState | None  # None: the complaint's state does not change
    who: frozenset[Part]


def _action(
    path: str,
    kind: str,
    allowed_from: frozenset[ComplaintState] | set[ComplaintState],
    to: ComplaintState | None,
    who: frozenset[Part] | set[Part],
) -> Action:
    return Action(path, kind, frozenset(allowed_from), to, frozenset(who))


ACTIONS: dict[str, Action] = {
    a.path: a
    for a in (
        _action("intake-decisions", "accepted", {S.submitted, S.transferred}, S.accepted, OFFICIALS),
        _action("link-decisions", "link_confirmed", OPEN_STATES, None, OFFICIALS),
        _action(
            "assignments",
            "assigned",
            {S.submitted, S.accepted, S.assigned, S.returned, S.escalated, S.transferred},
            S.assigned,
            OFFICIALS,
        ),
        _action("responses", "responded", BEING_HANDLED, S.responded, {Part.merchant, *OFFICIALS}),
        _action("acceptances", "response_accepted", {S.responded}, S.resolved, TOURIST),
        _action("rejections", "response_rejected", {S.responded}, S.escalated, TOURIST),
        _action(
            "escalations",
            "escalated",
            {S.accepted, S.assigned, S.responded},
            S.escalated,
            {Part.complainant, *OFFICIALS},
        ),
        _action(
            "transfers",
            "transferred",
            {S.submitted, S.accepted, S.assigned, S.returned, S.escalated, S.transferred},
            S.transferred,
            OFFICIALS,
        ),
        _action("withdrawals", "withdrawn", OPEN_STATES, S.withdrawn, {Part.complainant}),
        _action("resolutions", "resolved", BEING_HANDLED, S.resolved, OFFICIALS),
        _action("closures", "closed", {S.resolved}, S.closed, OFFICIALS),
        _action("evaluations", "evaluated", CONCLUDED_BY_RESOLUTION, None, TOURIST),
        _action("callback-visits", "callback_visit", CONCLUDED_BY_RESOLUTION, None, OFFICIALS),
        _action(
            "compensation-requests",
            "compensation_requested",
            (OPEN_STATES | CONCLUDED_BY_RESOLUTION) - {S.submitted, S.transferred},
            None,
            {Part.complainant, *OFFICIALS},
        ),
        # 退回: the handler it was dispatched to sends it back to its dispatcher, who dispatches it anew.
        _action("dispatch-returns", "returned", {S.assigned}, S.returned, {Part.handler, Part.admin}),
        # 延期: the handler (or its region's officials) asks for more time to settle; a supervisor decides.
        _action(
            "extension-requests",
            "extension_requested",
            BEING_HANDLED,
            None,
            {Part.handler, Part.dispatcher, Part.admin},
        ),
        _action(
            "extension-decisions",
            "extension_decided",
            BEING_HANDLED,
            None,
            {Part.supervisor, Part.admin},
        ),
        # 督办: the province to the city, with a deadline of its own for the city's reply.
        _action("supervision-notices", "supervised", OPEN_STATES, None, {Part.province, Part.admin}),
        _action(
            "supervision-replies",
            "supervision_replied",
            frozenset(ComplaintState),
            None,
            {Part.dispatcher, Part.admin},
        ),
        # 合并: a duplicate merged into the complaint kept, which is worked for both.
        _action("merges", "merged", OPEN_STATES, S.not_accepted, OFFICIALS),
        # 重新办理: a concluded complaint worked again, by whoever handled it.
        _action("reopenings", "reopened", CONCLUDED_BY_RESOLUTION, S.assigned, OFFICIALS),
        # A public-opinion notice (舆情通报) repeats a complaint being handled, and is reported back on by a deadline.
        _action("notice-links", "linked", OPEN_STATES, S.not_accepted, OFFICIALS),
        _action("notice-replies", "notice_replied", frozenset(ComplaintState), None, OFFICIALS),
    )
}


def may_take(c: Complaint, actor: Identity, path: str) -> bool:
    """The caller's part lets them take this action on this complaint (whatever its state)."""
    return bool(parts_of(c, actor) & ACTIONS[path].who)


@dataclass(frozen=True)
class Context:
    """What beyond the complaint's row decides whether an action is open now."""

    pending_extension_by: str | None = None  # who asked for the extension waiting for a decision, if one does
    open_notice: bool = False  # a supervision notice waits for the city's reply
    suggested_links: bool = False  # a possible link waits for an official's decision


def ready(c: Complaint, actor: Identity, path: str, ctx: Context) -> bool:
    """The action's own conditions beyond role and state (the service refuses with 409 when they fail)."""
    if path == "escalations" and actor.role == Role.consumer:
        return bool(c.dispose_overdue or c.settle_overdue)
    if path == "evaluations":
        return c.satisfaction is None
    if path == "compensation-requests":
        if c.compensation_requested_at is not None or c.consumer_id is None:
            return False
        if actor.role == Role.consumer:  # once the merchant missed its deadline or its response was rejected
            return bool(c.dispose_overdue or c.settle_overdue or (c.state == S.escalated and c.responded_at))
        return True
    if path == "extension-requests":
        return ctx.pending_extension_by is None and c.settle_by is not None and not c.settle_overdue
    if path == "extension-decisions":
        return ctx.pending_extension_by is not None and ctx.pending_extension_by != actor.subject
    if path == "supervision-notices":
        return not ctx.open_notice
    if path == "supervision-replies":
        return ctx.open_notice
    if path == "link-decisions":
        return ctx.suggested_links
    if path in ("notice-links", "notice-replies"):
        return c.channel == Channel.public_opinion and (path == "notice-links" or c.replied_at is None)
    return True


def available(c: Complaint, actor: Identity, ctx: Context) -> list[str]:
    """The actions the caller may take on the complaint now, in the table's order."""
    parts = parts_of(c, actor)
    if not parts:
        return []
    return [path for path in _open_to(parts, c.state) if ready(c, actor, path, ctx)]


@cache
def _open_to(parts: frozenset[Part], state: str) -> tuple[str, ...]:
    """The actions these parts may take from this state, before their own conditions (a queue page asks this
    for every complaint it shows: the table is walked once per combination)."""
    return tuple(a.path for a in ACTIONS.values() if parts & a.who and state in a.allowed_from)
