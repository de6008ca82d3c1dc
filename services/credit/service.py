"""Credit's rules for subjects: settling merchants in and announcing them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import Merchant
from shared.clock import Clock
from shared.contracts.events import SubjectRegistered
from shared.contracts.identity import region_prefix
from shared.contracts.merchants import MerchantIn
from shared.errors import Conflict
from shared.ids import new_id
from shared.outbox import Outbox


@dataclass
class Subjects:
    session: AsyncSession
    clock: Clock
    outbox: Outbox

    async def settle_in(self, body: MerchantIn) -> Merchant:
        """Register a merchant and tell intake and compensation (subject.registered)."""
        now = self.clock.now()
        if body.id and await self.session.get(Merchant, body.id) is not None:
            raise Conflict(f"Merchant {body.id} already exists.", code="merchant_exists")
        if await self.session.scalar(select(Merchant.id).where(Merchant.uscc == body.uscc)) is not None:
            raise Conflict(f"A merchant with unified social credit code {body.uscc} is already settled in.",
                           code="uscc_taken")
        merchant = Merchant(
            id=body.id or new_id("mer"), name=body.name, uscc=body.uscc, region_code=body.region_code,
            industry=body.industry.value,
            address=body.address, settled=body.settled, in_compensation_program=body.in_compensation_program,
            revision=1, created_at=now, updated_at=now)
        self.session.add(merchant)
        await self.outbox.emit(self.session, SubjectRegistered(
            subject_id=merchant.id, kind="merchant", name=merchant.name, region_code=merchant.region_code,
            industry=body.industry, settled=merchant.settled,
            in_compensation_program=merchant.in_compensation_program, revision=merchant.revision))
        await self.session.flush()
        return merchant

    async def get(self, merchant_id: str) -> Merchant | None:
        return await self.session.get(Merchant, merchant_id)

    async def search(self, *, region_code: str | None, name: str | None, offset: int, limit: int) -> list[Merchant]:
        query = select(Merchant).where(Merchant.settled.is_(True))
        if region_code:
            query = query.where(Merchant.region_code.startswith(region_prefix(region_code)))
        if name:
            query = query.where(Merchant.name.contains(name))
        query = query.order_by(Merchant.name, Merchant.id).offset(offset).limit(limit)
        return list((await self.session.scalars(query)).all())
