"""Public-opinion notices (涉旅信息通报单): a higher command center tells a region of a post elsewhere (a
message-board post). Officials register the notice as a complaint on the `public_opinion` channel (its
deadline to report back comes from the region's `notice_reply_hours`), link it to the complaint it
repeats when it does (seeds/004: the notice matched a 12301 complaint already being handled), and report
back to the center. Reports count notices apart from complaints.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.deadlines import schedule
from services.intake.errors import AlreadyReplied, ComplaintNotFound, NotANotice, TimestampsOutOfOrder
from services.intake.models import Complaint
from services.intake.transitions import Transitions
from services.intake.work import SYSTEM
from shared.auth import may_see
from shared.clock import shanghai_text
from shared.contracts.common import Channel
from shared.contracts.complaints import (
    OPEN_STATES,
    ComplaintState,
    DeadlineKind,
    NotAcceptedReason,
    NoticeLinkIn,
    NoticeReplyIn,
)
from shared.contracts.events import ComplaintOverdue
from shared.contracts.identity import Identity
from shared.errors import InvalidTransition

NOTE_REPEATS = "舆情通报内容与{source}投诉件（{number}）一致，合并办理。"
NOTE_REPLY_OVERDUE = "已超过舆情通报反馈时限（{due}），督办"
NOTE_NOT_REPLIED = "未在反馈时限内向上级指挥中心反馈，已升级处理"
REPLY = DeadlineKind.reply  # as the overdue entry, the event and the scheduler's counter name it
# A notice still being handled escalates to its region's unit, as a complaint that missed its deadline does.
ESCALATES_FROM = frozenset(
    {ComplaintState.accepted, ComplaintState.assigned, ComplaintState.returned, ComplaintState.responded}
)


@dataclass
class Notices:
    """What officials do with a notice, on top of the complaint lifecycle."""

    work: Transitions

    def _notice(self, c: Complaint, actor: Identity, path: str) -> None:
        self.work.authorize(c, actor, path)
        if c.channel != Channel.public_opinion:
            raise NotANotice(f"Complaint {c.id} came by {c.channel}, not as a public-opinion notice.")

    async def link(self, c: Complaint, actor: Identity, body: NoticeLinkIn) -> Complaint:
        """The notice repeats a complaint already being handled: worked as it, its progress heard by both."""
        self._notice(c, actor, "notice-links")
        earlier = await self.work.complaints.get(body.complaint_id, for_update=True)
        if earlier is None or earlier.id == c.id or not may_see(actor, region=earlier.region_code):
            raise ComplaintNotFound(f"Complaint {body.complaint_id} was not found.")
        if c.state not in OPEN_STATES:
            raise InvalidTransition(f"A notice in state {c.state} cannot be linked.", state=c.state, action="linked")
        note = body.note or NOTE_REPEATS.format(
            source=earlier.source_name or earlier.channel, number=earlier.case_number
        )
        c.not_accepted_reason, c.not_accepted_note, c.duplicate_of = NotAcceptedReason.duplicate.value, note, earlier.id
        self.work.link(earlier, c, actor)
        await self.work.move(
            c,
            "linked",
            ComplaintState.not_accepted,
            actor,
            allowed_from=OPEN_STATES,
            note=note,
            data={"reason": NotAcceptedReason.duplicate.value, "duplicate_of": earlier.id},
        )
        return c

    async def reply(self, c: Complaint, actor: Identity, body: NoticeReplyIn) -> Complaint:
        """The region reports back to the center that sent the notice, once; on time or late, as recorded, and
        announced (`complaint.state_changed`, action `notice_replied`, with the reply and `in_time`)."""
        self._notice(c, actor, "notice-replies")
        if c.replied_at is not None:
            raise AlreadyReplied(f"This notice was reported back on {c.replied_at.isoformat()}.")
        now = self.work.clock.now()
        if body.replied_at is not None and (body.replied_at > now or body.replied_at < c.submitted_at):
            raise TimestampsOutOfOrder(
                "A notice is reported back after it was received, and not in the future.",
                errors=[{"field": "body.replied_at", "message": "between the notice's receipt and now"}],
            )
        c.replied_at = body.replied_at or now
        in_time = c.reply_by is None or c.replied_at <= c.reply_by
        data = {
            "reply_by": c.reply_by.isoformat() if c.reply_by else None,
            "replied_at": c.replied_at.isoformat(),
            "in_time": in_time,
        }
        self.work.record(c, "notice_replied", actor, note=body.note, data=data)
        # No state changes, but those following the notice (a partner's case merged into it) hear the reply.
        await self.work.announce(c, "notice_replied", note=body.note, data=data)
        return c

    async def fire_due_replies(self) -> int:
        """Each notice whose reply deadline passed unanswered, once: marked overdue on its timeline (督办), escalated
        to the region's handling unit while it is still being handled, announced (`complaint.overdue`, deadline
        `reply`) and counted with the scheduler's missed deadlines. A reply made later is still recorded, late."""
        work = self.work
        async with work.held_until_the_end():
            notices = await work.due.notice_replies(work.clock.now(), work.settings.scheduler_batch_size)
            for c in notices:
                due = c.reply_by
                assert due is not None  # Due.notice_replies finds only notices with a reply deadline
                c.reply_overdue = True
                data = {"deadline": REPLY, "reply_by": due.isoformat()}
                work.record(c, "overdue", SYSTEM, note=NOTE_REPLY_OVERDUE.format(due=shanghai_text(due)), data=data)
                if c.state in ESCALATES_FROM:
                    await work.escalate(
                        c, SYSTEM, action="escalated", note=NOTE_NOT_REPLIED, allowed_from=ESCALATES_FROM
                    )
                else:
                    schedule(c)  # late in the staff queue while it is open
                await work.emit(c, ComplaintOverdue, deadline=REPLY, due_at=due)
                fired = work.session.info.setdefault("deadlines_fired", {})  # counted once committed
                fired[REPLY] = fired.get(REPLY, 0) + 1
            await work.session.flush()
        return len(notices)
