"""What officials oversee on a complaint beside its state: a merchant's extension requests and the city's
supervision notices, each with at most one waiting for a decision or a reply."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import ExtensionRequest, SupervisionNotice
from shared.contracts.complaints import ExtensionState, SupervisionState


class Extensions:
    """A complaint's extension requests: the one pending a decision, and all of them in order."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, request: ExtensionRequest) -> None:
        self.session.add(request)

    async def pending(self, complaint_id: str, *, for_update: bool = False) -> ExtensionRequest | None:
        query = select(ExtensionRequest).where(
            ExtensionRequest.complaint_id == complaint_id, ExtensionRequest.state == ExtensionState.requested
        )
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query.limit(1))).first()

    async def of(self, complaint_id: str) -> list[ExtensionRequest]:
        query = (
            select(ExtensionRequest)
            .where(ExtensionRequest.complaint_id == complaint_id)
            .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)
        )
        return list((await self.session.scalars(query)).all())


class Supervisions:
    """A complaint's supervision notices: the one open for the city's reply, and all of them in order."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, notice: SupervisionNotice) -> None:
        self.session.add(notice)

    async def open(self, complaint_id: str, *, for_update: bool = False) -> SupervisionNotice | None:
        query = select(SupervisionNotice).where(
            SupervisionNotice.complaint_id == complaint_id, SupervisionNotice.state == SupervisionState.open
        )
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query.limit(1))).first()

    async def of(self, complaint_id: str) -> list[SupervisionNotice]:
        query = (
            select(SupervisionNotice)
            .where(SupervisionNotice.complaint_id == complaint_id)
            .order_by(SupervisionNotice.issued_at, SupervisionNotice.id)
        )
        return list((await self.session.scalars(query)).all())
