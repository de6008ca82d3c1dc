"""Oversight of a complaint being handled: returns (退回), extensions (延期), supervision (督办), possible links
and merges (合并), reopening (重新办理)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.intake.deadlines import extended, reply_by, schedule, settle_again
from services.intake.errors import (
    ActionNotAllowed,
    AlreadyRequested,
    DeadlineAlreadyMissed,
    ExtensionPending,
    LinkAlreadyDecided,
    LinkNotFound,
    MergeIntoItself,
    MergeTargetNotFound,
    NoOpenSupervision,
    NoPendingExtension,
    SupervisionAlreadyOpen,
)
from services.intake.lifecycle import ACTIONS
from services.intake.models import Complaint, ExtensionRequest, SupervisionNotice
from services.intake.repository.complaints import may_read
from services.intake.submission import NOTE_LINKED
from services.intake.transitions import Transitions, channel_label
from shared.contracts.complaints import (
    OPEN_STATES,
    ComplaintState,
    DispatchReturnIn,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    ExtensionState,
    LinkDecisionIn,
    MergeIn,
    PossibleLinkState,
    ReopenIn,
    SupervisionNoticeIn,
    SupervisionReplyIn,
    SupervisionState,
    normalise_case_number,
)
from shared.contracts.events import ComplaintReopened
from shared.contracts.identity import Identity
from shared.errors import InvalidTransition
from shared.ids import new_id

S = ComplaintState

NOTE_MERGED = "经核实与{channel}提交的投诉（{number}）为同一事项，已合并办理，办理进展会同步告知您。"


@dataclass
class Oversight:
    """What is done around the main line: a dispatch returned, more time asked for and decided, the province's
    supervision, possible links decided, duplicates merged, concluded complaints worked again."""

    work: Transitions

    async def return_to_dispatcher(self, c: Complaint, actor: Identity, body: DispatchReturnIn) -> Complaint:
        """The handler it was dispatched to sends it back (退回) with a reason; its dispatcher dispatches it anew.
        The deadlines keep running: a return does not stop the clock."""
        self.work.authorize(c, actor, "dispatch-returns")
        self.work.check_state(c, "dispatch-returns")
        before = {"assignee_kind": c.assignee_kind, "assignee_id": c.assignee_id, "assignee_name": c.assignee_name}
        c.assignee_kind = c.assignee_id = c.assignee_name = None
        await self.work.move(
            c,
            "returned",
            S.returned,
            actor,
            allowed_from=ACTIONS["dispatch-returns"].allowed_from,
            note=body.reason,
            data={"returned_by": before},
        )
        return c

    async def request_extension(self, c: Complaint, actor: Identity, body: ExtensionRequestIn) -> ExtensionRequest:
        """The handler asks for more time to settle (延期申请), before the settlement deadline passes; one request
        waits at a time, for a supervising official."""
        self.work.authorize(c, actor, "extension-requests")
        self.work.check_state(c, "extension-requests")
        if c.settle_by is None or c.settle_overdue:
            raise DeadlineAlreadyMissed(
                "An extension is asked for before the settlement deadline passes.", state=c.state
            )
        if await self.work.extensions.pending(c.id) is not None:
            raise ExtensionPending("An extension request for this complaint waits for a decision already.")
        request = ExtensionRequest(
            id=new_id("ext"),
            complaint_id=c.id,
            state=ExtensionState.requested.value,
            extend_hours=body.extend_hours,
            reason=body.reason,
            requested_at=self.work.clock.now(),
            requested_by=actor.subject,
            requested_by_name=actor.display_name,
            requested_by_role=actor.role.value,
            due_before=c.settle_by,
        )
        self.work.extensions.add(request)
        self.work.record(
            c,
            "extension_requested",
            actor,
            note=body.reason,
            data={"extension_id": request.id, "extend_hours": body.extend_hours, "due_before": c.settle_by.isoformat()},
        )
        return request

    async def decide_extension(self, c: Complaint, actor: Identity, body: ExtensionDecisionIn) -> ExtensionRequest:
        """A supervising official approves (the settlement deadline moves by the hours asked) or rejects the
        complaint's pending extension request; never their own."""
        self.work.authorize(c, actor, "extension-decisions")
        self.work.check_state(c, "extension-decisions")
        request = await self.work.extensions.pending(c.id, for_update=True)
        if request is None:
            raise NoPendingExtension("No extension request for this complaint waits for a decision.")
        if request.requested_by == actor.subject:
            raise ActionNotAllowed(
                "An extension is decided by someone other than who asked for it.", action="extension"
            )
        now = self.work.clock.now()
        request.decided_at, request.decided_by, request.decided_by_name = now, actor.subject, actor.display_name
        request.decision_note = body.note
        data: dict[str, Any] = {"extension_id": request.id, "extend_hours": request.extend_hours}
        if not body.approve:
            request.state = ExtensionState.rejected.value
            self.work.record(c, "extension_rejected", actor, note=body.note, data=data)
            return request
        if c.settle_by is None or c.settle_overdue:
            raise DeadlineAlreadyMissed("The settlement deadline has passed: there is nothing to extend.")
        request.state = ExtensionState.approved.value
        request.due_after = extended(c.settle_by, request.extend_hours)
        data.update(due_before=c.settle_by.isoformat(), due_after=request.due_after.isoformat())
        c.settle_by = request.due_after
        schedule(c)
        self.work.record(c, "extension_approved", actor, note=body.note, data=data)
        # No state changes, but the channels the case came from count its deadline (12345 延期).
        await self.work.announce(c, "extension_approved", note=body.note, data=data)
        return request

    async def issue_supervision(self, c: Complaint, actor: Identity, body: SupervisionNoticeIn) -> SupervisionNotice:
        """The province's supervision notice (督办) to the city handling an open complaint, with a deadline of its
        own for the city's reply; one open at a time."""
        self.work.authorize(c, actor, "supervision-notices")
        self.work.check_state(c, "supervision-notices")
        if await self.work.supervisions.open(c.id) is not None:
            raise SupervisionAlreadyOpen("A supervision notice of this complaint waits for the city's reply already.")
        now = self.work.clock.now()
        notice = SupervisionNotice(
            id=new_id("sup"),
            complaint_id=c.id,
            state=SupervisionState.open.value,
            from_region=actor.region_code,
            to_region=c.region_code,
            note=body.note,
            issued_at=now,
            issued_by=actor.subject,
            issued_by_name=actor.display_name,
            reply_by=reply_by(now, body.reply_within_hours),
            overdue=False,
        )
        self.work.supervisions.add(notice)
        self.work.record(
            c,
            "supervised",
            actor,
            note=body.note,
            data={
                "notice_id": notice.id,
                "from_region": notice.from_region,
                "to_region": notice.to_region,
                "reply_by": notice.reply_by.isoformat(),
            },
        )
        return notice

    async def reply_supervision(self, c: Complaint, actor: Identity, body: SupervisionReplyIn) -> SupervisionNotice:
        """The city answers the open supervision notice (督办回复), in time or late."""
        self.work.authorize(c, actor, "supervision-replies")
        notice = await self.work.supervisions.open(c.id, for_update=True)
        if notice is None:
            raise NoOpenSupervision("No supervision notice of this complaint waits for a reply.")
        now = self.work.clock.now()
        notice.state = SupervisionState.answered.value
        notice.replied_at, notice.replied_by, notice.replied_by_name = now, actor.subject, actor.display_name
        notice.reply = body.message
        self.work.record(
            c,
            "supervision_replied",
            actor,
            note=body.message,
            data={"notice_id": notice.id, "in_time": now <= notice.reply_by},
        )
        return notice

    async def decide_link(self, c: Complaint, actor: Identity, body: LinkDecisionIn) -> Complaint:
        """An official confirms a possible link (the later complaint is worked as the earlier) or dismisses it."""
        self.work.authorize(c, actor, "link-decisions")
        link = await self.work.links.get(body.link_id, for_update=True)
        if link is None or c.id not in (link.complaint_id, link.other_id):
            raise LinkNotFound(f"Complaint {c.id} has no possible link {body.link_id}.")
        if link.state != PossibleLinkState.suggested:
            raise LinkAlreadyDecided(f"This possible link was already {link.state}.", state=link.state)
        other = await self.work.complaints.get(
            link.other_id if link.complaint_id == c.id else link.complaint_id, for_update=True
        )
        assert other is not None
        self.work.authorize(other, actor, "link-decisions")
        later, earlier = (c, other) if link.complaint_id == c.id else (other, c)
        link.decided_at, link.decided_by, link.decided_by_name = (
            self.work.clock.now(),
            actor.subject,
            actor.display_name,
        )
        link.note = body.note
        data = {"link_id": link.id, "worked_as": earlier.id, "linked": later.id}
        if not body.confirm:
            link.state = PossibleLinkState.dismissed.value
            for this in (later, earlier):
                self.work.record(this, "link_dismissed", actor, note=body.note, data=data)
            return c
        if earlier.state not in OPEN_STATES:
            raise InvalidTransition(
                f"The earlier complaint {earlier.id} is {earlier.state}: nothing to link to.",
                state=earlier.state,
                action="linked",
            )
        if later.compensation_requested_at is not None:
            raise AlreadyRequested(f"Compensation was requested on {later.id}; it is worked on its own.")
        link.state = PossibleLinkState.confirmed.value
        for this in (later, earlier):
            self.work.record(this, "link_confirmed", actor, note=body.note, data=data)
        note = NOTE_LINKED.format(channel=channel_label(earlier.channel), id=earlier.id)
        await self.work.merge_into(later, earlier, actor, note=note, data={"link_id": link.id})
        return c

    async def merge(self, c: Complaint, actor: Identity, body: MergeIn) -> Complaint:
        """Merge this complaint, a duplicate, into another open one (合并): the other is worked for both, this one
        is not worked any more (not accepted as a duplicate) and its origin hears of the other's progress."""
        self.work.authorize(c, actor, "merges")
        kept = await self._merge_target(actor, body.into)
        if kept.id == c.id:
            raise MergeIntoItself("A complaint cannot be merged into itself.")
        self.work.authorize(kept, actor, "merges")
        self.work.check_state(c, "merges")
        if kept.state not in OPEN_STATES:
            raise InvalidTransition(
                f"The complaint to merge into is {kept.state}: only an open complaint takes another in.",
                state=kept.state,
                action="merged",
            )
        if c.compensation_requested_at is not None:
            raise AlreadyRequested(f"Compensation was requested on {c.id}; it is worked on its own.")
        data = {
            "merged": c.id,
            "merged_case_number": c.case_number,
            "into": kept.id,
            "into_case_number": kept.case_number,
        }
        for this in (c, kept):
            self.work.record(this, "merged", actor, note=body.reason, data=data)
        # A possible link flagged between the two is decided by the merge.
        for link, other_id, *_ in (await self.work.links.of([c.id])).get(c.id, []):
            if other_id == kept.id and link.state == PossibleLinkState.suggested:
                link.state = PossibleLinkState.confirmed.value
                link.decided_at, link.decided_by = self.work.clock.now(), actor.subject
                link.decided_by_name, link.note = actor.display_name, body.reason
        note = NOTE_MERGED.format(channel=channel_label(kept.channel), number=kept.case_number or kept.id)
        await self.work.merge_into(c, kept, actor, note=note, data={"merge_reason": body.reason})
        return c

    async def _merge_target(self, actor: Identity, into: str) -> Complaint:
        number = normalise_case_number(into) if not into.startswith("cmp_") else None
        kept = (
            await self.work.complaints.by_case_number(number, for_update=True)
            if number
            else await self.work.complaints.get(into, for_update=True)
        )
        if kept is None or not may_read(actor, kept):
            raise MergeTargetNotFound(
                f"No complaint {into} that you may see.", errors=[{"field": "body.into", "message": "not found"}]
            )
        return kept

    async def reopen(self, c: Complaint, actor: Identity, body: ReopenIn) -> Complaint:
        """Work a concluded complaint again (重新办理), by whoever handled it, with a new settlement deadline. Its
        resolution and rating no longer stand (complaint.reopened: credit lifts what they counted); the next
        resolution counts instead, once."""
        self.work.authorize(c, actor, "reopenings")
        self.work.check_state(c, "reopenings")
        previous = {
            "outcome": c.outcome,
            "at_fault": c.at_fault,
            "amount_refunded_fen": c.amount_refunded_fen,
            "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
            "closed_at": c.closed_at.isoformat() if c.closed_at else None,
            "satisfaction": c.satisfaction,
        }
        settle_again(c, self.work.clock.now(), self.work.regions.get(c.region_code).sla)
        assert c.settle_by is not None  # settle_again has just set it
        c.resolved_at = c.closed_at = None
        c.outcome = c.at_fault = None
        c.handled_minutes = None
        c.satisfaction, c.evaluation_comment = None, None
        if c.assignee_kind is None:
            self.work.assign_to_unit(c)
        await self.work.move(
            c,
            "reopened",
            S.assigned,
            actor,
            allowed_from=ACTIONS["reopenings"].allowed_from,
            note=body.reason,
            data={"previous": previous, "settle_by": c.settle_by.isoformat()},
        )
        await self.work.emit(
            c,
            ComplaintReopened,
            reason=body.reason,
            previous_outcome=previous["outcome"],
            previous_at_fault=previous["at_fault"],
        )
        return c
