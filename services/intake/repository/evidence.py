"""A complaint's evidence files as rows: those it holds, one by id, added, and what they and an uploader's recent
uploads amount to (the quotas)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Evidence


class EvidenceRows:
    """The evidence table: files held by complaints (a removed file stays, marked) and the sums the quotas read."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, evidence: Evidence) -> None:
        self.session.add(evidence)

    async def get(self, complaint_id: str, evidence_id: str, *, removed: bool = False) -> Evidence | None:
        """A file of the complaint; one removed only when `removed` is asked for."""
        query = select(Evidence).where(Evidence.id == evidence_id, Evidence.complaint_id == complaint_id)
        if not removed:
            query = query.where(Evidence.removed_at.is_(None))
        return (await self.session.execute(query)).scalar_one_or_none()

    async def files(self, complaint_id: str) -> list[Evidence]:
        """The files a complaint holds, oldest first."""
        query = (
            select(Evidence)
            .where(Evidence.complaint_id == complaint_id, Evidence.removed_at.is_(None))
            .order_by(Evidence.uploaded_at)
        )
        return list((await self.session.scalars(query)).all())

    async def counts(self, complaint_ids: list[str]) -> dict[str, int]:
        if not complaint_ids:
            return {}
        query = (
            select(Evidence.complaint_id, func.count())
            .where(Evidence.complaint_id.in_(complaint_ids), Evidence.removed_at.is_(None))
            .group_by(Evidence.complaint_id)
        )
        return {complaint_id: count for complaint_id, count in (await self.session.execute(query)).all()}

    async def held(self, complaint_id: str) -> tuple[int, int]:
        """How many evidence files a complaint holds, and their total size in bytes."""
        query = select(func.count(), func.coalesce(func.sum(Evidence.size_bytes), 0)).where(
            Evidence.complaint_id == complaint_id, Evidence.removed_at.is_(None)
        )
        count, size = (await self.session.execute(query)).one()
        return int(count), int(size)

    async def uploaded_by(self, subject: str, since: datetime) -> tuple[int, int]:
        """How many evidence files an account has uploaded since `since`, and their total size in bytes (files
        removed since count: an upload removed again is still an upload)."""
        query = select(func.count(), func.coalesce(func.sum(Evidence.size_bytes), 0)).where(
            Evidence.uploaded_by == subject, Evidence.uploaded_at >= since
        )
        count, size = (await self.session.execute(query)).one()
        return int(count), int(size)
