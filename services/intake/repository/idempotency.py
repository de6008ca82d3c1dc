"""The first answers to writes sent with an Idempotency-Key, kept to replay."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import IdempotencyRecord


class IdempotencyRepository:
    """Idempotency records by the caller and key."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, owner: str, key: str) -> IdempotencyRecord | None:
        return await self.session.get(IdempotencyRecord, (owner, key))

    def add(self, record: IdempotencyRecord) -> None:
        self.session.add(record)
