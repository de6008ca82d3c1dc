"""Credit repair (信用修复): a listed subject applies with evidence once the minimum period is over; an official
decides. Approved, the listing ends and the records behind it count at the scorecard's repaired factor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.errors import (
    AlreadyDecided,
    ListingNotFound,
    ListingNotRepairable,
    RepairNotFound,
    RepairPending,
    RepairTooEarly,
)
from services.credit.lists import Lists
from services.credit.models import CreditRecord, Listing, Repair
from services.credit.refs import SubjectRef, SubjectRefs
from shared.clock import Clock
from shared.contracts.credit import ListName
from shared.contracts.identity import Identity
from shared.ids import new_id

if TYPE_CHECKING:  # archive.py puts the parts together, this one among them
    from services.credit.archive import Records


@dataclass
class Repairs:
    """Applications for credit repair and their decisions."""

    session: AsyncSession
    clock: Clock
    refs: SubjectRefs
    lists: Lists
    records: Records

    async def apply_for_repair(
        self, listing: Listing, ref: SubjectRef, caller: Identity, statement: str, evidence: list[str]
    ) -> Repair:
        if not ref.speaks_for(caller):
            raise ListingNotFound(f"No listing {listing.id} of yours.")
        if listing.state != "listed" or listing.list_name == ListName.red.value:
            raise ListingNotRepairable(
                "Only a current key-supervision or dishonest listing can be repaired.", state=listing.state
            )
        if listing.removable_from and self.clock.now() < listing.removable_from:
            raise RepairTooEarly(
                f"Credit repair can be applied for from {listing.removable_from.isoformat()}, the end "
                "of the minimum publication period.",
                params={"removable_from": listing.removable_from.date().isoformat()},
            )
        if await self.session.scalar(
            select(Repair.id).where(Repair.listing_id == listing.id, Repair.state == "pending")
        ):
            raise RepairPending("A repair application for this listing is waiting for a decision.")
        repair = Repair(
            id=new_id("rep"),
            listing_id=listing.id,
            subject_id=ref.id,
            region_code=ref.region_code,
            applicant=caller.subject,
            statement=statement,
            evidence=evidence,
            state="pending",
            created_at=self.clock.now(),
        )
        self.session.add(repair)
        await self.session.flush()
        return repair

    async def repair(self, repair_id: str, caller: Identity) -> Repair:
        repair = await self.session.get(Repair, repair_id)
        ref = await self.refs.subject(repair.subject_id) if repair is not None else None
        if repair is None or ref is None or not (ref.visible_to(caller) or ref.speaks_for(caller)):
            raise RepairNotFound(f"No repair application {repair_id} that you may see.")
        return repair

    async def decide_repair(self, repair: Repair, caller: Identity, approve: bool, note: str) -> Repair:
        """Approved: the listing ends, the records behind it count at the repaired factor, the score moves."""
        if repair.state != "pending":
            raise AlreadyDecided(f"This application was already {repair.state}.", state=repair.state)
        now = self.clock.now()
        repair.state = "approved" if approve else "rejected"
        repair.decided_by, repair.decided_at, repair.decision_note = caller.subject, now, note
        if approve:
            listing = await self.session.get(Listing, repair.listing_id)
            assert listing is not None
            await self.lists.end(listing, "repaired", caller.subject, note)
            if listing.basis:
                await self.session.execute(
                    update(CreditRecord).where(CreditRecord.id.in_(listing.basis)).values(repaired_at=now)
                )
            ref = await self.refs.subject(repair.subject_id)
            assert ref is not None
            await self.records.rescore(ref, cause=f"repair {repair.id}")
        return repair
