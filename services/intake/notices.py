"""Public-opinion notices (涉旅信息通报单): a higher command center tells a region of a post elsewhere (a
message-board post). Officials register the notice as a complaint on the `public_opinion` channel (its
deadline to report back comes from the region's `notice_reply_hours`), link it to the complaint it
repeats when it does (seeds/004: the notice matched a 12301 complaint already being handled), and report
back to the center. Reports count notices apart from complaints.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.errors import AlreadyReplied, ComplaintNotFound, NotANotice, TimestampsOutOfOrder
from services.intake.models import Complaint
from services.intake.transitions import Transitions
from shared.auth import may_see
from shared.contracts.common import Channel
from shared.contracts.complaints import OPEN_STATES, ComplaintState, NotAcceptedReason, NoticeLinkIn, NoticeReplyIn
from shared.contracts.identity import Identity
from shared.errors import InvalidTransition

NOTE_REPEATS = "舆情通报内容与{source}投诉件（{number}）一致，合并办理。"


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
        """The region reports back to the center that sent the notice, once; on time or late, as recorded."""
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
        data = {"reply_by": c.reply_by.isoformat() if c.reply_by else None, "in_time": in_time}
        self.work.record(c, "notice_replied", actor, note=body.note, data=data)
        return c
