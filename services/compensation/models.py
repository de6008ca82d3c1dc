"""Compensation's tables: the double-entry ledger, funds, rules, claims, payouts, recovery orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, service_metadata
from shared.outbox import inbox_table, outbox_table

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
_ID = BigInteger().with_variant(Integer, "sqlite")


class ProgramMerchant(Base):
    """Compensation's read model of credit's merchants: who is settled in and enrolled in the program."""

    __tablename__ = "program_merchants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6))
    industry: Mapped[str | None] = mapped_column(String(20))
    settled: Mapped[bool]
    in_compensation_program: Mapped[bool]
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerAccount(Base):
    """`fund:460200`, `deposit:<merchant>`, `payable:<consumer>`, `clearing:wechat`, `external:budget`, ...

    `balance_fen` is the sum of the account's entries, kept in the same transaction as they are
    written (and checked against them by the ledger check).
    """

    __tablename__ = "ledger_accounts"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(60))
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(100), index=True)
    region_code: Mapped[str | None] = mapped_column(String(6))
    memo: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class Fund(Base):
    __tablename__ = "funds"

    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    floor_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DepositTerms(Base):
    """A merchant's deposit floor: below it, officials ask the merchant to top the deposit up."""

    __tablename__ = "deposit_terms"

    merchant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    floor_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_by: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DepositTopUpRequest(Base):
    """An official's request that a merchant bring its deposit back up to its floor; met by a top-up."""

    __tablename__ = "deposit_top_up_requests"
    __table_args__ = (Index("ix_deposit_top_up_requests_merchant", "merchant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(6))
    balance_fen: Mapped[int] = mapped_column(BigInteger)  # the deposit when asked
    floor_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # what brings it back to the floor
    due_by: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RuleSet(Base):
    __tablename__ = "rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_region_state", "region_code", "state"),
        Index("ix_claims_consumer_created", "consumer_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(40), unique=True)
    consumer_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(32))
    merchant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    # The fund that pays: the claim region's own, else its nearest ancestor's (fixed when the claim opens).
    fund_region_code: Mapped[str] = mapped_column(String(6))
    industry: Mapped[str] = mapped_column(String(20))
    amount_involved_fen: Mapped[int] = mapped_column(BigInteger)
    amount_requested_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    scenario: Mapped[str | None] = mapped_column(String(40))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    rule_version: Mapped[int] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(90))  # the standard's condition that decided
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    approvals_needed: Mapped[int] = mapped_column(Integer)
    liability_clear: Mapped[bool]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ClaimApproval(Base):
    __tablename__ = "claim_approvals"
    __table_args__ = (UniqueConstraint("claim_id", "official_id", name="uq_claim_approvals_claim_official"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    official_id: Mapped[str] = mapped_column(String(40))
    official_name: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Payout(Base):
    """One per claim: its id is the provider's idempotency key, so a retry can never pay twice."""

    __tablename__ = "payouts"
    __table_args__ = (Index("ix_payouts_state_next", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), unique=True)
    provider: Mapped[str] = mapped_column(String(32))  # the payout provider's name (the registry's, at most 32)
    consumer_id: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(6))
    out_no: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(24))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    in_clearing: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # A notification and the worker may both apply an outcome: on SQLite, which has no row locks,
    # the version makes the later writer fail instead of overwriting the earlier one.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class ProviderNotification(Base):
    """Each provider notification once: a duplicate is acknowledged and ignored."""

    __tablename__ = "provider_notifications"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    out_no: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(12))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecoveryOrder(Base):
    __tablename__ = "recovery_orders"
    __table_args__ = (
        Index("ix_recovery_orders_merchant_state", "merchant_id", "state"),
        Index("ix_recovery_orders_state_due", "state", "due_by"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), unique=True)
    complaint_id: Mapped[str] = mapped_column(String(40))
    merchant_id: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(6))
    fund_region_code: Mapped[str] = mapped_column(String(6))  # the claim's fund: what is recovered goes back there
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    recovered_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(12))
    due_by: Mapped[datetime] = mapped_column(UTCDateTime())
    contest_reason: Mapped[str | None] = mapped_column(Text)
    write_off_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PayeeName(Base):
    """The payee's real name for one complaint's claim, given with consent; the name is a Fernet token bound to
    the complaint (payee_names.py). Deleted when the claim is paid or rejected, or when its claim never opened."""

    __tablename__ = "payee_names"

    complaint_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    consumer_id: Mapped[str] = mapped_column(String(40))
    name_encrypted: Mapped[str] = mapped_column(Text)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    given_by: Mapped[str] = mapped_column(String(40))  # "consumer" or the official's id
