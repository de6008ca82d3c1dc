"""Intake's tables: complaints, their timeline and evidence, the merchant read model, idempotency."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UTCDateTime, service_metadata
from shared.outbox import inbox_table, outbox_table

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


class Merchant(Base):
    """Intake's read model of credit's merchants, kept from subject.registered / subject.updated."""

    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6))
    industry: Mapped[str | None] = mapped_column(String(20))
    settled: Mapped[bool]
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    in_compensation_program: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_next_deadline_at", "next_deadline_at"),
        Index("ux_complaints_source_external", "source_id", "external_id", unique=True),
        Index("ix_complaints_external_id", "external_id"),  # officials look a case up by a channel's id
        Index("ix_complaints_region_state", "region_code", "state"),
        Index("ix_complaints_merchant_state", "merchant_id", "state"),
        Index("ix_complaints_consumer", "consumer_id", "submitted_at"),
        Index("ix_complaints_phone", "contact_phone", "submitted_at"),  # the repeat check, across channels
        Index("ix_complaints_submitted_at_id", "submitted_at", "id"),  # newest first, page by page
        # The staff queue's order (late first by how late, then nearest deadline, concluded last), page by page
        Index("ix_complaints_queue", "queue_rank", "queue_at", "id"),
        Index("ux_complaints_case_number", "case_number", unique=True),
        Index("ix_complaints_reply_by", "reply_by"),  # notices' reply deadlines, for the scheduler
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # What people say on the phone: region-day received (Asia/Shanghai)-that day's sequence in the region.
    case_number: Mapped[str] = mapped_column(String(32))
    consumer_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(32))
    # Who pushed it, when a partner platform did (its partner id), and the partner's own id for the case:
    # one complaint per (source_id, external_id), however often the case is pushed.
    source_id: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(64))
    # The same case arriving later by other channels (complaint id, channel, source, external id): their
    # complaints are not worked twice, and this one's progress is reported to each of them. Only the same
    # account's repeat is linked by itself; another account's is linked once an official confirms it
    # (PossibleLink): a phone number typed into a form is not an identity.
    links: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    region_code: Mapped[str] = mapped_column(String(6))
    merchant_id: Mapped[str | None] = mapped_column(String(40))
    merchant_name: Mapped[str] = mapped_column(String(200))
    merchant_address: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    amount_involved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    remedy: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(20))

    state: Mapped[str] = mapped_column(String(20))
    not_accepted_reason: Mapped[str | None] = mapped_column(String(40))
    not_accepted_note: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[str | None] = mapped_column(String(40))
    assignee_kind: Mapped[str | None] = mapped_column(String(20))
    assignee_id: Mapped[str | None] = mapped_column(String(40))
    assignee_name: Mapped[str | None] = mapped_column(String(200))
    transferred_from: Mapped[str | None] = mapped_column(String(6))
    # The named platform it came through (智旅通投诉平台, 12345市长投诉热线), as its region names it on receipt.
    source_name: Mapped[str | None] = mapped_column(String(100))
    # The handling unit responsible for it (处理单位), by the region's assignment rules, whoever answers it.
    unit_id: Mapped[str | None] = mapped_column(String(40))
    unit_name: Mapped[str | None] = mapped_column(String(200))
    # A public-opinion notice: when the region must report back to the center that sent it, and did.
    reply_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Its reply deadline passed unanswered: the scheduler marked and escalated it (once).
    reply_overdue: Mapped[bool] = mapped_column(default=False, server_default=false())

    changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # its events' revision
    # When the case was received: by its channel when the channel says so (a 12345 call), else here.
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # by the channel, to this platform
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # here, when a channel's receipt is earlier
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accept_by: Mapped[datetime] = mapped_column(UTCDateTime())
    dispose_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settle_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accept_overdue: Mapped[bool] = mapped_column(default=False)
    dispose_overdue: Mapped[bool] = mapped_column(default=False)
    settle_overdue: Mapped[bool] = mapped_column(default=False)
    next_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_deadline_kind: Mapped[str | None] = mapped_column(String(10))
    # Where the complaint stands in the staff queue, kept with its deadlines (service.queue_position):
    # 0 open and late (queue_at: when its first missed deadline fell due), 1 open (queue_at: its next
    # deadline), 2 concluded (queue_at: when it was received).
    queue_rank: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    queue_at: Mapped[datetime] = mapped_column(UTCDateTime())

    response_text: Mapped[str | None] = mapped_column(Text)
    offered_refund_fen: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(String(40))
    at_fault: Mapped[str | None] = mapped_column(String(20))
    amount_refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    evaluation_comment: Mapped[str | None] = mapped_column(Text)
    compensation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    compensation_state: Mapped[str | None] = mapped_column(String(20))
    compensation_paid_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # 办结时长: whole minutes from receipt to resolution, kept so reports sum it in the database.
    handled_minutes: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)

    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="complaint", lazy="raise", order_by="TimelineEntry.id"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="complaint", lazy="raise", order_by="Evidence.uploaded_at"
    )

    __mapper_args__ = {"version_id_col": version}


class CaseNumberCounter(Base):
    """The last case number given out per region and day: incremented in the submitting transaction (its row
    lock orders concurrent submissions, on any number of replicas), so a day's numbers run 1, 2, 3... with no
    gap and no repeat."""

    __tablename__ = "case_number_counters"

    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class TimelineEntry(Base):
    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(30))
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    state_from: Mapped[str | None] = mapped_column(String(20))
    state_to: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    complaint: Mapped[Complaint] = relationship(back_populates="timeline", lazy="raise")


class PossibleLink(Base):
    """Two complaints from different accounts whose phone, merchant and story match: perhaps one case.
    Nothing is shared until an official of the region confirms it; then the later is worked as the earlier."""

    __tablename__ = "possible_links"
    __table_args__ = (Index("ux_possible_links_pair", "complaint_id", "other_id", unique=True),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"))  # the later one, flagged on arrival
    other_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)  # the earlier one
    reason: Mapped[str] = mapped_column(String(40))
    similarity: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20))  # suggested, confirmed, dismissed
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class ExtensionRequest(Base):
    """The handler's request for more time to settle (延期), and the supervising official's decision: approved, it
    moves the complaint's settlement deadline. One pending at a time per complaint; reports count them."""

    __tablename__ = "extension_requests"
    __table_args__ = (Index("ix_extension_requests_complaint", "complaint_id", "requested_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"))
    state: Mapped[str] = mapped_column(String(20))  # requested, approved, rejected, lapsed
    extend_hours: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(String(40))
    requested_by_name: Mapped[str | None] = mapped_column(String(200))
    requested_by_role: Mapped[str] = mapped_column(String(20))
    due_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decision_note: Mapped[str | None] = mapped_column(Text)


class SupervisionNotice(Base):
    """A province's supervision notice (督办) to the city handling a complaint, with its own reply deadline; the
    scheduler marks it overdue once when that passes unanswered."""

    __tablename__ = "supervision_notices"
    __table_args__ = (
        Index("ix_supervision_notices_complaint", "complaint_id", "issued_at"),
        Index("ix_supervision_notices_open_due", "state", "reply_by"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"))
    state: Mapped[str] = mapped_column(String(20))  # open, answered
    from_region: Mapped[str | None] = mapped_column(String(6))
    to_region: Mapped[str] = mapped_column(String(6))
    note: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(40))
    issued_by_name: Mapped[str | None] = mapped_column(String(200))
    reply_by: Mapped[datetime] = mapped_column(UTCDateTime())
    overdue: Mapped[bool] = mapped_column(default=False)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_by: Mapped[str | None] = mapped_column(String(40))
    replied_by_name: Mapped[str | None] = mapped_column(String(200))
    reply: Mapped[str | None] = mapped_column(Text)


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_uploader", "uploaded_by", "uploaded_at"),)  # an account's daily quota

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(40))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Removed: the file is deleted from storage; the row stays, out of every list, for the uploader's daily quota
    # (an upload that is removed again still counted) and for the timeline's sake.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(40))

    complaint: Mapped[Complaint] = relationship(back_populates="evidence", lazy="raise")


class ReturnRequest(Base):
    """A request at the returns desk (退货监理): goods bought on a tour, returned within 30 days."""

    __tablename__ = "return_requests"
    __table_args__ = (
        Index("ix_return_requests_region_state", "region_code", "state"),
        Index("ix_return_requests_merchant_state", "merchant_id", "state"),
        Index("ix_return_requests_requested_at", "requested_at"),
        Index("ix_return_requests_refund_by", "refund_by"),
        Index("ux_return_requests_source_external", "source_id", "external_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    consumer_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6))
    merchant_id: Mapped[str | None] = mapped_column(String(40))
    merchant_name: Mapped[str] = mapped_column(String(200))
    goods: Mapped[str] = mapped_column(String(200))
    receipt_no: Mapped[str] = mapped_column(String(60))
    purchased_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refund_by: Mapped[datetime] = mapped_column(UTCDateTime())
    overdue: Mapped[bool] = mapped_column(default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amount_refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Imported history: who exported it and its id there (one request per pair), the platform's name.
    source_id: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(64))
    source_name: Mapped[str | None] = mapped_column(String(100))
    unit_name: Mapped[str | None] = mapped_column(String(200))  # the unit that handled it
    # Bought in another jurisdiction: referred there (its region code, and to whom).
    referred_to_region: Mapped[str | None] = mapped_column(String(6))
    referred_to: Mapped[str | None] = mapped_column(String(200))
    # The latest follow-up visit (回访): when, by whom, and what the tourist said.
    visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    visited_by: Mapped[str | None] = mapped_column(String(200))
    visit_satisfied: Mapped[bool | None] = mapped_column()
    withdrawal_induced: Mapped[bool | None] = mapped_column()
    shirking_reported: Mapped[bool | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class IdempotencyRecord(Base):
    """The first answer to a write sent with an Idempotency-Key, replayed for the same key and body."""

    __tablename__ = "idempotency_records"

    owner: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
