"""Credit's tables: subjects, their credit records and scores, lists, repairs, benefits and codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, service_metadata
from shared.outbox import inbox_table, outbox_table

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


class Merchant(Base):
    """A merchant in the credit archive: the owner of its identity, region, enrolment and review."""

    __tablename__ = "merchants"
    __table_args__ = (
        Index("ix_merchants_region_name", "region_code", "name"),
        Index("ux_merchants_uscc", "uscc", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Required of every merchant settling in; None only on rows from before it was.
    uscc: Mapped[str | None] = mapped_column(String(18))
    region_code: Mapped[str] = mapped_column(String(6))
    industry: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    # pending (waiting for an official's review), live, rejected
    status: Mapped[str] = mapped_column(String(10), default="pending")
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    in_compensation_program: Mapped[bool] = mapped_column(default=False)
    in_integrity_alliance: Mapped[bool] = mapped_column(default=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(40))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(String(500))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def live(self) -> bool:
        return self.status == "live"


class Practitioner(Base):
    """A tour guide, driver or other practitioner, and the merchant they work for."""

    __tablename__ = "practitioners"
    __table_args__ = (
        Index("ix_practitioners_merchant", "merchant_id"),
        Index("ux_practitioners_licence", "licence_number", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    licence_number: Mapped[str] = mapped_column(String(60))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    region_code: Mapped[str] = mapped_column(String(6))
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Licence(Base):
    """A merchant's licence; (kind, number) belongs to one merchant only."""

    __tablename__ = "licences"
    __table_args__ = (
        UniqueConstraint("kind", "number", name="ux_licences_kind_number"),
        Index("ix_licences_merchant", "merchant_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    kind: Mapped[str] = mapped_column(String(30))
    number: Mapped[str] = mapped_column(String(60))
    valid_until: Mapped[str | None] = mapped_column(String(10))


class Consumer(Base):
    """A consumer's credit subject, keyed by their platform identity; made on first use."""

    __tablename__ = "consumers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Titles of the trustworthy groups (中国好人, 见义勇为...) an official recorded; they earn benefits.
    honours: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExternalScore(Base):
    """A consumer's latest outside score per source (external.py): shown, never part of the own score."""

    __tablename__ = "external_scores"
    __table_args__ = (UniqueConstraint("subject_id", "source", name="ux_external_scores_subject_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class CreditRecord(Base):
    """One thing that counts for or against a subject; the scorecard turns records into a score."""

    __tablename__ = "credit_records"
    __table_args__ = (
        Index("ix_credit_records_subject", "subject_id", "occurred_at"),
        Index("ux_credit_records_source", "source", unique=True),
        Index("ix_credit_records_reference", "reference"),  # a complaint's records, to void when it is merged
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[int | None] = mapped_column(Integer)
    # What caused it, unique when set (an event id and kind), so that nothing is counted twice.
    source: Mapped[str | None] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when an approved repair lifts it: the scorecard then counts it at its repaired factor.
    repaired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when what it counted no longer stands (its complaint was merged into another, or reopened): kept for
    # the record, never scored.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(String(200))


class CreditScore(Base):
    """A subject's current score and grade, the reasons behind it, and the figures its profile shows."""

    __tablename__ = "credit_scores"
    __table_args__ = (Index("ix_credit_scores_kind_grade", "subject_kind", "grade"),)

    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(1))
    scorecard: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScoreChange(Base):
    """The history: every change of a score, and what caused it."""

    __tablename__ = "score_changes"
    __table_args__ = (Index("ix_score_changes_subject", "subject_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    score_before: Mapped[int | None] = mapped_column(Integer)
    score_after: Mapped[int] = mapped_column(Integer)
    grade_before: Mapped[str | None] = mapped_column(String(1))
    grade_after: Mapped[str] = mapped_column(String(1))
    cause: Mapped[str] = mapped_column(String(200))
    scorecard: Mapped[str] = mapped_column(String(20))


class Listing(Base):
    """A subject on (or on notice for) a list: red, key_supervision or dishonest."""

    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_subject", "subject_id", "list_name"),
        Index("ix_listings_state_due", "state", "defence_until"),
        Index("ix_listings_list_state", "list_name", "state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str | None] = mapped_column(String(6))
    list_name: Mapped[str] = mapped_column(String(20))
    # noticed (told, may state its case), listed, ended
    state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(500))
    basis: Mapped[list[str]] = mapped_column(JSON, default=list)  # credit record ids behind it
    duration_days: Mapped[int | None] = mapped_column(Integer)
    noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    defence_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    defence: Mapped[str | None] = mapped_column(Text)
    defence_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removable_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # expired, removed_early, repaired, withdrawn, criteria_no_longer_met
    end_reason: Mapped[str | None] = mapped_column(String(30))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_note: Mapped[str | None] = mapped_column(String(500))
    opened_by: Mapped[str] = mapped_column(String(64))


class Repair(Base):
    """A credit repair application: evidence of rectification, and an official's decision."""

    __tablename__ = "repairs"
    __table_args__ = (Index("ix_repairs_listing", "listing_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    listing_id: Mapped[str] = mapped_column(ForeignKey("listings.id"))
    subject_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(6))
    applicant: Mapped[str] = mapped_column(String(64))
    statement: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    # pending, approved, rejected
    state: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Redemption(Base):
    """A benefit used; the unique key is the rule's limit (once per consumer per merchant, say)."""

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("benefit", "consumer_id", "limit_key", name="ux_redemptions_limit"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    benefit: Mapped[str] = mapped_column(String(40))
    consumer_id: Mapped[str] = mapped_column(String(64))
    merchant_id: Mapped[str] = mapped_column(String(40))
    limit_key: Mapped[str] = mapped_column(String(80))
    redeemed_by: Mapped[str] = mapped_column(String(64))
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AssuredCode(Base):
    """A merchant's assured consumption code (放心消费码): active, suspended, or replaced by a reissue."""

    __tablename__ = "assured_codes"
    __table_args__ = (Index("ix_assured_codes_merchant", "merchant_id", "state"),)

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    state: Mapped[str] = mapped_column(String(10), default="active")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    changed_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(300))
