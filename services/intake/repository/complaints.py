"""A complaint's own row: read, locked, added, found by its case number or a channel's id, numbered; and who may
read one (the same rule as a query condition and for a loaded row)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import CaseNumberCounter, Complaint
from shared.auth import may_see
from shared.auth import visible_to as shared_visible_to
from shared.contracts.identity import Identity, Role
from shared.db import table_of


def visible_to(identity: Identity) -> ColumnElement[bool]:
    """Consumers see their own, merchant staff those against their merchant, officials their region,
    partners the complaints they pushed."""
    if identity.role == Role.partner:
        return Complaint.source_id == identity.subject
    if identity.role == Role.complaint_holder:
        return Complaint.id == identity.complaint_id if identity.complaint_id else false()
    return shared_visible_to(
        identity, consumer=Complaint.consumer_id, merchant=Complaint.merchant_id, region=Complaint.region_code
    )


def may_read(identity: Identity, complaint: Complaint) -> bool:
    """`visible_to` for one loaded complaint."""
    if identity.role == Role.partner:
        return complaint.source_id is not None and complaint.source_id == identity.subject
    if identity.role == Role.complaint_holder:
        return identity.complaint_id is not None and identity.complaint_id == complaint.id
    return may_see(
        identity, consumer=complaint.consumer_id, merchant=complaint.merchant_id, region=complaint.region_code
    )


class Complaints:
    """The complaints table row by row: what a request or a job reads, locks or adds one complaint by, and the
    case-number counters that number new ones."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, complaint_id: str, *, for_update: bool = False) -> Complaint | None:
        query = select(Complaint).where(Complaint.id == complaint_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    def add(self, complaint: Complaint) -> None:
        self.session.add(complaint)

    async def lock_ids(self, complaint_ids: list[str]) -> set[str]:
        """Which of these complaints exist, their rows locked (in id order: two lockers never deadlock)."""
        query = select(Complaint.id).where(Complaint.id.in_(complaint_ids)).order_by(Complaint.id).with_for_update()
        return set((await self.session.scalars(query)).all())

    async def by_case_number(self, case_number: str, *, for_update: bool = False) -> Complaint | None:
        query = select(Complaint).where(Complaint.case_number == case_number)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def by_external_id(self, source_id: str, external_id: str) -> Complaint | None:
        return await self.session.scalar(
            select(Complaint).where(Complaint.source_id == source_id, Complaint.external_id == external_id)
        )

    async def next_case_seq(self, region_code: str, day: date, count: int = 1) -> int:
        """The first of the region's day's next `count` sequences, counted in this transaction: the counter's
        row stays locked until it commits (a rollback gives the numbers back), so concurrent submissions never
        share one. Take several days' counters in (region, day) order: two takers then never deadlock."""
        dialect = self.session.bind.dialect.name if self.session.bind is not None else "sqlite"
        table = table_of(CaseNumberCounter)
        first = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).values(
            region_code=region_code, day=day, last_seq=count
        )
        upsert = first.on_conflict_do_update(
            index_elements=["region_code", "day"], set_={"last_seq": table.c.last_seq + count}
        ).returning(table.c.last_seq)
        return int((await self.session.execute(upsert)).scalar_one()) - count + 1
