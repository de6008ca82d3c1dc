"""Intake's read model of credit's merchants, kept from credit's events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Merchant


class MerchantRepository:
    """Merchants by id or by their unified social credit code."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, merchant_id: str) -> Merchant | None:
        return await self.session.get(Merchant, merchant_id)

    async def by_uscc(self, uscc: str) -> Merchant | None:
        return await self.session.scalar(select(Merchant).where(Merchant.uscc == uscc).limit(1))

    def add(self, merchant: Merchant) -> None:
        self.session.add(merchant)
