"""Requests at the returns desk (退货监理): read, added, listed in the desk's or a tourist's order, and claimed
when the shop lets the refund deadline pass."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import ReturnRequest
from shared.auth import visible_to as shared_visible_to
from shared.contracts.identity import Identity
from shared.contracts.returns import ReturnState
from shared.db import for_update_skip_locked
from shared.pagination import Keyset, SortKey, key

# Returns: the desk's (open ones nearest refund deadline first, concluded after) and a tourist's newest first.
RETURNS_DESK = Keyset(
    "desk",
    (
        SortKey(ReturnRequest.concluded_at.is_not(None), lambda r: r.concluded_at is not None, bool),
        key(ReturnRequest.refund_by),
        key(ReturnRequest.id),
    ),
)
RETURNS_NEWEST = Keyset("newest", (key(ReturnRequest.requested_at), key(ReturnRequest.id)), descending=True)


class ReturnRepository:
    """The return requests a caller may see, and those the scheduler escalates."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def visible_to(identity: Identity) -> ColumnElement[bool]:
        return shared_visible_to(
            identity,
            consumer=ReturnRequest.consumer_id,
            merchant=ReturnRequest.merchant_id,
            region=ReturnRequest.region_code,
        )

    async def get(self, return_id: str, *, for_update: bool = False) -> ReturnRequest | None:
        query = select(ReturnRequest).where(ReturnRequest.id == return_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    def add(self, request: ReturnRequest) -> None:
        self.session.add(request)

    async def queue(
        self,
        identity: Identity,
        order: Keyset,
        *,
        state: list[ReturnState] | None,
        overdue: bool | None,
        cursor: str | None,
        limit: int,
    ) -> list[ReturnRequest]:
        """The caller's returns in `order` after `cursor`, with one row more when there is more."""
        query = select(ReturnRequest).where(self.visible_to(identity))
        if state:
            query = query.where(ReturnRequest.state.in_([s.value for s in state]))
        if overdue is not None:
            query = query.where(ReturnRequest.overdue.is_(overdue))
        return list((await self.session.scalars(order.page(query, cursor, limit))).all())

    async def due(self, now: datetime, limit: int) -> list[ReturnRequest]:
        """Requests still waiting for the shop past their refund deadline, claimed for this run."""
        query = (
            select(ReturnRequest)
            .where(ReturnRequest.refund_by <= now, ReturnRequest.state == ReturnState.requested)
            .order_by(ReturnRequest.refund_by)
            .limit(limit)
            .with_for_update(**for_update_skip_locked(self.session))
        )
        return list((await self.session.scalars(query)).all())
