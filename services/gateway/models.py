"""The gateway's tables: accounts, their provider identities, sessions, partners, webhooks, notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, service_metadata
from shared.outbox import inbox_table

metadata = service_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class Account(Base):
    """A person: a consumer (created at first login) or staff (created by an admin or the CLI)."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(100))
    region_code: Mapped[str | None] = mapped_column(String(6))
    merchant_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProviderIdentity(Base):
    """A WeChat openid or Alipay user id, and the account it logs in as."""

    __tablename__ = "provider_identities"
    __table_args__ = (UniqueConstraint("provider", "external_id", name="uq_provider_identities_provider_external"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuthSession(Base):
    """A login: access tokens name it, so logout ends them; the refresh token rotates on each use."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Indexed: each replica asks every few seconds which sessions ended lately (auth.SessionCache).
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Why it ended: logout, refresh_reused (a rotated refresh token came back: stolen), unlocked_by_admin.
    end_reason: Mapped[str | None] = mapped_column(String(32))


class UsedRefreshToken(Base):
    """A refresh token already traded for a new pair. Presented again, it was copied: its session ends
    (OAuth's refresh-token rotation with reuse detection)."""

    __tablename__ = "used_refresh_tokens"

    refresh_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginThrottle(Base):
    """Failed password logins of one username, whether an account has it or not (so a lock tells nobody
    which usernames exist), shared by every gateway replica through the database."""

    __tablename__ = "login_throttles"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProviderToken(Base):
    """A provider's access token (WeChat's `access_token`) shared by every gateway replica: one fetch serves them
    all, and a replica that finds it rejected reads here first whether another replica has a newer one."""

    __tablename__ = "provider_tokens"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginAudit(Base):
    """One line per staff login event: failed, refused while locked, locked, succeeded, unlocked."""

    __tablename__ = "login_audit"
    __table_args__ = (Index("ix_login_audit_username_at", "username", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(20))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


inbox = inbox_table(metadata)


class Partner(Base):
    """A partner platform (an OTA, a hotline center, a scenic spot's system) that calls the partner API."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # A government channel's center (a channel module with governmental INFO, shared/channels/) talks through that
    # channel's adapter (`/callbacks/{channel}`, its own payloads); None: the generic partner API.
    channel: Mapped[str | None] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PartnerKey(Base):
    """A signing key: the secret is kept encrypted (HMAC needs it back), shown to the partner once."""

    __tablename__ = "partner_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    secret_encrypted: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when a newer key replaced it: it keeps working until then (rotation with overlap).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PartnerNonce(Base):
    """Nonces of signed requests in the last minutes: a replayed request finds its nonce here."""

    __tablename__ = "partner_nonces"
    __table_args__ = (UniqueConstraint("key_id", "nonce", name="uq_partner_nonces_key_nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(40))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class WebhookDelivery(Base):
    """One status change to tell one partner, delivered signed with retries and backoff."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("partner_id", "event_id", name="uq_webhook_deliveries_partner_event"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    complaint_id: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending (to send at next_attempt_at), delivered, failed (gave up after the last attempt)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    """One state change of a complaint to tell one tourist through their mini-program's message API
    (services/gateway/notifications.py), with retries; its outcome goes to the complaint's timeline."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "consumer_id", name="uq_notifications_event_consumer"),
        Index("ix_notifications_due", "state", "next_attempt_at"),
        Index("ix_notifications_unrecorded", "recorded", "next_attempt_at"),
        Index("ix_notifications_complaint_consumer", "complaint_id", "consumer_id", "seq"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    # The complaint as this tourist knows it (for a linked case: their own, not the one being worked).
    complaint_id: Mapped[str] = mapped_column(String(40))
    case_number: Mapped[str | None] = mapped_column(String(32))  # what the message names it by
    consumer_id: Mapped[str] = mapped_column(String(40))
    # Order of this tourist's notifications of this complaint: a newer one supersedes the unsent older ones.
    seq: Mapped[int] = mapped_column(Integer)
    # wechat, alipay, douyin, kuaishou: the login the message goes through (None: the account has none)
    provider: Mapped[str | None] = mapped_column(String(20))
    state_to: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(200))
    # pending (due at next_attempt_at), sending (claimed until next_attempt_at), sent, refused (the provider
    # will not deliver it: final), failed (gave up after the last attempt), not_supported (no message API for
    # this login), superseded (a newer change was told instead)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The outcome is on the complaint's timeline in intake (or there is nothing to record: superseded).
    recorded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
