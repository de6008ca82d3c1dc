"""Partner platforms: signed requests in (`/partner/v1/...`), signed webhooks out, keys managed by admins.

A request is signed with the partner's key: HMAC-SHA256 over

    METHOD \\n PATH \\n QUERY (sorted, as sent) \\n TIMESTAMP \\n NONCE \\n hex SHA-256 of the body

sent as `X-Partner-Key`, `X-Partner-Timestamp` (Unix seconds), `X-Partner-Nonce` and
`X-Partner-Signature` (hex). A request older than 5 minutes, a nonce used before, an unknown or
expired key or a wrong signature is refused with a 401 problem saying which, and nothing is stored.
Webhooks are signed the same way with the partner's newest key (`tools/partner_sign.py` does both
sides). Secrets are shown once and kept encrypted with `GATEWAY_PARTNER_SECRET_KEYS` (the newest of them encrypts,
any of them decrypts), a secret of its own: rotating the JWT secret leaves them readable.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Collection, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from cryptography.fernet import Fernet, MultiFernet
from fastapi import FastAPI, Request
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.config import GatewaySettings
from services.gateway.errors import (
    ChannelNotServed,
    NonceReused,
    PartnerKeyExpired,
    PartnerKeyUnknown,
    PartnerNotFound,
    RequestExpired,
    SignatureInvalid,
    SignatureMissing,
    TimestampInvalid,
)
from services.gateway.models import Partner, PartnerKey, PartnerNonce, WebhookDelivery
from services.gateway.progress import progress_url
from shared.background import BackgroundJob, backoff, claim, periodic
from shared.channels.government import GovernmentChannel, StatusUpdate
from shared.clock import system_clock
from shared.contracts.events import ComplaintStateChanged, EventEnvelope
from shared.ids import new_id
from shared.outbox import EventHandler

log = logging.getLogger("gateway.partners")
WINDOW = timedelta(minutes=5)
CLAIM = 50  # deliveries a pass takes
HEADERS = ("X-Partner-Key", "X-Partner-Timestamp", "X-Partner-Nonce", "X-Partner-Signature")


def canonical(method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    ordered = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    return "\n".join([method.upper(), path, ordered, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def sign(secret: str, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), canonical(method, path, query, timestamp, nonce, body), "sha256").hexdigest()


def _fernet(secret: str, label: bytes = b"partner-secrets:") -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(label + secret.encode()).digest()))


def partner_cipher(settings: GatewaySettings, *, legacy_jwt_secret: str | None = None) -> MultiFernet:
    """The keys of `GATEWAY_PARTNER_SECRET_KEYS`, newest first. `legacy_jwt_secret`: also read secrets that
    were encrypted under the JWT secret, as releases before this key had them (for `rotate-partner-secrets`)."""
    keys = [_fernet(key) for key in settings.partner_secret_key_list]
    if legacy_jwt_secret:
        keys.append(_fernet(legacy_jwt_secret, b"partner-keys:"))
    return MultiFernet(keys)


@dataclass
class Partners:
    session: AsyncSession
    cipher: MultiFernet
    overlap: timedelta

    @classmethod
    def of(cls, session: AsyncSession, settings: GatewaySettings) -> Partners:
        return cls(session, partner_cipher(settings), timedelta(hours=settings.partner_key_overlap_hours))

    async def create(
        self, name: str, webhook_url: str | None, channel: str | None = None, served: Collection[str] = ()
    ) -> tuple[Partner, PartnerKey, str]:
        """A partner; with `channel`, a government channel's center, which must be one this gateway serves."""
        if channel is not None and channel not in served:
            raise ChannelNotServed(
                f"This gateway serves no channel {channel} (GATEWAY_GOVERNMENT_CHANNELS: "
                f"{', '.join(sorted(served)) or 'none'}).",
                field="channel",
            )
        partner = Partner(
            id=new_id("ptn"), name=name, webhook_url=webhook_url, channel=channel, created_at=system_clock.now()
        )
        self.session.add(partner)
        await self.session.flush()
        key, secret = await self.new_key(partner)
        return partner, key, secret

    async def new_key(self, partner: Partner) -> tuple[PartnerKey, str]:
        """A new key; the partner's older keys keep working for the overlap, then stop."""
        now = system_clock.now()
        for old in (
            await self.session.scalars(
                select(PartnerKey).where(PartnerKey.partner_id == partner.id, PartnerKey.expires_at.is_(None))
            )
        ).all():
            old.expires_at = now + self.overlap
        secret = "psk_" + secrets.token_urlsafe(32)
        key = PartnerKey(
            id=new_id("pky"),
            partner_id=partner.id,
            created_at=now,
            secret_encrypted=self.cipher.encrypt(secret.encode()).decode(),
        )
        self.session.add(key)
        await self.session.flush()
        return key, secret

    def secret_of(self, key: PartnerKey) -> str:
        return self.cipher.decrypt(key.secret_encrypted.encode()).decode()

    async def reencrypt_all(self) -> int:
        """Every stored secret encrypted again with the newest key (after a new one was put first)."""
        keys = (await self.session.scalars(select(PartnerKey))).all()
        for key in keys:
            key.secret_encrypted = self.cipher.rotate(key.secret_encrypted.encode()).decode()
        await self.session.flush()
        return len(keys)

    async def get(self, partner_id: str) -> Partner:
        partner = await self.session.get(Partner, partner_id)
        if partner is None:
            raise PartnerNotFound(f"There is no partner {partner_id}.")
        return partner

    async def newest_key(self, partner_id: str) -> PartnerKey | None:
        return await self.session.scalar(
            select(PartnerKey)
            .where(PartnerKey.partner_id == partner_id)
            .order_by(PartnerKey.created_at.desc())
            .limit(1)
        )

    async def verify(self, request: Request) -> Partner:
        """The partner that signed this request, or a 401 that says what is wrong; a valid nonce is kept."""
        key_id, timestamp, nonce, signature = (request.headers.get(h) for h in HEADERS)
        if not (key_id and timestamp and nonce and signature):
            raise SignatureMissing(f"Sign the request: {', '.join(HEADERS)}.")
        try:
            sent = datetime.fromtimestamp(int(timestamp), tz=system_clock.now().tzinfo)
        except (ValueError, OverflowError, OSError) as exc:
            raise TimestampInvalid("X-Partner-Timestamp is Unix seconds.") from exc
        if abs(system_clock.now() - sent) > WINDOW:
            raise RequestExpired("The request is more than 5 minutes old (or from the future): sign it again now.")
        key = await self.session.get(PartnerKey, key_id)
        partner = await self.session.get(Partner, key.partner_id) if key is not None else None
        if key is None or partner is None or partner.disabled:
            raise PartnerKeyUnknown(f"No partner key {key_id}.")
        if key.expires_at is not None and key.expires_at <= system_clock.now():
            raise PartnerKeyExpired("This key was replaced and its overlap is over: sign with the new one.")
        body = await request.body()  # bounded by the app's body limit, chunked or not
        expected = sign(
            self.secret_of(key), request.method, request.url.path, request.url.query, timestamp, nonce, body
        )
        if not hmac.compare_digest(expected, signature.lower()):
            raise SignatureInvalid("The signature does not match the request.")
        self.session.add(PartnerNonce(key_id=key.id, nonce=nonce[:64], seen_at=system_clock.now()))
        try:
            await self.session.flush()
        except IntegrityError as exc:
            await self.session.rollback()
            raise NonceReused("This nonce was used already: the request is a replay.") from exc
        return partner


# --- webhooks ------------------------------------------------------------------------------------
def handlers(app: FastAPI) -> dict[str, EventHandler]:
    async def status_changed(session: AsyncSession, event: ComplaintStateChanged, envelope: EventEnvelope) -> None:
        """A complaint a partner pushed changed state, or one the same case was linked to: queue a webhook
        to each partner it came from, naming the complaint that partner knows."""
        # A case linked to an earlier one from another channel is handled as that one: its channel hears so.
        handled_as = (event.data or {}).get("duplicate_of") if event.action == "linked" else None
        told = (
            [(event.source_id, event.complaint_id, event.external_id, handled_as, event.case_number)]
            if event.source_id
            else []
        )
        told += [
            (
                link["source_id"],
                link["complaint_id"],
                link.get("external_id"),
                event.complaint_id,
                link.get("case_number"),
            )
            for link in event.links
            if link.get("source_id")
        ]
        now = app.state.clock.now()
        channels: dict[str, GovernmentChannel] = app.state.government_channels
        for partner_id, complaint_id, external_id, handled_as, case_number in told:
            partner = await session.get(Partner, partner_id)
            if partner is None or not partner.webhook_url:
                continue
            # The case as the tourist knows it, and the page to follow it on: for the partner to pass on.
            link = progress_url(app.state.settings, complaint_id)
            adapter = channels.get(partner.channel) if partner.channel else None
            if adapter is not None:  # a government channel hears in its own format, of what it wants to hear
                payload = adapter.update(
                    StatusUpdate(
                        event_id=envelope.id,
                        occurred_at=envelope.occurred_at,
                        complaint_id=complaint_id,
                        external_id=external_id,
                        handled_as=handled_as,
                        action=event.action,
                        state_from=event.state_from,
                        state_to=event.state_to,
                        note=event.note,
                        data=event.data or {},
                        case_number=case_number,
                        progress_url=link,
                    )
                )
                if payload is None:
                    continue
            else:
                payload = {
                    "event_id": envelope.id,
                    "type": envelope.type,
                    "occurred_at": envelope.occurred_at.isoformat(),
                    "complaint_id": complaint_id,
                    "case_number": case_number,
                    "progress_url": link,
                    "external_id": external_id,
                    "handled_as": handled_as,
                    "action": event.action,
                    "state_from": event.state_from,
                    "state_to": event.state_to,
                    "note": event.note,
                    "data": event.data or {},
                }
            session.add(
                WebhookDelivery(
                    id=new_id("whd"),
                    partner_id=partner.id,
                    event_id=envelope.id,
                    event_type=envelope.type,
                    complaint_id=complaint_id,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    payload=payload,
                )
            )

    return {"complaint.state_changed": status_changed}


@dataclass(frozen=True)
class _Due:
    id: str
    event_id: str
    attempts: int
    payload: dict[str, Any]


async def claim_webhooks(app: FastAPI, busy: Collection[str] = ()) -> dict[str, list[_Due]]:
    """Lease the due deliveries (up to 50) of partners not being sent to now, per partner in order. The lease
    (the retry time pushed past the longest a partner's batch can take) lets another replica take over a
    dead worker's rows; a delivery sent twice carries the same X-Delivery-Id, which partners deduplicate by."""
    state = app.state
    now = state.clock.now()
    lease = timedelta(seconds=state.settings.webhook_timeout_seconds * CLAIM + 30)
    query = select(WebhookDelivery).where(WebhookDelivery.state == "pending")
    if busy:
        query = query.where(WebhookDelivery.partner_id.not_in(list(busy)))
    async with state.sessionmaker() as session, session.begin():
        deliveries = await claim(
            session,
            query,
            due=WebhookDelivery.next_attempt_at,
            now=now,
            lease=lease,
            limit=CLAIM,
            then=[WebhookDelivery.id],
        )
        claimed: dict[str, list[_Due]] = {}
        for delivery in deliveries:
            claimed.setdefault(delivery.partner_id, []).append(
                _Due(delivery.id, delivery.event_id, delivery.attempts, delivery.payload)
            )
    return claimed


async def send_to_partner(app: FastAPI, partner_id: str, due: list[_Due]) -> None:
    """POST one partner's claimed deliveries in order, outside any transaction, then write what each came to:
    delivered on a 2xx, otherwise retried with doubling backoff, and given up (failed, in the partner's list to
    replay) after the last attempt."""
    state = app.state
    settings = state.settings
    async with state.sessionmaker() as session:
        partners = Partners.of(session, settings)
        partner = await session.get(Partner, partner_id)
        key = await partners.newest_key(partner_id)
        secret = partners.secret_of(key) if key is not None else None
    outcomes: list[tuple[_Due, int | None, str | None]] = []
    for delivery in due:
        if partner is None or not partner.webhook_url or key is None or secret is None:
            outcomes.append((delivery, None, "no webhook URL or key"))
        else:
            status, error = await _post(state.webhook_client, partner.webhook_url, key.id, secret, delivery)
            outcomes.append((delivery, status, error))
    async with state.sessionmaker() as session, session.begin():
        for delivery, status, error in outcomes:
            attempts = delivery.attempts + 1
            values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error}
            if status is not None and 200 <= status < 300:
                values.update(state="delivered", delivered_at=state.clock.now())
            elif attempts >= settings.webhook_max_attempts:
                values.update(state="failed")
                log.warning(
                    "webhook %s to partner %s given up after %d attempts: %s",
                    delivery.id,
                    partner_id,
                    attempts,
                    error or status,
                )
            else:
                wait = backoff(attempts, first=timedelta(seconds=5), cap=timedelta(hours=1))
                values.update(next_attempt_at=state.clock.now() + wait)
            await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))


async def deliver_webhooks_once(app: FastAPI) -> int:
    """Claim what is due and send it, every partner at once; returns how many deliveries were attempted."""
    claimed = await claim_webhooks(app)
    await asyncio.gather(*(send_to_partner(app, partner_id, due) for partner_id, due in claimed.items()))
    return sum(len(due) for due in claimed.values())


async def _post(
    client: httpx.AsyncClient, url: str, key_id: str, secret: str, delivery: _Due
) -> tuple[int | None, str | None]:
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp, nonce = str(int(system_clock.now().timestamp())), secrets.token_hex(16)
    parts = urlsplit(url)
    headers = {
        "Content-Type": "application/json",
        "X-Partner-Key": key_id,
        "X-Partner-Timestamp": timestamp,
        "X-Partner-Nonce": nonce,
        "X-Delivery-Id": delivery.id,
        "X-Event-Id": delivery.event_id,
        "X-Partner-Signature": sign(secret, "POST", parts.path or "/", parts.query, timestamp, nonce, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    return response.status_code, None if response.is_success else response.text[:300]


def _webhook_job() -> BackgroundJob:
    """Each pass claims what is due for the partners not being sent to and sends to each in a task of its
    own: a slow or unreachable partner holds back only its own deliveries."""
    sending: dict[str, asyncio.Task[None]] = {}

    async def send(app: FastAPI, partner_id: str, due: list[_Due]) -> None:
        try:
            await send_to_partner(app, partner_id, due)
        except Exception:  # its rows' lease runs out, and they are sent again
            log.exception("webhooks to partner %s failed", partner_id)
        finally:
            sending.pop(partner_id, None)

    async def step(app: FastAPI) -> None:
        for partner_id, due in (await claim_webhooks(app, busy=set(sending))).items():
            sending[partner_id] = asyncio.create_task(send(app, partner_id, due), name=f"webhooks-{partner_id}")

    async def stop() -> None:
        tasks = list(sending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    return periodic("webhooks", "webhook_interval_seconds", step, log, on_stop=stop)


def webhook_worker(app: FastAPI) -> Coroutine[Any, Any, None]:
    """The webhook job of this app (its partners in flight are its own)."""
    return _webhook_job()(app)


def delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "complaint_id": delivery.complaint_id,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
        "payload": delivery.payload,
    }
