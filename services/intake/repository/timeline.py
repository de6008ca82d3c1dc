"""A complaint's timeline: its entries written one by one or in one INSERT, and read back whole or by kind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import TimelineEntry
from shared.contracts.notifications import NOTIFICATION_FAILED, NOTIFIED
from shared.db import table_of


class Timeline:
    """The timeline entries of complaints: what happened to each, in order."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: TimelineEntry) -> None:
        self.session.add(entry)

    async def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Timeline entries in one INSERT, in their order (ids ascend with it), after their complaints."""
        if rows:
            await self.session.execute(insert(table_of(TimelineEntry)), rows)

    async def entries(self, complaint_id: str) -> list[TimelineEntry]:
        query = select(TimelineEntry).where(TimelineEntry.complaint_id == complaint_id).order_by(TimelineEntry.id)
        return list((await self.session.scalars(query)).all())

    async def entries_of_kind(self, complaint_id: str, kind: str) -> list[TimelineEntry]:
        query = (
            select(TimelineEntry)
            .where(TimelineEntry.complaint_id == complaint_id, TimelineEntry.kind == kind)
            .order_by(TimelineEntry.id)
        )
        return list((await self.session.scalars(query)).all())

    async def notifications_recorded(self, complaint_ids: list[str]) -> dict[str, str]:
        """The tourists' notifications already on these complaints' timelines: notification id -> kind."""
        query = select(TimelineEntry.kind, TimelineEntry.data).where(
            TimelineEntry.complaint_id.in_(complaint_ids), TimelineEntry.kind.in_((NOTIFIED, NOTIFICATION_FAILED))
        )
        return {
            data["notification_id"]: kind
            for kind, data in (await self.session.execute(query)).all()
            if data and data.get("notification_id")
        }
