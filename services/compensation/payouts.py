"""Sending the money, exactly once.

The payout's `out_no` is the provider's idempotency key. A payout is claimed with a lease (rows
`FOR UPDATE SKIP LOCKED` on PostgreSQL), sent outside any transaction, and its outcome applied with
the row locked again. A send that timed out leaves the payout `unknown`: the next attempt queries
the provider with the same key before anything else, and only a provider that never saw it is sent
it again. A notification and a worker racing on the same payout both apply the outcome under the
row lock; the second finds it final and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation.models import Payout, ProviderNotification
from services.compensation.providers.base import (
    NotificationRejected,
    PayoutProvider,
    ProviderError,
    ProviderTimeout,
    TransferResult,
)
from services.compensation.service import Compensation
from shared.auth import service_identity
from shared.contracts.compensation import PayoutState
from shared.db import for_update_skip_locked

log = logging.getLogger("compensation.payouts")
LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=10)
REMARK = "旅游投诉先行赔付"


@dataclass
class Claimed:
    id: str
    prior_state: str
    channel: str
    out_no: str
    consumer_id: str
    amount_fen: int
    attempts: int


def _compensation(app: FastAPI, session: AsyncSession) -> Compensation:
    state = app.state
    return Compensation(session=session, clock=state.clock, settings=state.settings, outbox=state.outbox)


async def _claim(app: FastAPI, limit: int) -> list[Claimed]:
    now = app.state.clock.now()
    async with app.state.sessionmaker() as session, session.begin():
        due = or_(
            Payout.state.in_([PayoutState.pending, PayoutState.unknown, PayoutState.processing])
            & (Payout.next_attempt_at <= now),
            (Payout.state == PayoutState.sending) & (Payout.lease_until < now),
        )
        rows = (await session.scalars(select(Payout).where(due).order_by(Payout.next_attempt_at).limit(limit)
                                      .with_for_update(**for_update_skip_locked(session)))).all()
        claimed = []
        for p in rows:
            # An expired lease means a worker died mid-send: it may or may not have reached the provider.
            prior = PayoutState.unknown if p.state == PayoutState.sending else p.state
            claimed.append(Claimed(p.id, prior, p.channel, p.out_no, p.consumer_id, p.amount_fen, p.attempts))
            p.state, p.lease_until = PayoutState.sending, now + LEASE
            p.next_attempt_at = now + LEASE
    return claimed


async def payee_of(app: FastAPI, consumer_id: str, channel: str) -> str:
    """The consumer's openid / Alipay user id: the gateway owns identities."""
    response = await app.state.clients["gateway"].request(
        "GET", f"/internal/accounts/{consumer_id}/payee", params={"channel": channel},
        identity=service_identity("compensation"))
    if response.status_code != 200:
        raise ProviderError(f"no {channel} payee for {consumer_id}: HTTP {response.status_code}")
    return str(response.json()["payee"])


async def _attempt(app: FastAPI, provider: PayoutProvider, item: Claimed) -> TransferResult:
    if item.prior_state in (PayoutState.unknown, PayoutState.processing):
        known = await provider.query(item.out_no)
        if known.state != "not_found":
            return known
        if item.prior_state == PayoutState.processing:
            return known  # accepted earlier yet unknown now: leave it to the provider's next answer
    payee = await payee_of(app, item.consumer_id, item.channel)
    return await provider.transfer(out_no=item.out_no, payee=payee, amount_fen=item.amount_fen, remark=REMARK)


async def apply_result(app: FastAPI, payout_id: str, result: TransferResult) -> None:
    """Apply a provider's answer to the payout, with its row locked; a final payout stays as it is."""
    async with app.state.sessionmaker() as session:
        payout = (await session.execute(select(Payout).where(Payout.id == payout_id).with_for_update())
                  ).scalar_one()
        if payout.state in (PayoutState.succeeded, PayoutState.failed):
            return
        if result.amount_fen is not None and result.amount_fen != payout.amount_fen:
            log.error("provider reports %s fen for payout %s of %s fen", result.amount_fen, payout.id,
                      payout.amount_fen)
            payout.state, payout.lease_until = PayoutState.unknown, None
            payout.failure_reason = "amount mismatch at the provider: needs an official"
            payout.next_attempt_at = app.state.clock.now() + MAX_BACKOFF
            await session.commit()
            return
        compensation = _compensation(app, session)
        if result.state == "succeeded":
            await compensation.payout_succeeded(payout, result.provider_ref)
        elif result.state == "failed":
            await compensation.payout_failed(payout, result.reason or "refused by the provider")
        elif result.state == "processing":
            await compensation.payout_processing(payout, result.provider_ref)
            payout.lease_until = None
        else:  # not_found after a processing answer: ask again later
            payout.state, payout.lease_until = PayoutState.unknown, None
            payout.next_attempt_at = app.state.clock.now() + timedelta(seconds=app.state.settings.payout_poll_seconds)
        await session.commit()
    if app.state.dispatcher is not None:
        app.state.dispatcher.kick()


async def _retry_later(app: FastAPI, item: Claimed, state: PayoutState, error: str) -> None:
    now = app.state.clock.now()
    backoff = min(timedelta(seconds=2 ** min(item.attempts, 10)), MAX_BACKOFF)
    async with app.state.sessionmaker() as session, session.begin():
        payout = (await session.execute(select(Payout).where(Payout.id == item.id).with_for_update())).scalar_one()
        if payout.state != PayoutState.sending:
            return  # a notification settled it meanwhile
        payout.state, payout.lease_until, payout.next_attempt_at = state, None, now + backoff
        payout.attempts = item.attempts + 1
        payout.failure_reason = error[:500]


async def _process(app: FastAPI, item: Claimed) -> None:
    provider: PayoutProvider | None = app.state.providers.get(item.channel)
    if provider is None:
        await _retry_later(app, item, PayoutState(item.prior_state), f"no {item.channel} provider configured")
        return
    try:
        result = await _attempt(app, provider, item)
    except ProviderTimeout as exc:
        # It may have been paid: only a query may follow, never a blind resend.
        await _retry_later(app, item, PayoutState.unknown, f"timeout: {exc}")
        return
    except ProviderError as exc:
        next_state = PayoutState.pending if item.prior_state == PayoutState.pending else PayoutState.unknown
        await _retry_later(app, item, next_state, f"provider error: {exc}")
        return
    except Exception as exc:  # anything unexpected: keep it safe, ask the provider next time
        log.exception("payout %s attempt failed", item.id)
        await _retry_later(app, item, PayoutState.unknown, f"{type(exc).__name__}: {exc}")
        return
    async with app.state.sessionmaker() as session, session.begin():
        payout = (await session.execute(select(Payout).where(Payout.id == item.id).with_for_update())).scalar_one()
        payout.attempts = item.attempts + 1
    await apply_result(app, item.id, result)


async def run_payouts_once(app: FastAPI, limit: int = 50) -> int:
    """Send every payout that is due; returns how many were attempted."""
    items = await _claim(app, limit)
    await asyncio.gather(*(_process(app, item) for item in items))
    return len(items)


async def payout_worker(app: FastAPI) -> None:
    interval = app.state.settings.payout_interval_seconds
    wake: asyncio.Event = app.state.payout_wake
    while True:
        try:
            while await run_payouts_once(app):
                pass
        except Exception:
            log.exception("payout worker pass failed")
        try:
            await asyncio.wait_for(wake.wait(), timeout=interval)
        except TimeoutError:
            pass
        wake.clear()


async def recovery_scheduler(app: FastAPI) -> None:
    """Default recovery orders past their due date (once a minute is plenty for a 30-day term)."""
    while True:
        try:
            async with app.state.sessionmaker() as session:
                if await _compensation(app, session).default_overdue_recoveries():
                    await session.commit()
                    if app.state.dispatcher is not None:
                        app.state.dispatcher.kick()
        except Exception:
            log.exception("recovery scheduler pass failed")
        await asyncio.sleep(60)


def wake_payouts(app: Any) -> None:
    event = getattr(app.state, "payout_wake", None)
    if event is not None:
        event.set()


async def handle_notification(app: FastAPI, channel: str, headers: dict[str, str], body: bytes) -> str:
    """A provider's word on a payout: verified, checked against our record, applied once."""
    provider: PayoutProvider | None = app.state.providers.get(channel)
    if provider is None:
        raise NotificationRejected(f"No {channel} provider is configured.")
    note = provider.parse_notification(headers, body)  # raises NotificationRejected
    async with app.state.sessionmaker() as session:
        payout = (await session.execute(select(Payout).where(Payout.out_no == note.out_no).with_for_update())
                  ).scalar_one_or_none()
        if payout is None or payout.channel != channel:
            raise NotificationRejected(f"No {channel} payout {note.out_no} exists.", code="unknown_payout")
        if note.amount_fen != payout.amount_fen:
            log.error("notification for %s says %s fen, the payout is %s fen", payout.id, note.amount_fen,
                      payout.amount_fen)
            raise NotificationRejected("The notified amount does not match the payout.", code="amount_mismatch")
        session.add(ProviderNotification(id=f"{channel}:{note.notification_id}", channel=channel,
                                         out_no=note.out_no, state=note.state, received_at=app.state.clock.now()))
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            return "duplicate"
        compensation = _compensation(app, session)
        if payout.state not in (PayoutState.succeeded, PayoutState.failed):
            if note.state == "succeeded":
                await compensation.payout_succeeded(payout, note.provider_ref)
            elif note.state == "failed":
                await compensation.payout_failed(payout, note.reason or "refused by the provider")
            else:
                await compensation.payout_processing(payout, note.provider_ref)
        await session.commit()
    if app.state.dispatcher is not None:
        app.state.dispatcher.kick()
    return "applied"
