"""What the deadline scheduler claims: open complaints past their next deadline, public-opinion notices past
their reply deadline, supervision notices past theirs, and when the earliest open deadline falls. Each claim
locks its rows and skips those another run holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Complaint, SupervisionNotice
from shared.contracts.common import Channel
from shared.contracts.complaints import OPEN_STATES, SupervisionState
from shared.db import for_update_skip_locked


class Due:
    """The scheduler's reads: each claim takes at most `limit` rows, the most overdue first."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_deadline(self) -> datetime | None:
        """The earliest deadline of any open complaint (the deadline index answers it)."""
        return await self.session.scalar(
            select(func.min(Complaint.next_deadline_at)).where(Complaint.state.in_([s.value for s in OPEN_STATES]))
        )

    async def complaints(self, now: datetime, limit: int) -> list[Complaint]:
        """Open complaints whose next deadline has passed, claimed for this scheduler run."""
        query = (
            select(Complaint)
            .where(Complaint.next_deadline_at <= now, Complaint.state.in_([s.value for s in OPEN_STATES]))
            .order_by(Complaint.next_deadline_at)
            .limit(limit)
            .with_for_update(**for_update_skip_locked(self.session))
        )
        return list((await self.session.scalars(query)).all())

    async def notice_replies(self, now: datetime, limit: int) -> list[Complaint]:
        """Public-opinion notices past their reply deadline, unanswered and not yet marked, claimed for this run."""
        query = (
            select(Complaint)
            .where(
                Complaint.reply_by <= now,
                Complaint.replied_at.is_(None),
                Complaint.reply_overdue.is_(False),
                Complaint.channel == Channel.public_opinion,
            )
            .order_by(Complaint.reply_by)
            .limit(limit)
            .with_for_update(**for_update_skip_locked(self.session))
        )
        return list((await self.session.scalars(query)).all())

    async def supervisions(self, now: datetime, limit: int) -> list[SupervisionNotice]:
        """Open notices past their reply deadline not yet marked, claimed for this run."""
        query = (
            select(SupervisionNotice)
            .where(
                SupervisionNotice.state == SupervisionState.open,
                SupervisionNotice.reply_by <= now,
                SupervisionNotice.overdue.is_(False),
            )
            .order_by(SupervisionNotice.reply_by)
            .limit(limit)
            .with_for_update(**for_update_skip_locked(self.session))
        )
        return list((await self.session.scalars(query)).all())
