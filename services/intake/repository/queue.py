"""Lists of complaints: the staff queue's and a tourist's pages in either order, what a filter finds (and how many,
bounded), the open counts by state, and the facts beyond its row that decide how each complaint is shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, func, literal_column, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.deadlines import QUEUE_LATE, QUEUE_OPEN
from services.intake.models import Complaint, Evidence, ExtensionRequest, PossibleLink, SupervisionNotice
from services.intake.repository.complaints import visible_to
from shared.clock import local_day_bounds
from shared.contracts.common import Channel, Industry
from shared.contracts.complaints import ComplaintState, ExtensionState, SupervisionState
from shared.contracts.identity import Identity, Role, region_prefix
from shared.pagination import Keyset, key

# The orderings a complaint list offers, each paged by key: the staff queue's (late first by how late, then
# nearest deadline; ix_complaints_queue) and newest first (ix_complaints_submitted_at_id).
URGENCY = Keyset("urgency", (key(Complaint.queue_rank), key(Complaint.queue_at), key(Complaint.id)))
NEWEST = Keyset("newest", (key(Complaint.submitted_at), key(Complaint.id)), descending=True)
COMPLAINT_ORDERS = {"urgency": URGENCY, "newest": NEWEST}


@dataclass
class QueueFilter:
    state: list[ComplaintState] | None = None
    overdue: bool | None = None
    channel: Channel | None = None
    industry: Industry | None = None
    region_code: str | None = None
    merchant_id: str | None = None
    external_id: str | None = None  # a channel's own id (a 12345 order number)
    case_number: str | None = None
    received_from: date | None = None  # Asia/Shanghai days, both included
    received_to: date | None = None
    q: str | None = None  # words to look for: see `search`
    q_phone: bool = False  # may `q` match the stored phone (only those who may see it in full)


def search(q: str, *, phone: bool) -> ColumnElement[bool]:
    """What `q` finds: an exact case number, merchant id or channel order number, a merchant's name or the description
    containing it, and (for those who may see it in full) the exact phone number. One list of terms: a new
    searchable field is one more term."""
    text = q.strip()
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    terms: list[ColumnElement[bool]] = [
        Complaint.case_number == text,
        Complaint.merchant_id == text,
        Complaint.external_id == text,
        Complaint.merchant_name.ilike(pattern, escape="\\"),
        Complaint.description.ilike(pattern, escape="\\"),
    ]
    digits = "".join(ch for ch in text if ch not in " -")
    if phone and digits.isdigit() and 7 <= len(digits) <= 20:
        terms.append(Complaint.contact_phone == text.replace(" ", ""))
        if digits != text.replace(" ", ""):
            terms.append(Complaint.contact_phone == digits)
    return or_(*terms)


def _overdue() -> ColumnElement[bool]:
    """Open and past a deadline (the queue's first rank: a range of its index)."""
    return Complaint.queue_rank == QUEUE_LATE


# Pending extensions and open supervision notices decide the actions of these only; possible links are the
# officials' (and admins') business.
LINKS_SEEN_BY = frozenset({Role.official, Role.admin})
TRACKS_SEEN_BY = frozenset({*LINKS_SEEN_BY, Role.merchant_staff})


@dataclass(frozen=True)
class Facts:
    """What beyond its row decides how a complaint is shown and what may be done with it now."""

    evidence_count: int = 0  # evidence files held (removed ones not counted)
    pending_extension_by: str | None = None  # who asked for the extension waiting for a decision, if one does
    open_notice: bool = False  # a supervision notice waits for the city's reply
    has_possible_links: bool = False  # flagged as possibly the same matter as another complaint (any decision)


def _facts_columns(viewer: Identity) -> tuple[Any, ...]:
    """`Facts` as correlated subqueries of a complaints query, in its field order: each an index lookup per
    complaint returned, so a page and its facts are one statement (they were four, each with the page's ids).
    Only what decides the viewer's answer is looked up: a tourist's is the evidence count."""
    evidence = (
        select(func.count())
        .where(Evidence.complaint_id == Complaint.id, Evidence.removed_at.is_(None))
        .correlate(Complaint)
        .scalar_subquery()
    )
    if viewer.role not in TRACKS_SEEN_BY:
        return evidence, null(), false(), false()
    pending = (
        select(ExtensionRequest.requested_by)
        .where(ExtensionRequest.complaint_id == Complaint.id, ExtensionRequest.state == ExtensionState.requested)
        .limit(1)
        .correlate(Complaint)
        .scalar_subquery()
    )
    notice = (
        exists()
        .where(SupervisionNotice.complaint_id == Complaint.id, SupervisionNotice.state == SupervisionState.open)
        .correlate(Complaint)
    )
    if viewer.role not in LINKS_SEEN_BY:
        return evidence, pending, notice, false()
    links = (
        exists()
        .where(or_(PossibleLink.complaint_id == Complaint.id, PossibleLink.other_id == Complaint.id))
        .correlate(Complaint)
    )
    return evidence, pending, notice, links


class Queue:
    """The complaints a caller may see, as pages, bounded totals and open counts, each with its `Facts`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def facts(self, complaint_ids: list[str], viewer: Identity) -> dict[str, Facts]:
        """The facts beyond their rows of complaints read earlier, as `viewer` needs them (one statement)."""
        if not complaint_ids:
            return {}
        query = select(Complaint.id, *_facts_columns(viewer)).where(Complaint.id.in_(complaint_ids))
        return {row[0]: Facts(*row[1:]) for row in (await self.session.execute(query)).all()}

    def _filtered(self, identity: Identity, f: QueueFilter) -> Select[Complaint]:
        query = select(Complaint).where(visible_to(identity))
        if f.state:
            query = query.where(Complaint.state.in_([s.value for s in f.state]))
        if f.overdue is not None:
            query = query.where(_overdue() if f.overdue else ~_overdue())
        if f.channel:
            query = query.where(Complaint.channel == f.channel)
        if f.industry:
            query = query.where(Complaint.industry == f.industry)
        if f.region_code:
            query = query.where(Complaint.region_code.startswith(region_prefix(f.region_code)))
        if f.merchant_id:
            query = query.where(Complaint.merchant_id == f.merchant_id)
        if f.external_id:
            query = query.where(Complaint.external_id == f.external_id)
        if f.case_number:
            query = query.where(Complaint.case_number == f.case_number)
        if f.received_from or f.received_to:
            start, end = local_day_bounds(f.received_from or date(2000, 1, 1), f.received_to or date(2100, 1, 1))
            if f.received_from:
                query = query.where(Complaint.submitted_at >= start)
            if f.received_to:
                query = query.where(Complaint.submitted_at < end)
        if f.q and f.q.strip():
            query = query.where(search(f.q, phone=f.q_phone))
        return query

    async def page(
        self, identity: Identity, f: QueueFilter, order: Keyset, *, cursor: str | None, limit: int
    ) -> list[tuple[Complaint, Facts]]:
        """A page of the caller's queue in `order`, after `cursor`, with one row more when there is more; each
        complaint with its facts, read in the same statement."""
        query = order.page(self._filtered(identity, f).add_columns(*_facts_columns(identity)), cursor, limit)
        return [(row[0], Facts(*row[1:])) for row in (await self.session.execute(query)).all()]

    async def count(self, identity: Identity, f: QueueFilter, *, up_to: int) -> int:
        """How many complaints the filter finds, counting no further than `up_to` (one bounded COUNT over the
        same conditions as the pages: it reads at most `up_to` rows however many match)."""
        found: Select[Any] = (
            self._filtered(identity, f)
            .with_only_columns(literal_column("1"), maintain_column_froms=True)
            .order_by(None)
        )
        query = select(func.count()).select_from(found.limit(up_to).subquery())
        return int(await self.session.scalar(query) or 0)

    async def open_counts(self, identity: Identity) -> dict[tuple[str, bool], int]:
        """The caller's open complaints by state and lateness (a range of the queue's index)."""
        query = (
            select(Complaint.state, Complaint.queue_rank == QUEUE_LATE, func.count())
            .where(visible_to(identity), Complaint.queue_rank <= QUEUE_OPEN)
            .group_by(Complaint.state, Complaint.queue_rank)
        )
        counts: dict[tuple[str, bool], int] = {}
        for state, late, n in (await self.session.execute(query)).all():
            counts[(state, bool(late))] = counts.get((state, bool(late)), 0) + n
        return counts
