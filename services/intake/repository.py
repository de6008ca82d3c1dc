"""Every query intake makes. Built with a session; takes domain arguments; only flushes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, func, insert, literal_column, null, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import (
    CaseNumberCounter,
    Complaint,
    Evidence,
    ExtensionRequest,
    IdempotencyRecord,
    Merchant,
    PossibleLink,
    ReturnRequest,
    SupervisionNotice,
    TimelineEntry,
)
from shared.auth import may_see
from shared.auth import visible_to as shared_visible_to
from shared.clock import local_day_bounds
from shared.contracts.common import Channel, Industry
from shared.contracts.complaints import OPEN_STATES, ComplaintState, ExtensionState, SupervisionState
from shared.contracts.identity import Identity, Role, region_prefix
from shared.contracts.notifications import NOTIFICATION_FAILED, NOTIFIED
from shared.contracts.returns import ReturnState
from shared.db import for_update_skip_locked, table_of
from shared.pagination import Keyset, SortKey, key

QUEUE_LATE = 0  # Complaint.queue_rank of an open complaint that missed a deadline (service.queue_position)
# The orderings a complaint list offers, each paged by key: the staff queue's (late first by how late, then
# nearest deadline; ix_complaints_queue) and newest first (ix_complaints_submitted_at_id).
URGENCY = Keyset("urgency", (key(Complaint.queue_rank), key(Complaint.queue_at), key(Complaint.id)))
NEWEST = Keyset("newest", (key(Complaint.submitted_at), key(Complaint.id)), descending=True)
COMPLAINT_ORDERS = {"urgency": URGENCY, "newest": NEWEST}
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


class ComplaintRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, complaint_id: str, *, for_update: bool = False) -> Complaint | None:
        query = select(Complaint).where(Complaint.id == complaint_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    def add(self, complaint: Complaint) -> None:
        self.session.add(complaint)

    def add_timeline(self, entry: TimelineEntry) -> None:
        self.session.add(entry)

    async def add_timeline_rows(self, rows: list[dict[str, Any]]) -> None:
        """Timeline entries in one INSERT, in their order (ids ascend with it), after their complaints."""
        if rows:
            await self.session.execute(insert(table_of(TimelineEntry)), rows)

    async def lock_ids(self, complaint_ids: list[str]) -> set[str]:
        """Which of these complaints exist, their rows locked (in id order: two lockers never deadlock)."""
        query = select(Complaint.id).where(Complaint.id.in_(complaint_ids)).order_by(Complaint.id).with_for_update()
        return set((await self.session.scalars(query)).all())

    async def notifications_recorded(self, complaint_ids: list[str]) -> dict[str, str]:
        """The tourists' notifications already on these complaints' timelines: notification id -> kind."""
        query = select(TimelineEntry.kind, TimelineEntry.data).where(
            TimelineEntry.complaint_id.in_(complaint_ids), TimelineEntry.kind.in_((NOTIFIED, NOTIFICATION_FAILED))
        )
        return {
            data["notification_id"]: kind
            for kind, data in (await self.session.execute(query)).all()
            if data and data.get("notification_id")
        }

    async def timeline(self, complaint_id: str) -> list[TimelineEntry]:
        query = select(TimelineEntry).where(TimelineEntry.complaint_id == complaint_id).order_by(TimelineEntry.id)
        return list((await self.session.scalars(query)).all())

    async def timeline_of_kind(self, complaint_id: str, kind: str) -> list[TimelineEntry]:
        query = (
            select(TimelineEntry)
            .where(TimelineEntry.complaint_id == complaint_id, TimelineEntry.kind == kind)
            .order_by(TimelineEntry.id)
        )
        return list((await self.session.scalars(query)).all())

    async def evidence_counts(self, complaint_ids: list[str]) -> dict[str, int]:
        if not complaint_ids:
            return {}
        query = (
            select(Evidence.complaint_id, func.count())
            .where(Evidence.complaint_id.in_(complaint_ids), Evidence.removed_at.is_(None))
            .group_by(Evidence.complaint_id)
        )
        return {complaint_id: count for complaint_id, count in (await self.session.execute(query)).all()}

    async def evidence_held(self, complaint_id: str) -> tuple[int, int]:
        """How many evidence files a complaint holds, and their total size in bytes."""
        query = select(func.count(), func.coalesce(func.sum(Evidence.size_bytes), 0)).where(
            Evidence.complaint_id == complaint_id, Evidence.removed_at.is_(None)
        )
        count, size = (await self.session.execute(query)).one()
        return int(count), int(size)

    async def evidence_uploaded_by(self, subject: str, since: datetime) -> tuple[int, int]:
        """How many evidence files an account has uploaded since `since`, and their total size in bytes (files
        removed since count: an upload removed again is still an upload)."""
        query = select(func.count(), func.coalesce(func.sum(Evidence.size_bytes), 0)).where(
            Evidence.uploaded_by == subject, Evidence.uploaded_at >= since
        )
        count, size = (await self.session.execute(query)).one()
        return int(count), int(size)

    async def list_evidence(self, complaint_id: str) -> list[Evidence]:
        query = (
            select(Evidence)
            .where(Evidence.complaint_id == complaint_id, Evidence.removed_at.is_(None))
            .order_by(Evidence.uploaded_at)
        )
        return list((await self.session.scalars(query)).all())

    async def get_evidence(self, complaint_id: str, evidence_id: str, *, removed: bool = False) -> Evidence | None:
        """A file of the complaint; one removed only when `removed` is asked for."""
        query = select(Evidence).where(Evidence.id == evidence_id, Evidence.complaint_id == complaint_id)
        if not removed:
            query = query.where(Evidence.removed_at.is_(None))
        return (await self.session.execute(query)).scalar_one_or_none()

    def add_evidence(self, evidence: Evidence) -> None:
        self.session.add(evidence)

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

    def add_possible_link(self, link: PossibleLink) -> None:
        self.session.add(link)

    async def get_possible_link(self, link_id: str, *, for_update: bool = False) -> PossibleLink | None:
        query = select(PossibleLink).where(PossibleLink.id == link_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def possible_links(
        self, complaint_ids: list[str]
    ) -> dict[str, list[tuple[PossibleLink, str, str, str | None]]]:
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

    # --- extension requests and supervision notices ----------------------------------------------------
    def add_extension(self, request: ExtensionRequest) -> None:
        self.session.add(request)

    async def pending_extension(self, complaint_id: str, *, for_update: bool = False) -> ExtensionRequest | None:
        query = select(ExtensionRequest).where(
            ExtensionRequest.complaint_id == complaint_id, ExtensionRequest.state == ExtensionState.requested
        )
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query.limit(1))).first()

    async def extensions(self, complaint_id: str) -> list[ExtensionRequest]:
        query = (
            select(ExtensionRequest)
            .where(ExtensionRequest.complaint_id == complaint_id)
            .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)
        )
        return list((await self.session.scalars(query)).all())

    def add_supervision(self, notice: SupervisionNotice) -> None:
        self.session.add(notice)

    async def open_supervision(self, complaint_id: str, *, for_update: bool = False) -> SupervisionNotice | None:
        query = select(SupervisionNotice).where(
            SupervisionNotice.complaint_id == complaint_id, SupervisionNotice.state == SupervisionState.open
        )
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query.limit(1))).first()

    async def supervisions(self, complaint_id: str) -> list[SupervisionNotice]:
        query = (
            select(SupervisionNotice)
            .where(SupervisionNotice.complaint_id == complaint_id)
            .order_by(SupervisionNotice.issued_at, SupervisionNotice.id)
        )
        return list((await self.session.scalars(query)).all())

    async def due_supervisions(self, now: datetime, limit: int) -> list[SupervisionNotice]:
        """Open notices past their reply deadline not yet marked, claimed for this run."""
        query = (
            select(SupervisionNotice)
            .where(
                SupervisionNotice.state == SupervisionState.open,
                SupervisionNotice.reply_by <= now,
                SupervisionNotice.overdue.is_(False),
            )
            .order_by(SupervisionNotice.reply_by)
            .limit(limit)
            .with_for_update(**for_update_skip_locked(self.session))
        )
        return list((await self.session.scalars(query)).all())

    async def facts(self, complaint_ids: list[str], viewer: Identity) -> dict[str, Facts]:
        """The facts beyond their rows of complaints read earlier, as `viewer` needs them (one statement)."""
        if not complaint_ids:
            return {}
        query = select(Complaint.id, *_facts_columns(viewer)).where(Complaint.id.in_(complaint_ids))
        return {row[0]: Facts(*row[1:]) for row in (await self.session.execute(query)).all()}

    def _queue(self, identity: Identity, f: QueueFilter) -> Select[Complaint]:
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

    async def queue(
        self, identity: Identity, f: QueueFilter, order: Keyset, *, cursor: str | None, limit: int
    ) -> list[tuple[Complaint, Facts]]:
        """A page of the caller's queue in `order`, after `cursor`, with one row more when there is more; each
        complaint with its facts, read in the same statement."""
        query = order.page(self._queue(identity, f).add_columns(*_facts_columns(identity)), cursor, limit)
        return [(row[0], Facts(*row[1:])) for row in (await self.session.execute(query)).all()]

    async def count(self, identity: Identity, f: QueueFilter, *, up_to: int) -> int:
        """How many complaints the filter finds, counting no further than `up_to` (one bounded COUNT over the
        same conditions as the pages: it reads at most `up_to` rows however many match)."""
        found: Select[Any] = (
            self._queue(identity, f).with_only_columns(literal_column("1"), maintain_column_froms=True).order_by(None)
        )
        query = select(func.count()).select_from(found.limit(up_to).subquery())
        return int(await self.session.scalar(query) or 0)

    async def open_counts(self, identity: Identity) -> dict[tuple[str, bool], int]:
        """The caller's open complaints by state and lateness (a range of the queue's index)."""
        query = (
            select(Complaint.state, Complaint.queue_rank == QUEUE_LATE, func.count())
            .where(visible_to(identity), Complaint.queue_rank <= 1)
            .group_by(Complaint.state, Complaint.queue_rank)
        )
        counts: dict[tuple[str, bool], int] = {}
        for state, late, n in (await self.session.execute(query)).all():
            counts[(state, bool(late))] = counts.get((state, bool(late)), 0) + n
        return counts

    async def by_case_number(self, case_number: str, *, for_update: bool = False) -> Complaint | None:
        query = select(Complaint).where(Complaint.case_number == case_number)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

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

    async def by_external_id(self, source_id: str, external_id: str) -> Complaint | None:
        return await self.session.scalar(
            select(Complaint).where(Complaint.source_id == source_id, Complaint.external_id == external_id)
        )

    async def next_deadline(self) -> datetime | None:
        """The earliest deadline of any open complaint (the deadline index answers it)."""
        return await self.session.scalar(
            select(func.min(Complaint.next_deadline_at)).where(Complaint.state.in_([s.value for s in OPEN_STATES]))
        )

    async def due_notice_replies(self, now: datetime, limit: int) -> list[Complaint]:
        """Public-opinion notices past their reply deadline, unanswered and not yet marked, claimed for this run."""
        query = (
            select(Complaint)
            .where(
                Complaint.reply_by <= now,
                Complaint.replied_at.is_(None),
                Complaint.reply_overdue.is_(False),
                Complaint.channel == Channel.public_opinion,
            )
            .order_by(Complaint.reply_by)
            .limit(limit)
            .with_for_update(**for_update_skip_locked(self.session))
        )
        return list((await self.session.scalars(query)).all())

    async def due(self, now: datetime, limit: int) -> list[Complaint]:
        """Open complaints whose next deadline has passed, claimed for this scheduler run."""
        query = (
            select(Complaint)
            .where(Complaint.next_deadline_at <= now, Complaint.state.in_([s.value for s in OPEN_STATES]))
            .order_by(Complaint.next_deadline_at)
            .limit(limit)
            .with_for_update(**for_update_skip_locked(self.session))
        )
        return list((await self.session.scalars(query)).all())


class ReturnRepository:
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


class MerchantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, merchant_id: str) -> Merchant | None:
        return await self.session.get(Merchant, merchant_id)

    async def by_uscc(self, uscc: str) -> Merchant | None:
        return await self.session.scalar(select(Merchant).where(Merchant.uscc == uscc).limit(1))

    def add(self, merchant: Merchant) -> None:
        self.session.add(merchant)


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, owner: str, key: str) -> IdempotencyRecord | None:
        return await self.session.get(IdempotencyRecord, (owner, key))

    def add(self, record: IdempotencyRecord) -> None:
        self.session.add(record)
