"""Credit's rules for subjects: merchants settle in and are reviewed; practitioners work for them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.errors import AlreadyReviewed, LicenceTaken, MerchantExists, UsccTaken
from services.credit.models import Licence, Merchant, Practitioner
from shared.clock import Clock
from shared.contracts.common import Industry
from shared.contracts.events import SubjectEvent, SubjectRegistered, SubjectUpdated
from shared.contracts.identity import Identity, region_prefix
from shared.contracts.merchants import MerchantIn, PractitionerIn, ReviewDecision, ReviewIn
from shared.ids import new_id
from shared.outbox import Outbox
from shared.pagination import Keyset, key

MERCHANTS_BY_NAME = Keyset("name", (key(Merchant.name), key(Merchant.id)))  # pages by key, as every list


@dataclass
class Subjects:
    session: AsyncSession
    clock: Clock
    outbox: Outbox

    async def settle_in(self, body: MerchantIn) -> Merchant:
        """Register a merchant, pending an official's review; intake and compensation hear of it."""
        now = self.clock.now()
        if body.id and await self.session.get(Merchant, body.id) is not None:
            raise MerchantExists(f"Merchant {body.id} already exists.")
        if await self.session.scalar(select(Merchant.id).where(Merchant.uscc == body.uscc)) is not None:
            raise UsccTaken(f"A merchant with unified social credit code {body.uscc} is already settled in.")
        for licence in body.licences:
            await self._refuse_taken_licence(licence.kind, licence.number)
        merchant = Merchant(
            id=body.id or new_id("mer"),
            name=body.name,
            uscc=body.uscc,
            region_code=body.region_code,
            industry=body.industry.value,
            address=body.address,
            status="pending",
            contacts=[c.model_dump(exclude_none=True) for c in body.contacts],
            in_compensation_program=body.in_compensation_program,
            in_integrity_alliance=body.in_integrity_alliance,
            revision=1,
            created_at=now,
            updated_at=now,
        )
        self.session.add(merchant)
        await self.session.flush()  # the licences refer to it
        self.session.add_all(
            Licence(merchant_id=merchant.id, kind=lic.kind, number=lic.number, valid_until=lic.valid_until)
            for lic in body.licences
        )
        await self._announce(merchant, SubjectRegistered)
        await self.session.flush()
        return merchant

    async def review(self, merchant: Merchant, body: ReviewIn, actor: Identity) -> Merchant:
        """An official approves (the merchant goes live) or rejects a merchant waiting for review."""
        if merchant.status != "pending":
            raise AlreadyReviewed(
                f"Merchant {merchant.id} was already reviewed ({merchant.status}).", state=merchant.status
            )
        now = self.clock.now()
        merchant.status = "live" if body.decision == ReviewDecision.approve else "rejected"
        merchant.reviewed_by, merchant.reviewed_at, merchant.review_note = actor.subject, now, body.note
        merchant.revision += 1
        merchant.updated_at = now
        await self._announce(merchant, SubjectUpdated)
        return merchant

    async def announce_all(self) -> int:
        """Announce every merchant again as it is now (subject.updated at its current revision): subscribers
        that keep a read model fill in what they lacked (a field added to the event, a lost database)."""
        count = 0
        for merchant in (await self.session.scalars(select(Merchant).order_by(Merchant.id))).all():
            await self._announce(merchant, SubjectUpdated)
            count += 1
        return count

    async def _announce(self, merchant: Merchant, event: type[SubjectEvent]) -> None:
        await self.outbox.emit(
            self.session,
            event(
                subject_id=merchant.id,
                kind="merchant",
                name=merchant.name,
                region_code=merchant.region_code,
                industry=Industry(merchant.industry),
                settled=merchant.live,
                in_compensation_program=merchant.in_compensation_program,
                uscc=merchant.uscc,
                revision=merchant.revision,
            ),
        )

    async def _refuse_taken_licence(self, kind: str, number: str) -> None:
        owner = await self.session.scalar(
            select(Licence.merchant_id).where(Licence.kind == kind, Licence.number == number)
        )
        if owner is not None:
            raise LicenceTaken(f"Licence {kind} {number} is already registered to another merchant.")

    async def licences(self, merchant_ids: list[str]) -> dict[str, list[Licence]]:
        rows = await self.session.scalars(
            select(Licence).where(Licence.merchant_id.in_(merchant_ids)).order_by(Licence.id)
        )
        found: dict[str, list[Licence]] = {}
        for row in rows:
            found.setdefault(row.merchant_id, []).append(row)
        return found

    async def register_practitioner(self, body: PractitionerIn, merchant: Merchant) -> Practitioner:
        taken = await self.session.scalar(
            select(Practitioner.id).where(Practitioner.licence_number == body.licence_number)
        )
        if taken is not None:
            raise LicenceTaken(f"Licence {body.licence_number} is already registered to another practitioner.")
        now = self.clock.now()
        practitioner = Practitioner(
            id=new_id("prc"),
            name=body.name,
            kind=body.kind.value,
            licence_number=body.licence_number,
            merchant_id=merchant.id,
            region_code=merchant.region_code,
            phone=body.phone,
            created_at=now,
            updated_at=now,
        )
        self.session.add(practitioner)
        await self.session.flush()
        return practitioner

    async def get(self, merchant_id: str) -> Merchant | None:
        return await self.session.get(Merchant, merchant_id)

    async def search(
        self, *, region_code: str | None, name: str | None, status: str | None, cursor: str | None, limit: int
    ) -> list[Merchant]:
        """Merchants by name, after `cursor` (one row more when there is more)."""
        query = select(Merchant).where(Merchant.status == (status or "live"))
        if region_code:
            query = query.where(Merchant.region_code.startswith(region_prefix(region_code)))
        if name:
            query = query.where(Merchant.name.contains(name))
        return list((await self.session.scalars(MERCHANTS_BY_NAME.page(query, cursor, limit))).all())
