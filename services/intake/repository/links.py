"""Complaints that may be the same matter: the earlier complaints of the same person (a repeat of the same case
or a possible link), and the possible links flagged between complaints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Complaint, PossibleLink
from shared.contracts.complaints import ComplaintState


class Links:
    """Possible links between complaints and the candidates a submission is compared with."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recent_by_person(self, consumer_id: str | None, phone: str | None, since: datetime) -> list[Complaint]:
        """Complaints since `since` by the same consumer or from the same phone, whatever channel they came
        by: candidates when looking for a repeat of the same case (the same account's) or a possible link
        (another account's, for an official to confirm). Neither known: none (a missing phone matches nothing)."""
        ways = [Complaint.contact_phone == phone] if phone else []
        if consumer_id:
            ways.append(Complaint.consumer_id == consumer_id)
        if not ways:
            return []
        same_person = or_(*ways)
        query = (
            select(Complaint)
            .where(same_person, Complaint.submitted_at >= since, Complaint.state != ComplaintState.not_accepted)
            .order_by(Complaint.submitted_at)
        )
        return list((await self.session.scalars(query)).all())

    def add(self, link: PossibleLink) -> None:
        self.session.add(link)

    async def get(self, link_id: str, *, for_update: bool = False) -> PossibleLink | None:
        query = select(PossibleLink).where(PossibleLink.id == link_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def of(self, complaint_ids: list[str]) -> dict[str, list[tuple[PossibleLink, str, str, str | None]]]:
        """Each complaint's possible links, oldest first, with the other complaint's id, channel and case number."""
        if not complaint_ids:
            return {}
        query = (
            select(PossibleLink)
            .where(or_(PossibleLink.complaint_id.in_(complaint_ids), PossibleLink.other_id.in_(complaint_ids)))
            .order_by(PossibleLink.flagged_at, PossibleLink.id)
        )
        links = list((await self.session.scalars(query)).all())
        if not links:
            return {}
        ids = {link.complaint_id for link in links} | {link.other_id for link in links}
        others = {
            row.id: (row.channel, row.case_number)
            for row in await self.session.execute(
                select(Complaint.id, Complaint.channel, Complaint.case_number).where(Complaint.id.in_(ids))
            )
        }
        wanted = set(complaint_ids)
        found: dict[str, list[tuple[PossibleLink, str, str, str | None]]] = {}
        for link in links:
            for this, other in ((link.complaint_id, link.other_id), (link.other_id, link.complaint_id)):
                if this in wanted:
                    channel, case_number = others.get(other, ("", None))
                    found.setdefault(this, []).append((link, other, channel, case_number))
        return found
