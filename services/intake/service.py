"""Intake's rules: acceptance, the lifecycle, deadlines, escalation. No HTTP here, no SQL text."""

from __future__ import annotations

import asyncio
import difflib
import math
import re
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.config import IntakeSettings
from services.intake.evidence_files import DailyEvidenceQuotaExceeded, EvidenceQuotaExceeded, clean_evidence
from services.intake.filing import filer_of
from services.intake.lifecycle import ACTIONS, BEING_HANDLED, may_take
from services.intake.models import (
    Complaint,
    Evidence,
    ExtensionRequest,
    Merchant,
    PossibleLink,
    SupervisionNotice,
    TimelineEntry,
)
from services.intake.regions import Region, RegionCatalogue
from services.intake.repository import ComplaintRepository, MerchantRepository, may_read
from services.intake.storage import EvidenceStorage, sha256_hex
from shared.clock import SHANGHAI, Clock, shanghai_text
from shared.contracts.common import CHANNEL_LABELS_ZH, Channel
from shared.contracts.compensation import CompensationRequestIn
from shared.contracts.complaints import (
    OPEN_STATES,
    STATE_LABELS_ZH,
    AssigneeKind,
    AssignmentIn,
    AtFault,
    CallbackVisitIn,
    ClosureIn,
    ComplaintState,
    ComplaintSubmit,
    ConsumerVerdictIn,
    DeadlineKind,
    DispatchReturnIn,
    EscalationIn,
    EvaluationIn,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    ExtensionState,
    IntakeDecisionIn,
    LinkDecisionIn,
    MergeIn,
    NotAcceptedReason,
    PossibleLinkState,
    ReopenIn,
    ResolutionIn,
    ResponseIn,
    SupervisionNoticeIn,
    SupervisionReplyIn,
    SupervisionState,
    TransferIn,
    WithdrawalIn,
    case_number_of,
    normalise_case_number,
)
from shared.contracts.events import (
    CompensationRequested,
    ComplaintAccepted,
    ComplaintEvaluated,
    ComplaintEvent,
    ComplaintMerged,
    ComplaintOverdue,
    ComplaintReopened,
    ComplaintResolved,
    ComplaintStateChanged,
    ComplaintSubmitted,
    ComplaintWithdrawn,
)
from shared.contracts.identity import Identity, Role, region_covers
from shared.contracts.notifications import (
    NOTIFICATION_FAILED,
    NOTIFIED,
    NotificationOutcome,
    NotificationOutcomeIn,
    NotificationRecordedOut,
)
from shared.errors import Conflict, Forbidden, InvalidTransition, NotFound, PayloadTooLarge, Problem
from shared.ids import new_id
from shared.outbox import Outbox

S = ComplaintState
MIN_DESCRIPTION_CHARS = 10
SYSTEM = Identity(subject="system", role=Role.service, display_name="system")
COMPENSATION = Identity(subject="compensation", role=Role.service, display_name="先行赔付")
ASK_PAYEE_NAME = "请补充收款人真实姓名以领取先行赔付"


class UnknownMerchant(Problem):
    status, code, title = 422, "unknown_merchant", "Unknown merchant"


class UnknownUnit(Problem):
    status, code, title = 422, "unknown_unit", "Unknown handling unit"


class ActionNotAllowed(Forbidden):
    code, title = "action_not_allowed", "Action not allowed"


class AlreadyEvaluated(Conflict):
    code, title = "already_evaluated", "Already evaluated"


class NotInProgram(Conflict):
    code, title = "merchant_not_in_program", "Merchant not covered"


class AlreadyRequested(Conflict):
    code, title = "compensation_already_requested", "Compensation already requested"


class CompensationWindowClosed(Conflict):
    code, title = "compensation_window_closed", "Too long after closing"


class OccurredInFuture(Problem):
    status, code, title = 422, "validation_failed", "Invalid request"


class TimestampInFuture(Problem):
    status, code, title = 422, "timestamp_in_future", "Timestamp in the future"


class TimestampsOutOfOrder(Problem):
    status, code, title = 422, "timestamps_out_of_order", "Timestamps out of order"


class ContactRevealNotAllowed(Forbidden):
    code, title = "contact_reveal_not_allowed", "Contact reveal not allowed"


class LinkNotFound(NotFound):
    code, title = "link_not_found", "Possible link not found"


class LinkAlreadyDecided(Conflict):
    code, title = "link_already_decided", "Possible link already decided"


class RefundAboveAmountInvolved(Problem):
    status, code, title = 422, "refund_above_amount_involved", "Refund above the amount involved"


class ExtensionPending(Conflict):
    code, title = "extension_pending", "Extension already requested"


class NoPendingExtension(Conflict):
    code, title = "no_pending_extension", "No extension request waits"


class DeadlineAlreadyMissed(Conflict):
    code, title = "deadline_already_missed", "Deadline already missed"


class SupervisionAlreadyOpen(Conflict):
    code, title = "supervision_already_open", "Supervision notice already open"


class NoOpenSupervision(Conflict):
    code, title = "no_open_supervision", "No supervision notice open"


class MergeTargetNotFound(Problem):
    status, code, title = 422, "merge_target_not_found", "Complaint to merge into not found"


class MergeIntoItself(Conflict):
    code, title = "merge_into_itself", "Cannot merge a complaint into itself"


MAX_POSSIBLE_LINKS = 5  # look-alikes flagged on one complaint
SAME_PHONE_SIMILAR = "same_phone_similar_text"


def same_account(a: Complaint, b: Complaint) -> bool:
    """Filed by the same tourist's account, or pushed by the same partner: its repeat may be refused. A shared
    contact phone is never the same account."""
    return bool((a.consumer_id and a.consumer_id == b.consumer_id) or (a.source_id and a.source_id == b.source_id))


CLOCK_SKEW = timedelta(minutes=2)  # how far a channel's clock may run ahead of ours


_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    """Lower-case, full-width folded, punctuation and spaces removed: what 'similar text' compares."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


def similarity(a: str, b: str) -> float:
    a, b = normalise_text(a), normalise_text(b)
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes, rounded up: a response 6 min 10 s after acceptance took 7 minutes."""
    return max(0, math.ceil((end - start).total_seconds() / 60))


def handled_minutes(submitted_at: datetime, concluded_at: datetime) -> int:
    """A complaint's handling time as the reports count it (办结时长): whole minutes from receipt, truncated."""
    return max(0, int((concluded_at - submitted_at).total_seconds() // 60))


QUEUE_LATE, QUEUE_OPEN, QUEUE_CONCLUDED = 0, 1, 2
CONTACT_REVEALED = "contact_revealed"  # the timeline's record of an official seeing the contact in full


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


# --- what the system writes on a complaint ----------------------------------------------------------------
# Tourists read these on their complaint page and in their messages, officials on the timeline: Chinese.
NOTE_NO_MERCHANT = "请写明被投诉的商家：选择已登记的商家，或填写商家名称和地址。"
NOTE_TOO_SHORT = "请至少用{n}个字描述事情经过。"
NOTE_TOO_OLD = "投诉须在消费纠纷发生之日起{days}日内提出。"
NOTE_DUPLICATE = "相同的投诉已经提交（{id}），正在办理中。"
NOTE_LINKED = "同一案件已经由{channel}提交（{id}），将合并办理，办理进展会同步告知您。"
NOTE_CAME_AGAIN = "同一案件又经{channel}提交（{id}），合并办理。"
NOTE_POSSIBLE_LINK = "另一账号经{channel}提交的投诉（{id}）联系电话相同、内容相似，可能是同一案件，请核实后确认或排除。"
NOTE_AUTO_ACCEPTED = "系统自动受理"
NOTE_ODR = "12315在线消费纠纷解决：直接交由入驻企业先行和解"
NOTE_OVERDUE = "已超过{deadline}时限（{due}）"
NOTE_SUPERVISING = "，督办"
NOTE_NOT_DISPOSED = "未在处置时限内答复，已升级处理"
NOTE_NOT_SETTLED = "未在办结时限内办结，已升级处理"
NOTE_MERGED = "经核实与{channel}提交的投诉（{number}）为同一事项，已合并办理，办理进展会同步告知您。"
NOTE_SUPERVISION_OVERDUE = "督办回复已超过时限（{due}）"
NOTE_EXTENSION_LAPSED = "延期申请未经审批即失效（{why}）"
DEADLINE_LABELS_ZH = {DeadlineKind.accept: "受理", DeadlineKind.dispose: "处置", DeadlineKind.settle: "办结"}


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS_ZH.get(channel, channel)


@dataclass
class Intake:
    """The complaint lifecycle, for one unit of work (one request or one scheduler run)."""

    session: AsyncSession
    clock: Clock
    settings: IntakeSettings
    regions: RegionCatalogue
    outbox: Outbox
    storage: EvidenceStorage | None = None
    # Events and timeline entries held back to be written in one INSERT each at the end of a busy step
    # (_held_until_the_end).
    _held: list[ComplaintEvent] | None = field(default=None, init=False)
    _held_timeline: list[dict[str, Any]] | None = field(default=None, init=False)

    @property
    def complaints(self) -> ComplaintRepository:
        return ComplaintRepository(self.session)

    # --- helpers --------------------------------------------------------------------------------
    def _record(self, c: Complaint, kind: str, actor: Identity, **fields: Any) -> None:
        self._record_on(c.id, kind, actor, **fields)

    def _record_on(
        self,
        complaint_id: str,
        kind: str,
        actor: Identity,
        *,
        state_from: str | None = None,
        state_to: str | None = None,
        note: str | None = None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """A timeline entry, held for the one INSERT at the end of a busy step or added to the session."""
        entry = {
            "complaint_id": complaint_id,
            "at": at or self.clock.now(),
            "kind": kind,
            "actor_role": actor.role.value,
            "actor_id": actor.subject,
            "actor_name": actor.display_name,
            "state_from": state_from,
            "state_to": state_to,
            "note": note,
            "data": data,
        }
        if self._held_timeline is not None:
            self._held_timeline.append(entry)
        else:
            self.complaints.add_timeline(TimelineEntry(**entry))

    def _base_event(self, c: Complaint) -> dict[str, Any]:
        return {
            "complaint_id": c.id,
            "case_number": c.case_number,
            "region_code": c.region_code,
            "channel": c.channel,
            "industry": c.industry,
            "merchant_id": c.merchant_id,
            "consumer_id": c.consumer_id,
            "source_id": c.source_id,
            "external_id": c.external_id,
            "links": c.links or [],
        }

    @asynccontextmanager
    async def _held_until_the_end(self) -> AsyncIterator[None]:
        """Hold the timeline entries and events written inside and write each kind in one INSERT at the end
        (after the complaints themselves): a submission writes three entries and five events, a scheduler
        pass two or three of each for every deadline it fires."""
        self._held, self._held_timeline = [], []
        try:
            yield
            await self.session.flush()
            await self.complaints.add_timeline_rows(self._held_timeline)
            await self.outbox.emit_all(self.session, self._held)
        finally:
            self._held = self._held_timeline = None

    async def _emit(self, c: Complaint, event_type: type[ComplaintEvent], **fields: Any) -> None:
        event = event_type(**self._base_event(c), **fields)  # as the complaint is now, even when held
        if self._held is not None:
            self._held.append(event)
        else:
            await self.outbox.emit(self.session, event)

    async def _move(
        self,
        c: Complaint,
        action: str,
        to: ComplaintState,
        actor: Identity,
        *,
        allowed_from: frozenset[str] | set[str],
        note: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """One transition: checked against the allowed states, recorded, deadlines recomputed, announced."""
        if c.state not in allowed_from:
            raise InvalidTransition(
                f"A complaint in state {c.state} does not allow {action}.", state=c.state, action=action
            )
        before = c.state
        c.state = to.value
        c.changes = (c.changes or 0) + 1
        self._record(c, action, actor, state_from=before, state_to=to.value, note=note, data=data)
        if before in BEING_HANDLED and to not in BEING_HANDLED:
            await self._lapse_extension(c, actor)
        self._schedule(c)
        await self._emit(
            c,
            ComplaintStateChanged,
            action=action,
            state_from=before,
            state_to=to.value,
            note=note,
            data=data,
            revision=c.changes,
        )

    def _schedule(self, c: Complaint) -> None:
        """Point the complaint at its next pending deadline (what the scheduler's index looks at)."""
        kind, due = None, None
        if c.state in (S.submitted, S.transferred):
            if not c.accept_overdue:
                kind, due = DeadlineKind.accept, c.accept_by
        elif c.state in (S.accepted, S.assigned, S.returned) and c.responded_at is None and not c.dispose_overdue:
            kind, due = DeadlineKind.dispose, c.dispose_by
        elif c.state in (S.accepted, S.assigned, S.returned, S.responded, S.escalated) and not c.settle_overdue:
            kind, due = DeadlineKind.settle, c.settle_by
        c.next_deadline_kind = kind.value if kind and due else None
        c.next_deadline_at = due if kind else None
        c.queue_rank, c.queue_at = queue_position(c)

    def _authorize(self, c: Complaint, actor: Identity, path: str) -> None:
        """The caller's part in the complaint lets them take this action (services/intake/lifecycle.py)."""
        if not may_take(c, actor, path):
            raise ActionNotAllowed(f"Your part in this complaint does not allow {path}.", action=ACTIONS[path].kind)

    def _check_state(self, c: Complaint, path: str) -> None:
        action = ACTIONS[path]
        if c.state not in action.allowed_from:
            raise InvalidTransition(
                f"A complaint in state {c.state} does not allow {action.kind}.", state=c.state, action=action.kind
            )

    def _check_refund(self, c: Complaint, amount: int | None, field: str) -> None:
        """No refund above what the complaint is about (when it says how much: 0 is 'not stated')."""
        if amount and c.amount_involved_fen and amount > c.amount_involved_fen:
            raise RefundAboveAmountInvolved(
                f"A refund of {amount} fen is more than the {c.amount_involved_fen} fen the complaint is about.",
                errors=[{"field": f"body.{field}", "message": "exceeds amount_involved_fen"}],
            )

    def _require(self, c: Complaint, actor: Identity, *roles: Role, action: str) -> None:
        """The actor may read the complaint (checked before); may they do this to it?"""
        allowed = actor.role in roles and (
            actor.role in (Role.admin, Role.service)
            or (actor.role == Role.consumer and c.consumer_id == actor.subject)
            or (actor.role == Role.complaint_holder and actor.complaint_id == c.id)
            or (actor.role == Role.merchant_staff and c.merchant_id is not None and c.merchant_id == actor.merchant_id)
            or (
                actor.role == Role.official
                and actor.region_code is not None
                and region_covers(actor.region_code, c.region_code)
            )
        )
        if not allowed:
            raise ActionNotAllowed(f"Your role may not {action} this complaint.", action=action)

    # --- submission and acceptance --------------------------------------------------------------
    async def submit(self, actor: Identity, body: ComplaintSubmit) -> Complaint:
        """Register a complaint, then accept and assign it at once where the rules decide."""
        async with self._held_until_the_end():
            return await self._submit(actor, body)

    async def _submit(self, actor: Identity, body: ComplaintSubmit) -> Complaint:
        filer = filer_of(actor, body)  # who may file this, before anything else is looked at
        now = self.clock.now()
        region = self.regions.served(body.region_code)
        received_at = self._channel_times(actor, body, now)
        if body.occurred_at > now + timedelta(minutes=10):
            raise OccurredInFuture(
                "The event cannot have happened in the future.",
                message="validation_failed.future",
                errors=[{"field": "body.occurred_at", "message": "is in the future"}],
            )
        channel, consumer_id, source_id = filer.channel, filer.consumer_id, filer.source_id
        external_id = body.external_id if source_id else None
        if source_id and external_id is not None:
            earlier = await self.complaints.by_external_id(source_id, external_id)
            if earlier is not None:
                return earlier  # the same case pushed again
        merchant = await self._merchant_named(body)
        c = Complaint(
            id=new_id("cmp"),
            consumer_id=consumer_id,
            channel=channel.value,
            source_id=source_id,
            external_id=external_id,
            region_code=region.code,
            merchant_id=merchant.id if merchant else None,
            merchant_name=merchant.name if merchant else (body.merchant_name or ""),
            merchant_address=body.merchant_address,
            industry=body.industry.value,
            description=body.description,
            amount_involved_fen=body.amount_involved_fen,
            remedy=body.remedy.value,
            occurred_at=body.occurred_at,
            contact_name=body.contact_name,
            contact_phone=body.contact_phone,
            state=S.submitted.value,
            source_name=(body.source_name if actor.role != Role.consumer else None)
            or region.source_name(channel.value, source_id, actor.display_name if source_id else None),
            submitted_at=received_at or now,
            dispatched_at=body.dispatched_at,
            arrived_at=now if received_at else None,
            accept_by=now + region.sla.accept,
            accept_overdue=False,
            dispose_overdue=False,
            settle_overdue=False,
            amount_refunded_fen=0,
        )
        self._choose_unit(c, region)
        if channel == Channel.public_opinion:  # the center that sent the notice wants an answer
            c.reply_by = body.reply_by or c.submitted_at + timedelta(hours=region.settings.notice_reply_hours)
        day = c.submitted_at.astimezone(SHANGHAI).date()
        c.case_number = case_number_of(region.code, day, await self.complaints.next_case_seq(region.code, day))
        self._schedule(c)
        self.complaints.add(c)
        submitted: dict[str, Any] = {"channel": channel.value}
        if external_id:
            submitted["external_id"] = external_id
        for name in ("received_at", "dispatched_at"):
            if getattr(body, name) is not None:
                submitted[name] = getattr(body, name).isoformat()
        if body.merchant_uscc and merchant is None:
            submitted["merchant_uscc"] = body.merchant_uscc  # named by the channel, not registered here
        self._record(c, "submitted", actor, state_to=S.submitted.value, data=submitted)
        await self._emit(c, ComplaintSubmitted, amount_involved_fen=c.amount_involved_fen)
        c.changes = 1
        await self._emit(
            c,
            ComplaintStateChanged,
            action="submitted",
            state_from=None,
            state_to=S.submitted.value,
            revision=c.changes,
        )

        suggestions: list[tuple[Complaint, float]] = []
        refusal = await self._acceptance_refusal(c, merchant, suggestions)
        if refusal is None and suggestions:
            await self._flag_possible_links(c, suggestions)
        if refusal is not None:
            reason, note, duplicate_of, linked = refusal
            c.not_accepted_reason, c.not_accepted_note, c.duplicate_of = reason.value, note, duplicate_of
            # The same case from another channel is not refused but worked as the first: its channel hears
            # "linked" (taken in, handled as the first), not a refusal it would dispatch again.
            await self._move(
                c,
                "linked" if linked else "not_accepted",
                S.not_accepted,
                SYSTEM,
                allowed_from={S.submitted},
                note=note,
                data={"reason": reason.value, "duplicate_of": duplicate_of},
            )
        elif c.channel == Channel.platform_12315 and merchant is not None and merchant.settled:
            # 12315 ODR (在线消费纠纷解决): the case goes to the enrolled enterprise to settle with the consumer
            # first, whatever the region's acceptance rule; officials step in if that fails (escalation).
            await self._accept(c, SYSTEM, merchant, note=NOTE_ODR)
        elif region.auto_accept:
            await self._accept(c, SYSTEM, merchant, note=NOTE_AUTO_ACCEPTED)
        await self.session.flush()
        return c

    def _channel_times(self, actor: Identity, body: ComplaintSubmit, now: datetime) -> datetime | None:
        """A channel's own receipt and dispatch times, checked: never in the future, never out of order."""
        stamps = {"received_at": body.received_at, "dispatched_at": body.dispatched_at}
        given = {name: at for name, at in stamps.items() if at is not None}
        if not given:
            return None
        if actor.role == Role.consumer:
            raise Problem(
                "Only channels and staff say when a case was received.",
                status=422,
                code="validation_failed",
                message="validation_failed.received_at",
                errors=[{"field": f"body.{name}", "message": "not for consumers"} for name in given],
            )
        future = [name for name, at in given.items() if at > now + CLOCK_SKEW]
        if future:
            raise TimestampInFuture(
                "A channel cannot have received or dispatched a case in the future.",
                errors=[{"field": f"body.{name}", "message": "is in the future"} for name in future],
            )
        received, dispatched = body.received_at, body.dispatched_at
        if (received and received < body.occurred_at - CLOCK_SKEW) or (
            received and dispatched and dispatched < received
        ):
            raise TimestampsOutOfOrder(
                "The event, its receipt and its dispatch must follow each other.",
                errors=[{"field": "body.received_at", "message": "after occurred_at and before dispatched_at"}],
            )
        return min(received or dispatched or now, now)  # type: ignore[type-var]

    async def _merchant_named(self, body: ComplaintSubmit) -> Merchant | None:
        """The registered merchant the complaint names, by id or (channels) by its credit code."""
        merchants = MerchantRepository(self.session)
        merchant = None
        if body.merchant_id:
            merchant = await merchants.get(body.merchant_id)
            if merchant is None:
                raise UnknownMerchant(f"No merchant {body.merchant_id} is registered.", field="merchant_id")
        if body.merchant_uscc:
            by_code = await merchants.by_uscc(body.merchant_uscc)
            if merchant is not None and by_code is not None and by_code.id != merchant.id:
                raise UnknownMerchant(
                    f"Merchant {merchant.id} does not have the credit code {body.merchant_uscc}.", field="merchant_uscc"
                )
            merchant = merchant or by_code
        return merchant

    def _link(self, first: Complaint, again: Complaint, actor: Identity) -> None:
        """The same case from a second channel: the first is worked, and its progress goes to both (each
        through its own channel). By the system only for the same account; otherwise an official confirms."""
        link = {
            "complaint_id": again.id,
            "case_number": again.case_number,
            "channel": again.channel,
            "source_id": again.source_id,
            "external_id": again.external_id,
            "consumer_id": again.consumer_id,
        }
        first.links = [*(first.links or []), link]
        note = NOTE_CAME_AGAIN.format(channel=channel_label(again.channel), id=again.id)
        self._record(first, "linked", actor, note=note, data=link)

    async def _flag_possible_links(self, c: Complaint, suggestions: list[tuple[Complaint, float]]) -> None:
        """Put another account's look-alike complaints before the region's officials, on both timelines."""
        await self.session.flush()  # the complaint's row before the links that refer to it
        now = self.clock.now()
        for earlier, alike in suggestions[:MAX_POSSIBLE_LINKS]:
            link = PossibleLink(
                id=new_id("lnk"),
                complaint_id=c.id,
                other_id=earlier.id,
                reason=SAME_PHONE_SIMILAR,
                similarity=round(alike, 3),
                state=PossibleLinkState.suggested.value,
                flagged_at=now,
            )
            self.complaints.add_possible_link(link)
            for this, other in ((c, earlier), (earlier, c)):
                self._record(
                    this,
                    "possible_link",
                    SYSTEM,
                    note=NOTE_POSSIBLE_LINK.format(channel=channel_label(other.channel), id=other.id),
                    data={"link_id": link.id, "complaint_id": other.id, "similarity": link.similarity},
                )

    async def decide_link(self, c: Complaint, actor: Identity, body: LinkDecisionIn) -> Complaint:
        """An official confirms a possible link (the later complaint is worked as the earlier) or dismisses it."""
        self._authorize(c, actor, "link-decisions")
        link = await self.complaints.get_possible_link(body.link_id, for_update=True)
        if link is None or c.id not in (link.complaint_id, link.other_id):
            raise LinkNotFound(f"Complaint {c.id} has no possible link {body.link_id}.")
        if link.state != PossibleLinkState.suggested:
            raise LinkAlreadyDecided(f"This possible link was already {link.state}.", state=link.state)
        other = await self.complaints.get(
            link.other_id if link.complaint_id == c.id else link.complaint_id, for_update=True
        )
        assert other is not None
        self._authorize(other, actor, "link-decisions")
        later, earlier = (c, other) if link.complaint_id == c.id else (other, c)
        link.decided_at, link.decided_by, link.decided_by_name = self.clock.now(), actor.subject, actor.display_name
        link.note = body.note
        data = {"link_id": link.id, "worked_as": earlier.id, "linked": later.id}
        if not body.confirm:
            link.state = PossibleLinkState.dismissed.value
            for this in (later, earlier):
                self._record(this, "link_dismissed", actor, note=body.note, data=data)
            return c
        if earlier.state not in OPEN_STATES:
            raise InvalidTransition(
                f"The earlier complaint {earlier.id} is {earlier.state}: nothing to link to.",
                state=earlier.state,
                action="linked",
            )
        if later.compensation_requested_at is not None:
            raise Conflict(
                f"Compensation was requested on {later.id}; it is worked on its own.",
                code="compensation_already_requested",
            )
        link.state = PossibleLinkState.confirmed.value
        for this in (later, earlier):
            self._record(this, "link_confirmed", actor, note=body.note, data=data)
        note = NOTE_LINKED.format(channel=channel_label(earlier.channel), id=earlier.id)
        await self._merge_into(later, earlier, actor, note=note, data={"link_id": link.id})
        return c

    async def _acceptance_refusal(
        self, c: Complaint, merchant: Merchant | None, suggestions: list[tuple[Complaint, float]]
    ) -> tuple[NotAcceptedReason, str, str | None, bool] | None:
        """Why the complaint is not accepted, if it is not: too little said, too old, or the same account's
        repeat. Another account's complaint that looks the same goes into `suggestions`, never refused."""
        now = self.clock.now()
        if not c.merchant_id and not c.merchant_name:
            return (NotAcceptedReason.insufficient_information, NOTE_NO_MERCHANT, None, False)
        if len(normalise_text(c.description)) < MIN_DESCRIPTION_CHARS:
            return (
                NotAcceptedReason.insufficient_information,
                NOTE_TOO_SHORT.format(n=MIN_DESCRIPTION_CHARS),
                None,
                False,
            )
        if c.occurred_at < now - timedelta(days=self.settings.complaint_window_days):
            return (
                NotAcceptedReason.out_of_scope,
                NOTE_TOO_OLD.format(days=self.settings.complaint_window_days),
                None,
                False,
            )
        since = now - timedelta(hours=self.settings.duplicate_window_hours)
        for earlier in await self.complaints.recent_by_person(c.consumer_id, c.contact_phone, since):
            if earlier.id == c.id:
                continue
            same_merchant = (
                earlier.merchant_id == c.merchant_id
                if c.merchant_id
                else normalise_text(earlier.merchant_name) == normalise_text(c.merchant_name)
            )
            alike = similarity(earlier.description, c.description) if same_merchant else 0.0
            if alike < self.settings.duplicate_similarity:
                continue
            if not same_account(earlier, c):
                # Another account with the same phone: contact data, never an identity. The complaint is worked
                # as its own; an official of the region decides whether it is the same case.
                suggestions.append((earlier, alike))
                continue
            if earlier.channel != c.channel or earlier.source_id != c.source_id:
                self._link(earlier, c, SYSTEM)
                return (
                    NotAcceptedReason.duplicate,
                    NOTE_LINKED.format(channel=channel_label(earlier.channel), id=earlier.id),
                    earlier.id,
                    True,
                )
            return (NotAcceptedReason.duplicate, NOTE_DUPLICATE.format(id=earlier.id), earlier.id, False)
        return None

    async def _accept(self, c: Complaint, actor: Identity, merchant: Merchant | None, note: str | None) -> None:
        now = self.clock.now()
        sla = self.regions.get(c.region_code).sla
        c.accepted_at, c.dispose_by, c.settle_by = now, now + sla.dispose, now + sla.settle
        await self._move(c, "accepted", S.accepted, actor, allowed_from={S.submitted, S.transferred}, note=note)
        if merchant is not None and merchant.settled:
            self._assign_to(c, AssigneeKind.merchant, merchant.id, merchant.name)
        else:
            self._assign_to_unit(c)
        await self._emit(c, ComplaintAccepted, assigned_to=f"{c.assignee_kind}:{c.assignee_id}")
        await self._move(
            c,
            "assigned",
            S.assigned,
            actor,
            allowed_from={S.accepted},
            data={"assignee_kind": c.assignee_kind, "assignee_id": c.assignee_id, "assignee_name": c.assignee_name},
        )

    def _assign_to(self, c: Complaint, kind: AssigneeKind, assignee_id: str, name: str | None) -> None:
        c.assignee_kind, c.assignee_id, c.assignee_name = kind.value, assignee_id, name
        c.assigned_at = self.clock.now()

    def _choose_unit(self, c: Complaint, region: Region) -> None:
        """The handling unit (处理单位) the region's rules choose for the complaint (industry x region x source)."""
        unit = region.unit_for(industry=c.industry, channel=c.channel, source=c.source_name, region_code=c.region_code)
        c.unit_id, c.unit_name = (unit.id, unit.name) if unit else (None, None)

    def _assign_to_unit(self, c: Complaint) -> None:
        if c.unit_id is None:
            self._choose_unit(c, self.regions.get(c.region_code))
        self._assign_to(c, AssigneeKind.unit, c.unit_id or c.region_code, c.unit_name)

    async def decide(self, c: Complaint, actor: Identity, body: IntakeDecisionIn) -> Complaint:
        """An official accepts (受理) or declines (不予受理) a complaint waiting for a decision."""
        self._authorize(c, actor, "intake-decisions")
        if body.accept:
            merchant = await MerchantRepository(self.session).get(c.merchant_id) if c.merchant_id else None
            await self._accept(c, actor, merchant, note=body.note)
        else:
            if body.reason is None:
                raise Problem(
                    "Say why the complaint is not accepted.",
                    status=422,
                    code="validation_failed",
                    message="validation_failed.reason",
                    errors=[{"field": "body.reason", "message": "required when accept is false"}],
                )
            c.not_accepted_reason, c.not_accepted_note = body.reason.value, body.note
            await self._move(
                c,
                "not_accepted",
                S.not_accepted,
                actor,
                allowed_from=ACTIONS["intake-decisions"].allowed_from,
                note=body.note,
                data={"reason": body.reason.value},
            )
        return c

    # --- handling -------------------------------------------------------------------------------
    async def assign(self, c: Complaint, actor: Identity, body: AssignmentIn) -> Complaint:
        self._authorize(c, actor, "assignments")
        if body.kind == AssigneeKind.merchant:
            merchant_id = body.merchant_id or c.merchant_id
            merchant = await MerchantRepository(self.session).get(merchant_id) if merchant_id else None
            if merchant is None:
                raise UnknownMerchant("Only a registered merchant can be assigned a complaint.", field="merchant_id")
            c.merchant_id, c.merchant_name = merchant.id, merchant.name
            self._assign_to(c, AssigneeKind.merchant, merchant.id, merchant.name)
        else:
            if body.unit_id is not None:
                unit = self.regions.get(c.region_code).unit(body.unit_id)
                if unit is None:
                    raise UnknownUnit(f"Region {c.region_code} has no handling unit {body.unit_id}.", field="unit_id")
                c.unit_id, c.unit_name = unit.id, unit.name
            self._assign_to_unit(c)
        if c.accepted_at is None:  # assigning a transferred or waiting complaint accepts it
            sla = self.regions.get(c.region_code).sla
            now = self.clock.now()
            c.accepted_at, c.dispose_by, c.settle_by = now, now + sla.dispose, now + sla.settle
        await self._move(
            c,
            "assigned",
            S.assigned,
            actor,
            allowed_from=ACTIONS["assignments"].allowed_from,
            note=body.note,
            data={"assignee_kind": c.assignee_kind, "assignee_id": c.assignee_id, "assignee_name": c.assignee_name},
        )
        return c

    async def respond(self, c: Complaint, actor: Identity, body: ResponseIn) -> Complaint:
        """The merchant's or handler's response (处置): the first one stops the 30-minute clock."""
        self._authorize(c, actor, "responses")
        self._check_refund(c, body.offered_refund_fen, "offered_refund_fen")
        now = self.clock.now()
        first = c.responded_at is None
        if first:
            c.responded_at = now
        c.response_text, c.offered_refund_fen = body.message, body.offered_refund_fen
        data: dict[str, Any] = {"offered_refund_fen": body.offered_refund_fen}
        if first and c.accepted_at is not None:
            data["minutes_to_respond"] = minutes_between(c.accepted_at, now)
            data["in_time"] = c.dispose_by is None or now <= c.dispose_by
        await self._move(
            c,
            "responded",
            S.responded,
            actor,
            allowed_from=ACTIONS["responses"].allowed_from,
            note=body.message,
            data=data,
        )
        return c

    async def accept_response(self, c: Complaint, actor: Identity, body: ConsumerVerdictIn) -> Complaint:
        """The complainant accepts the response: the complaint is resolved on its terms."""
        self._authorize(c, actor, "acceptances")
        if c.state != S.responded:
            raise InvalidTransition("There is no response to accept.", state=c.state, action="acceptance")
        return await self._resolve(
            c,
            actor,
            outcome="response_accepted",
            at_fault=AtFault.undetermined,
            refunded=c.offered_refund_fen or 0,
            note=body.note,
            action="response_accepted",
        )

    async def reject_response(self, c: Complaint, actor: Identity, body: ConsumerVerdictIn) -> Complaint:
        """The complainant rejects the response: officials mediate."""
        self._authorize(c, actor, "rejections")
        return await self._escalate(
            c, actor, action="response_rejected", note=body.note, allowed_from=ACTIONS["rejections"].allowed_from
        )

    async def escalate(self, c: Complaint, actor: Identity, body: EscalationIn) -> Complaint:
        self._authorize(c, actor, "escalations")
        if actor.role == Role.consumer and not (c.dispose_overdue or c.settle_overdue):
            raise InvalidTransition(
                "A complaint can be escalated by its complainant once a deadline is missed; "
                "until then, reject the response instead.",
                state=c.state,
                action="escalated",
            )
        return await self._escalate(
            c, actor, action="escalated", note=body.reason, allowed_from=ACTIONS["escalations"].allowed_from
        )

    async def _escalate(
        self,
        c: Complaint,
        actor: Identity,
        *,
        action: str,
        note: str | None,
        allowed_from: frozenset[ComplaintState] | set[ComplaintState],
    ) -> Complaint:
        c.escalated_at = self.clock.now()
        self._assign_to_unit(c)
        await self._move(
            c, action, S.escalated, actor, allowed_from=allowed_from, note=note, data={"assignee_name": c.assignee_name}
        )
        return c

    async def transfer(self, c: Complaint, actor: Identity, body: TransferIn) -> Complaint:
        """Hand the complaint to another jurisdiction (转办); its clock starts again there."""
        self._authorize(c, actor, "transfers")
        target = self.regions.served(body.region_code)
        if target.code == c.region_code:
            raise Conflict("The complaint is already in that region.", code="same_region")
        now = self.clock.now()
        origin = c.region_code
        allowed = ACTIONS["transfers"].allowed_from
        self._check_state(c, "transfers")
        c.transferred_from, c.region_code = origin, target.code
        c.accept_by, c.accepted_at, c.dispose_by, c.settle_by = now + target.sla.accept, None, None, None
        c.accept_overdue = c.dispose_overdue = c.settle_overdue = False
        self._choose_unit(c, target)
        self._assign_to_unit(c)
        await self._move(
            c,
            "transferred",
            S.transferred,
            actor,
            allowed_from=allowed,
            note=body.reason,
            data={"from_region": origin, "to_region": target.code},
        )
        return c

    async def withdraw(self, c: Complaint, actor: Identity, body: WithdrawalIn) -> Complaint:
        self._authorize(c, actor, "withdrawals")
        await self._move(
            c, "withdrawn", S.withdrawn, actor, allowed_from=ACTIONS["withdrawals"].allowed_from, note=body.reason
        )
        await self._emit(c, ComplaintWithdrawn, reason=body.reason)
        return c

    async def resolve(self, c: Complaint, actor: Identity, body: ResolutionIn) -> Complaint:
        """An official records how the complaint was settled (办结), who was at fault, what was refunded."""
        self._authorize(c, actor, "resolutions")
        self._check_refund(c, body.amount_refunded_fen, "amount_refunded_fen")
        return await self._resolve(
            c,
            actor,
            outcome=body.outcome,
            at_fault=body.at_fault,
            refunded=body.amount_refunded_fen,
            note=body.note,
            action="resolved",
        )

    async def _resolve(
        self,
        c: Complaint,
        actor: Identity,
        *,
        outcome: str,
        at_fault: AtFault,
        refunded: int,
        note: str | None,
        action: str,
    ) -> Complaint:
        now = self.clock.now()
        allowed = ACTIONS["resolutions"].allowed_from
        if c.state not in allowed:
            raise InvalidTransition(
                f"A complaint in state {c.state} does not allow {action}.", state=c.state, action=action
            )
        c.resolved_at, c.outcome, c.at_fault, c.amount_refunded_fen = now, outcome, at_fault.value, refunded
        c.handled_minutes = handled_minutes(c.submitted_at, now)
        await self._move(
            c,
            action,
            S.resolved,
            actor,
            allowed_from=allowed,
            note=note,
            data={"outcome": outcome, "at_fault": at_fault.value, "amount_refunded_fen": refunded},
        )
        minutes = minutes_between(c.accepted_at, c.responded_at) if c.accepted_at and c.responded_at else None
        in_time = (c.responded_at <= c.dispose_by) if c.responded_at and c.dispose_by else None
        await self._emit(
            c,
            ComplaintResolved,
            outcome=outcome,
            at_fault=at_fault.value,
            minutes_to_respond=minutes,
            responded_in_time=in_time,
            amount_refunded_fen=refunded,
        )
        return c

    async def close(self, c: Complaint, actor: Identity, body: ClosureIn) -> Complaint:
        self._authorize(c, actor, "closures")
        c.closed_at = self.clock.now()
        await self._move(c, "closed", S.closed, actor, allowed_from=ACTIONS["closures"].allowed_from, note=body.note)
        return c

    async def evaluate(self, c: Complaint, actor: Identity, body: EvaluationIn) -> Complaint:
        """The complainant's satisfaction (1-5); evaluating a resolved complaint closes it."""
        self._authorize(c, actor, "evaluations")
        if c.satisfaction is not None:
            raise AlreadyEvaluated("This complaint has already been evaluated.")
        if c.state not in ACTIONS["evaluations"].allowed_from:
            raise InvalidTransition("Only a resolved complaint can be evaluated.", state=c.state, action="evaluated")
        c.satisfaction, c.evaluation_comment = body.score, body.comment
        await self._emit(c, ComplaintEvaluated, score=body.score)
        data = {"score": body.score}
        if c.state == S.resolved:
            c.closed_at = self.clock.now()
            await self._move(c, "evaluated", S.closed, actor, allowed_from={S.resolved}, note=body.comment, data=data)
        else:
            self._record(c, "evaluated", actor, note=body.comment, data=data)
        return c

    async def callback_visit(self, c: Complaint, actor: Identity, body: CallbackVisitIn) -> Complaint:
        """The handler's callback visit (回访) after settlement; it changes no state."""
        self._authorize(c, actor, "callback-visits")
        if c.state not in ACTIONS["callback-visits"].allowed_from:
            raise InvalidTransition("Callback visits follow a resolution.", state=c.state, action="callback_visit")
        data = {"reached": body.reached, "satisfied": body.satisfied}
        self._record(c, "callback_visit", actor, note=body.note, data=data)
        # No state changes, but the channels the case came from want the visit's outcome (12345 回访).
        c.changes = (c.changes or 0) + 1
        await self._emit(
            c,
            ComplaintStateChanged,
            action="callback_visit",
            state_from=c.state,
            state_to=c.state,
            note=body.note,
            data=data,
            revision=c.changes,
        )
        return c

    # --- returns, extensions, supervision, merges, reopening -----------------------------------------
    async def return_to_dispatcher(self, c: Complaint, actor: Identity, body: DispatchReturnIn) -> Complaint:
        """The handler it was dispatched to sends it back (退回) with a reason; its dispatcher dispatches it anew.
        The deadlines keep running: a return does not stop the clock."""
        self._authorize(c, actor, "dispatch-returns")
        self._check_state(c, "dispatch-returns")
        before = {"assignee_kind": c.assignee_kind, "assignee_id": c.assignee_id, "assignee_name": c.assignee_name}
        c.assignee_kind = c.assignee_id = c.assignee_name = None
        await self._move(
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
        self._authorize(c, actor, "extension-requests")
        self._check_state(c, "extension-requests")
        if c.settle_by is None or c.settle_overdue:
            raise DeadlineAlreadyMissed(
                "An extension is asked for before the settlement deadline passes.", state=c.state
            )
        if await self.complaints.pending_extension(c.id) is not None:
            raise ExtensionPending("An extension request for this complaint waits for a decision already.")
        request = ExtensionRequest(
            id=new_id("ext"),
            complaint_id=c.id,
            state=ExtensionState.requested.value,
            extend_hours=body.extend_hours,
            reason=body.reason,
            requested_at=self.clock.now(),
            requested_by=actor.subject,
            requested_by_name=actor.display_name,
            requested_by_role=actor.role.value,
            due_before=c.settle_by,
        )
        self.complaints.add_extension(request)
        self._record(
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
        self._authorize(c, actor, "extension-decisions")
        self._check_state(c, "extension-decisions")
        request = await self.complaints.pending_extension(c.id, for_update=True)
        if request is None:
            raise NoPendingExtension("No extension request for this complaint waits for a decision.")
        if request.requested_by == actor.subject:
            raise ActionNotAllowed(
                "An extension is decided by someone other than who asked for it.", action="extension"
            )
        now = self.clock.now()
        request.decided_at, request.decided_by, request.decided_by_name = now, actor.subject, actor.display_name
        request.decision_note = body.note
        data: dict[str, Any] = {"extension_id": request.id, "extend_hours": request.extend_hours}
        if not body.approve:
            request.state = ExtensionState.rejected.value
            self._record(c, "extension_rejected", actor, note=body.note, data=data)
            return request
        if c.settle_by is None or c.settle_overdue:
            raise DeadlineAlreadyMissed("The settlement deadline has passed: there is nothing to extend.")
        request.state = ExtensionState.approved.value
        request.due_after = c.settle_by + timedelta(hours=request.extend_hours)
        data.update(due_before=c.settle_by.isoformat(), due_after=request.due_after.isoformat())
        c.settle_by = request.due_after
        self._schedule(c)
        self._record(c, "extension_approved", actor, note=body.note, data=data)
        return request

    async def _lapse_extension(self, c: Complaint, actor: Identity) -> None:
        """A request nobody decided while the complaint was being handled lapses when it stops being handled."""
        request = await self.complaints.pending_extension(c.id)
        if request is None:
            return
        request.state = ExtensionState.lapsed.value
        request.decided_at = self.clock.now()
        why = STATE_LABELS_ZH.get(c.state, c.state) if c.state not in BEING_HANDLED else "已超过办结时限"
        self._record(
            c, "extension_lapsed", actor, note=NOTE_EXTENSION_LAPSED.format(why=why), data={"extension_id": request.id}
        )

    async def issue_supervision(self, c: Complaint, actor: Identity, body: SupervisionNoticeIn) -> SupervisionNotice:
        """The province's supervision notice (督办) to the city handling an open complaint, with a deadline of its
        own for the city's reply; one open at a time."""
        self._authorize(c, actor, "supervision-notices")
        self._check_state(c, "supervision-notices")
        if await self.complaints.open_supervision(c.id) is not None:
            raise SupervisionAlreadyOpen("A supervision notice of this complaint waits for the city's reply already.")
        now = self.clock.now()
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
            reply_by=now + timedelta(hours=body.reply_within_hours),
            overdue=False,
        )
        self.complaints.add_supervision(notice)
        self._record(
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
        self._authorize(c, actor, "supervision-replies")
        notice = await self.complaints.open_supervision(c.id, for_update=True)
        if notice is None:
            raise NoOpenSupervision("No supervision notice of this complaint waits for a reply.")
        now = self.clock.now()
        notice.state = SupervisionState.answered.value
        notice.replied_at, notice.replied_by, notice.replied_by_name = now, actor.subject, actor.display_name
        notice.reply = body.message
        self._record(
            c,
            "supervision_replied",
            actor,
            note=body.message,
            data={"notice_id": notice.id, "in_time": now <= notice.reply_by},
        )
        return notice

    async def fire_due_supervisions(self) -> int:
        """Mark each supervision notice whose reply deadline passed unanswered, once, on its complaint's timeline."""
        now = self.clock.now()
        notices = await self.complaints.due_supervisions(now, self.settings.scheduler_batch_size)
        for notice in notices:
            notice.overdue = True
            self._record_on(
                notice.complaint_id,
                "supervision_overdue",
                SYSTEM,
                note=NOTE_SUPERVISION_OVERDUE.format(due=shanghai_text(notice.reply_by)),
                data={"notice_id": notice.id, "reply_by": notice.reply_by.isoformat()},
            )
        await self.session.flush()
        return len(notices)

    async def merge(self, c: Complaint, actor: Identity, body: MergeIn) -> Complaint:
        """Merge this complaint, a duplicate, into another open one (合并): the other is worked for both, this one
        is not worked any more (not accepted as a duplicate) and its origin hears of the other's progress."""
        self._authorize(c, actor, "merges")
        kept = await self._merge_target(actor, body.into)
        if kept.id == c.id:
            raise MergeIntoItself("A complaint cannot be merged into itself.")
        self._authorize(kept, actor, "merges")
        self._check_state(c, "merges")
        if kept.state not in OPEN_STATES:
            raise InvalidTransition(
                f"The complaint to merge into is {kept.state}: only an open complaint takes another in.",
                state=kept.state,
                action="merged",
            )
        if c.compensation_requested_at is not None:
            raise Conflict(
                f"Compensation was requested on {c.id}; it is worked on its own.", code="compensation_already_requested"
            )
        data = {
            "merged": c.id,
            "merged_case_number": c.case_number,
            "into": kept.id,
            "into_case_number": kept.case_number,
        }
        for this in (c, kept):
            self._record(this, "merged", actor, note=body.reason, data=data)
        # A possible link flagged between the two is decided by the merge.
        for link, other_id, *_ in (await self.complaints.possible_links([c.id])).get(c.id, []):
            if other_id == kept.id and link.state == PossibleLinkState.suggested:
                link.state = PossibleLinkState.confirmed.value
                link.decided_at, link.decided_by = self.clock.now(), actor.subject
                link.decided_by_name, link.note = actor.display_name, body.reason
        note = NOTE_MERGED.format(channel=channel_label(kept.channel), number=kept.case_number or kept.id)
        await self._merge_into(c, kept, actor, note=note, data={"merge_reason": body.reason})
        return c

    async def _merge_target(self, actor: Identity, into: str) -> Complaint:
        number = normalise_case_number(into) if not into.startswith("cmp_") else None
        kept = (
            await self.complaints.by_case_number(number, for_update=True)
            if number
            else await self.complaints.get(into, for_update=True)
        )
        if kept is None or not may_read(actor, kept):
            raise MergeTargetNotFound(
                f"No complaint {into} that you may see.", errors=[{"field": "body.into", "message": "not found"}]
            )
        return kept

    async def _merge_into(
        self, duplicate: Complaint, kept: Complaint, actor: Identity, *, note: str, data: dict[str, Any]
    ) -> None:
        """`duplicate` is worked as `kept` from now on: not accepted as a duplicate of it, linked to it (with every
        case linked to it before) so that each origin hears of the progress through its own channel, and no
        longer counted in the merchant's credit (complaint.merged)."""
        duplicate.not_accepted_reason, duplicate.not_accepted_note = NotAcceptedReason.duplicate.value, note
        duplicate.duplicate_of = kept.id
        self._link(kept, duplicate, actor)
        known = {link.get("complaint_id") for link in kept.links or []}
        carried = [link for link in duplicate.links or [] if link.get("complaint_id") not in known]
        if carried:
            kept.links = [*(kept.links or []), *carried]
        await self._move(
            duplicate,
            "linked",
            S.not_accepted,
            actor,
            allowed_from=OPEN_STATES,
            note=note,
            data={"reason": NotAcceptedReason.duplicate.value, "duplicate_of": kept.id, **data},
        )
        await self._emit(duplicate, ComplaintMerged, merged_into=kept.id)

    async def reopen(self, c: Complaint, actor: Identity, body: ReopenIn) -> Complaint:
        """Work a concluded complaint again (重新办理), by whoever handled it, with a new settlement deadline. Its
        resolution and rating no longer stand (complaint.reopened: credit lifts what they counted); the next
        resolution counts instead, once."""
        self._authorize(c, actor, "reopenings")
        self._check_state(c, "reopenings")
        previous = {
            "outcome": c.outcome,
            "at_fault": c.at_fault,
            "amount_refunded_fen": c.amount_refunded_fen,
            "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
            "closed_at": c.closed_at.isoformat() if c.closed_at else None,
            "satisfaction": c.satisfaction,
        }
        now = self.clock.now()
        c.settle_by, c.settle_overdue = now + self.regions.get(c.region_code).sla.settle, False
        c.resolved_at = c.closed_at = None
        c.outcome = c.at_fault = None
        c.handled_minutes = None
        c.satisfaction, c.evaluation_comment = None, None
        if c.assignee_kind is None:
            self._assign_to_unit(c)
        await self._move(
            c,
            "reopened",
            S.assigned,
            actor,
            allowed_from=ACTIONS["reopenings"].allowed_from,
            note=body.reason,
            data={"previous": previous, "settle_by": c.settle_by.isoformat()},
        )
        await self._emit(
            c,
            ComplaintReopened,
            reason=body.reason,
            previous_outcome=previous["outcome"],
            previous_at_fault=previous["at_fault"],
        )
        return c

    async def reveal_contact(self, c: Complaint, actor: Identity, purpose: str | None) -> TimelineEntry:
        """The complainant's name and phone in full for the official handling the case (to call back, 回访):
        officials of the complaint's region (or above it) and admins; each reveal is on the timeline."""
        if actor.role not in (Role.official, Role.admin):
            raise ContactRevealNotAllowed("Only the officials handling the complaint may see the contact in full.")
        self._require(c, actor, Role.official, Role.admin, action="see the contact of")
        entry = TimelineEntry(
            complaint_id=c.id,
            at=self.clock.now(),
            kind=CONTACT_REVEALED,
            actor_role=actor.role.value,
            actor_id=actor.subject,
            actor_name=actor.display_name,
            note=purpose,
            data={"purpose": purpose, "region_code": actor.region_code},
        )
        self.complaints.add_timeline(entry)
        await self.session.flush()
        return entry

    # --- advance compensation -------------------------------------------------------------------
    async def request_compensation(self, c: Complaint, actor: Identity, body: CompensationRequestIn) -> Complaint:
        """Ask compensation to pay first; the complainant may once a deadline is missed or a response rejected."""
        self._authorize(c, actor, "compensation-requests")
        if c.compensation_requested_at is not None:
            raise AlreadyRequested("Compensation was already requested for this complaint.")
        if c.consumer_id is None:
            raise InvalidTransition(
                "Only a complaint filed from a mini-program account can be paid.",
                state=c.state,
                action="compensation_requested",
            )
        if c.state not in ACTIONS["compensation-requests"].allowed_from:
            raise InvalidTransition(
                f"A complaint in state {c.state} cannot be compensated.", state=c.state, action="compensation_requested"
            )
        after_closing: dict[str, Any] = {}
        if c.state == S.closed:
            # Only so long after closing (per region): then the case is settled for good.
            window = self.regions.get(c.region_code).compensation_after_closing
            closed_at = c.closed_at or c.resolved_at or c.submitted_at
            if self.clock.now() > closed_at + window:
                raise CompensationWindowClosed(
                    f"Compensation can be requested until {window.days} days after closing; this complaint was "
                    f"closed on {shanghai_text(closed_at)}.",
                    state=c.state,
                    closed_at=closed_at.isoformat(),
                    window_days=window.days,
                )
            after_closing = {"after_closing": True, "closed_at": closed_at.isoformat(), "window_days": window.days}
        missed = c.dispose_overdue or c.settle_overdue
        rejected_response = c.state == S.escalated and c.responded_at is not None
        if actor.role == Role.consumer and not (missed or rejected_response):
            raise InvalidTransition(
                "Compensation can be requested once the merchant missed its deadline or you rejected its response.",
                state=c.state,
                action="compensation_requested",
            )
        merchant = await MerchantRepository(self.session).get(c.merchant_id) if c.merchant_id else None
        if merchant is None or not merchant.settled or not merchant.in_compensation_program:
            raise NotInProgram("Only merchants settled in and enrolled in advance compensation are covered.")
        if c.amount_involved_fen and body.amount_requested_fen > c.amount_involved_fen and body.scenario is None:
            raise Problem(
                "The amount requested exceeds the amount involved in the complaint.",
                status=422,
                code="amount_above_involved",
                errors=[{"field": "body.amount_requested_fen", "message": "exceeds amount_involved_fen"}],
            )
        c.compensation_requested_at, c.compensation_state = self.clock.now(), "requested"
        evidence = await self.complaints.evidence_counts([c.id])
        self._record(
            c,
            "compensation_requested",
            actor,
            note=body.reason,
            data={
                "amount_requested_fen": body.amount_requested_fen,
                "scenario": body.scenario,
                "payee_name_given": body.payee_name is not None,  # the name itself goes to compensation only
                **after_closing,
            },
        )
        await self._emit(
            c,
            CompensationRequested,
            amount_requested_fen=body.amount_requested_fen,
            reason=body.reason,
            amount_involved_fen=c.amount_involved_fen,
            evidence_count=evidence.get(c.id, 0),
            liability_clear=c.at_fault == AtFault.merchant or missed,
            scenario=body.scenario,
            facts=body.facts,
            requested_by="consumer" if actor.role == Role.consumer else actor.subject,
        )
        return c

    async def ask_for_payee_name(self, c: Complaint, claim_id: str, amount_fen: int, at: datetime) -> None:
        """The approved compensation waits for the payee's real name (the provider needs it for this amount): the
        timeline says so and the tourist is asked, in the app they complained from, though the state stays."""
        c.compensation_state = "awaiting_payee_name"
        c.changes = (c.changes or 0) + 1
        data = {"claim_id": claim_id, "amount_fen": amount_fen}
        self._record(c, "payee_name_required", COMPENSATION, note=ASK_PAYEE_NAME, data=data, at=at)
        await self._emit(
            c,
            ComplaintStateChanged,
            action="payee_name_required",
            state_from=c.state,
            state_to=c.state,
            note=ASK_PAYEE_NAME,
            data=data,
            revision=c.changes,
            asks_consumer=True,
        )

    def payee_name_given(self, c: Complaint, claim_id: str, by: str, at: datetime) -> None:
        """The payee's name was given on the claim (the name itself stays with compensation)."""
        if c.compensation_state == "awaiting_payee_name":
            c.compensation_state = "approved"
        self._record(c, "payee_name_given", COMPENSATION, data={"claim_id": claim_id, "given_by": by}, at=at)

    # --- evidence -------------------------------------------------------------------------------
    async def add_evidence(self, c: Complaint, actor: Identity, filename: str, content: bytes) -> Evidence:
        """Keep a file as evidence on a complaint: its type read from its bytes, markup refused, a photo
        re-encoded without its EXIF (GPS) data, within the complaint's and the uploader's quota."""
        self._require(c, actor, Role.consumer, Role.merchant_staff, Role.official, Role.admin, action="add evidence to")
        if c.state not in OPEN_STATES and c.state != S.resolved:
            raise InvalidTransition(
                "Evidence can be added while the complaint is open.", state=c.state, action="evidence_added"
            )
        limits = self.settings
        if len(content) > limits.evidence_max_bytes:
            raise PayloadTooLarge(f"Evidence files are limited to {limits.evidence_max_bytes} bytes.")
        if not content:
            raise Problem("The file is empty.", status=422, code="empty_file")
        await self._check_evidence_quota(c, actor, adding=0)  # before the decoding, which costs CPU
        kept = await asyncio.to_thread(clean_evidence, content, limits.evidence_max_image_pixels)
        await self.complaints.lock_ids([c.id])  # two uploads at once cannot both take the last place
        await self._check_evidence_quota(c, actor, adding=len(kept.content))
        evidence_id = new_id("evd")
        key = f"{c.id}/{evidence_id}"
        assert self.storage is not None
        await self.storage.save(key, kept.content, kept.content_type)
        evidence = Evidence(
            id=evidence_id,
            complaint_id=c.id,
            filename=(filename or "evidence")[:200],
            content_type=kept.content_type,
            size_bytes=len(kept.content),
            sha256=sha256_hex(kept.content),
            storage_key=key,
            uploaded_by=actor.subject,
            uploaded_at=self.clock.now(),
        )
        self.complaints.add_evidence(evidence)
        self._record(
            c,
            "evidence_added",
            actor,
            data={"evidence_id": evidence_id, "content_type": kept.content_type, "size_bytes": len(kept.content)},
        )
        return evidence

    async def remove_evidence(self, c: Complaint, actor: Identity, evidence: Evidence) -> None:
        """Remove a file: its uploader while the complaint is open, an admin at any time (a file that shows a
        third party, say). The file is deleted from storage; the row stays out of every list, and the timeline
        says who removed which file."""
        is_admin = actor.role == Role.admin
        if not is_admin and evidence.uploaded_by != actor.subject:
            raise ActionNotAllowed("Only the uploader or an administrator may remove a file.", action="remove evidence")
        self._require(c, actor, Role.consumer, Role.merchant_staff, Role.official, Role.admin, action="remove evidence")
        if not is_admin and c.state not in OPEN_STATES:
            raise InvalidTransition(
                "Evidence can be removed while the complaint is open.", state=c.state, action="evidence_removed"
            )
        if evidence.removed_at is not None:
            return  # removed before: a retry, or a second admin
        evidence.removed_at, evidence.removed_by = self.clock.now(), actor.subject
        self._record(c, "evidence_removed", actor, data={"evidence_id": evidence.id, "size_bytes": evidence.size_bytes})
        await self.session.flush()
        assert self.storage is not None
        await self.storage.delete(evidence.storage_key)  # last: if it fails, the request rolls back and nothing changed

    async def _check_evidence_quota(self, c: Complaint, actor: Identity, *, adding: int) -> None:
        """A complaint holds so many files and bytes; a tourist's or merchant's account uploads so many in any
        24 hours (officials adding what a caller sent are not held to that)."""
        limits = self.settings
        files, size = await self.complaints.evidence_held(c.id)
        if files >= limits.evidence_max_files_per_complaint:
            raise EvidenceQuotaExceeded(
                f"A complaint holds at most {limits.evidence_max_files_per_complaint} files.",
                message="evidence_quota_exceeded.files",
                params={"files": limits.evidence_max_files_per_complaint},
            )
        if size + adding > limits.evidence_max_bytes_per_complaint:
            raise EvidenceQuotaExceeded(
                f"A complaint's files may take at most "
                f"{limits.evidence_max_bytes_per_complaint // (1024 * 1024)} MB together.",
                message="evidence_quota_exceeded.bytes",
                params={"mb": limits.evidence_max_bytes_per_complaint // (1024 * 1024)},
            )
        if actor.role not in (Role.consumer, Role.merchant_staff):
            return
        files, size = await self.complaints.evidence_uploaded_by(actor.subject, self.clock.now() - timedelta(days=1))
        if files >= limits.evidence_daily_files_per_account or size + adding > limits.evidence_daily_bytes_per_account:
            raise DailyEvidenceQuotaExceeded(
                f"An account may upload at most {limits.evidence_daily_files_per_account} files a day, "
                f"{limits.evidence_daily_bytes_per_account // (1024 * 1024)} MB together; try again later.",
                message="evidence_quota_exceeded.daily",
                params={
                    "files": limits.evidence_daily_files_per_account,
                    "mb": limits.evidence_daily_bytes_per_account // (1024 * 1024),
                },
            )

    # --- deadlines ------------------------------------------------------------------------------
    async def fire_due_deadlines(self) -> int:
        """Mark every deadline that has passed, escalate where it says so; each fires exactly once."""
        async with self._held_until_the_end():
            return await self._fire_due_deadlines()

    async def _fire_due_deadlines(self) -> int:
        now = self.clock.now()
        fired = 0
        for c in await self.complaints.due(now, self.settings.scheduler_batch_size):
            kind, due = c.next_deadline_kind, c.next_deadline_at
            if kind is None or due is None or due > now:
                continue
            note = NOTE_OVERDUE.format(deadline=DEADLINE_LABELS_ZH[kind], due=shanghai_text(due))
            if kind == DeadlineKind.accept:
                c.accept_overdue = True
                self._record(c, "overdue", SYSTEM, note=note + NOTE_SUPERVISING, data={"deadline": kind})
                self._schedule(c)
            elif kind == DeadlineKind.dispose:
                c.dispose_overdue = True
                self._record(c, "overdue", SYSTEM, note=note, data={"deadline": kind})
                await self._escalate(
                    c,
                    SYSTEM,
                    action="escalated",
                    note=NOTE_NOT_DISPOSED,
                    allowed_from={S.accepted, S.assigned, S.returned},
                )
            else:
                c.settle_overdue = True
                self._record(c, "overdue", SYSTEM, note=note, data={"deadline": kind})
                await self._lapse_extension(c, SYSTEM)  # asked for too late: the deadline it would move is missed
                if c.state != S.escalated:
                    await self._escalate(
                        c,
                        SYSTEM,
                        action="escalated",
                        note=NOTE_NOT_SETTLED,
                        allowed_from={S.accepted, S.assigned, S.returned, S.responded},
                    )
                else:
                    self._schedule(c)
            await self._emit(c, ComplaintOverdue, deadline=kind, due_at=due)
            fired += 1
            fired_kinds = self.session.info.setdefault("deadlines_fired", {})  # counted once committed
            fired_kinds[kind] = fired_kinds.get(kind, 0) + 1
        await self.session.flush()
        return fired

    # --- notifications to the complainant -------------------------------------------------------
    async def record_notifications(
        self, actor: Identity, outcomes: list[NotificationOutcomeIn]
    ) -> list[NotificationRecordedOut]:
        """Put on the timeline whether each complainant was told of a change (the gateway's notifications):
        once per notification, however often it is reported (a retry after a lost answer adds nothing).
        The complaints are locked first, in id order, so two reports of one notification never both write."""
        ids = sorted({outcome.complaint_id for outcome in outcomes})
        found = await self.complaints.lock_ids(ids)
        recorded = await self.complaints.notifications_recorded(ids)
        results = []
        for outcome in outcomes:
            if outcome.complaint_id not in found:
                results.append(
                    NotificationRecordedOut(
                        notification_id=outcome.notification_id, kind=None, recorded=False, error="complaint_not_found"
                    )
                )
                continue
            kind = recorded.get(outcome.notification_id)
            fresh = kind is None
            if fresh:
                kind = NOTIFIED if outcome.outcome == NotificationOutcome.sent else NOTIFICATION_FAILED
                recorded[outcome.notification_id] = kind
                self._record_on(
                    outcome.complaint_id,
                    kind,
                    actor,
                    at=outcome.at,
                    note=_notification_note(outcome),
                    data={
                        "notification_id": outcome.notification_id,
                        "provider": outcome.provider,
                        "state": outcome.outcome.value,
                        "state_told": outcome.state_told.value,
                        "error": outcome.error,
                        "attempts": outcome.attempts,
                    },
                )
            results.append(NotificationRecordedOut(notification_id=outcome.notification_id, kind=kind, recorded=fresh))
        await self.session.flush()
        return results


_PROVIDER_LABELS = {"wechat": "微信", "alipay": "支付宝", "douyin": "抖音", "kuaishou": "快手"}


def _notification_note(body: NotificationOutcomeIn) -> str:
    by = _PROVIDER_LABELS.get(body.provider or "", body.provider or "")
    state = STATE_LABELS_ZH.get(body.state_told.value, body.state_told.value)
    if body.outcome == NotificationOutcome.sent:
        return f"已通过{by}消息告知投诉人：{state}"
    if body.outcome == NotificationOutcome.refused:
        return f"{by}拒收了告知消息（{state}）：{body.error or '未说明原因'}"
    if body.outcome == NotificationOutcome.failed:
        return f"{by}消息发送{body.attempts}次均失败（{state}）：{body.error}"
    return f"未能告知投诉人（{state}）：{body.error or (f'{by}消息未接入' if by else '投诉人没有小程序登录')}"
