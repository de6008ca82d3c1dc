"""The deadline job: every deadline that passed fires once, escalating where the rules say."""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.deadlines import schedule
from services.intake.transitions import Transitions
from services.intake.work import SYSTEM
from shared.clock import shanghai_text
from shared.contracts.complaints import ComplaintState, DeadlineKind
from shared.contracts.events import ComplaintOverdue

S = ComplaintState

NOTE_OVERDUE = "已超过{deadline}时限（{due}）"
NOTE_SUPERVISING = "，督办"
NOTE_NOT_DISPOSED = "未在处置时限内答复，已升级处理"
NOTE_NOT_SETTLED = "未在办结时限内办结，已升级处理"
NOTE_SUPERVISION_OVERDUE = "督办回复已超过时限（{due}）"
DEADLINE_LABELS_ZH = {DeadlineKind.accept: "受理", DeadlineKind.dispose: "处置", DeadlineKind.settle: "办结"}


@dataclass
class DeadlineJob:
    """One scheduler pass over what fell due: missed deadlines marked and escalated, late supervision replies marked."""

    work: Transitions

    async def fire_due_deadlines(self) -> int:
        """Mark every deadline that has passed, escalate where it says so; each fires exactly once."""
        async with self.work.held_until_the_end():
            return await self._fire_due_deadlines()

    async def _fire_due_deadlines(self) -> int:
        now = self.work.clock.now()
        fired = 0
        for c in await self.work.due.complaints(now, self.work.settings.scheduler_batch_size):
            kind, due = c.next_deadline_kind, c.next_deadline_at
            if kind is None or due is None or due > now:
                continue
            note = NOTE_OVERDUE.format(deadline=DEADLINE_LABELS_ZH[DeadlineKind(kind)], due=shanghai_text(due))
            if kind == DeadlineKind.accept:
                c.accept_overdue = True
                self.work.record(c, "overdue", SYSTEM, note=note + NOTE_SUPERVISING, data={"deadline": kind})
                schedule(c)
            elif kind == DeadlineKind.dispose:
                c.dispose_overdue = True
                self.work.record(c, "overdue", SYSTEM, note=note, data={"deadline": kind})
                await self.work.escalate(
                    c,
                    SYSTEM,
                    action="escalated",
                    note=NOTE_NOT_DISPOSED,
                    allowed_from={S.accepted, S.assigned, S.returned},
                )
            else:
                c.settle_overdue = True
                self.work.record(c, "overdue", SYSTEM, note=note, data={"deadline": kind})
                await self.work.lapse_extension(c, SYSTEM)  # asked for too late: the deadline it would move is missed
                if c.state != S.escalated:
                    await self.work.escalate(
                        c,
                        SYSTEM,
                        action="escalated",
                        note=NOTE_NOT_SETTLED,
                        allowed_from={S.accepted, S.assigned, S.returned, S.responded},
                    )
                else:
                    schedule(c)
            await self.work.emit(c, ComplaintOverdue, deadline=kind, due_at=due)
            fired += 1
            fired_kinds = self.work.session.info.setdefault("deadlines_fired", {})  # counted once committed
            fired_kinds[kind] = fired_kinds.get(kind, 0) + 1
        await self.work.session.flush()
        return fired

    async def fire_due_supervisions(self) -> int:
        """Mark each supervision notice whose reply deadline passed unanswered, once, on its complaint's timeline."""
        now = self.work.clock.now()
        notices = await self.work.due.supervisions(now, self.work.settings.scheduler_batch_size)
        for notice in notices:
            notice.overdue = True
            self.work.record_on(
                notice.complaint_id,
                "supervision_overdue",
                SYSTEM,
                note=NOTE_SUPERVISION_OVERDUE.format(due=shanghai_text(notice.reply_by)),
                data={"notice_id": notice.id, "reply_by": notice.reply_by.isoformat()},
            )
        await self.work.session.flush()
        return len(notices)
