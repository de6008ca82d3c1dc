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
from sqlalchemy.orm.exc import StaleDataError

from services.compensation.errors import (
    AmountMismatch,
    NotificationRejected,
    PayeeNameMissing,
    ProviderError,
    ProviderTimeout,
    UnknownPayout,
)
from services.compensation.models import Claim, Payout, ProviderNotification
from services.compensation.payee_names import PayeeNames
from services.compensation.providers.base import PayoutProvider, TransferNotification, TransferResult
from services.compensation.providers.registry import registry
from services.compensation.service import Compensation
from shared.auth import service_identity
from shared.background import backoff, claim, periodic
from shared.contracts.compensation import PayoutState

log = logging.getLogger("compensation.payouts")
LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=10)
NOTIFICATION_ATTEMPTS = 3  # a notification meeting a concurrent change of its payout is applied again
REMARK = "旅游投诉先行赔付"


@dataclass
class Claimed:
    id: str
    prior_state: str
    provider: str
    out_no: str
    consumer_id: str
    amount_fen: int
    attempts: int
    payee_name: str | None = None  # the payee's real name in clear, held only for the send


def _compensation(app: FastAPI, session: AsyncSession, batch: bool = False) -> Compensation:
    state = app.state
    return Compensation(session=session, clock=state.clock, settings=state.settings, outbox=state.outbox, batch=batch)


async def _claim(app: FastAPI, limit: int) -> list[Claimed]:
    now = app.state.clock.now()
    async with app.state.sessionmaker() as session, session.begin():
        # A payout being sent is due again only once its lease has run out (its next_attempt_at is its
        # lease_until while it is sending).
        waiting = Payout.state.in_([PayoutState.pending, PayoutState.unknown, PayoutState.processing])
        expired = (Payout.state == PayoutState.sending) & (Payout.lease_until < now)
        rows = await claim(
            session,
            select(Payout).where(or_(waiting, expired)),
            due=Payout.next_attempt_at,
            now=now,
            lease=LEASE,
            limit=limit,
        )
        names = await PayeeNames.of(session, app.state.settings).for_payouts(p.id for p in rows) if rows else {}
        claimed = []
        for p in rows:
            # An expired lease means a worker died mid-send: it may or may not have reached the provider.
            prior = PayoutState.unknown if p.state == PayoutState.sending else p.state
            claimed.append(
                Claimed(p.id, prior, p.provider, p.out_no, p.consumer_id, p.amount_fen, p.attempts, names.get(p.id))
            )
            p.state, p.lease_until = PayoutState.sending, p.next_attempt_at
    return claimed


@dataclass
class Outcome:
    """What one attempt learned: the provider's answer, or when to try again and why."""

    item: Claimed
    result: TransferResult | None = None
    retry_state: PayoutState | None = None
    error: str | None = None
    payee_name_missing: bool = False


async def payees_of(app: FastAPI, items: list[Claimed]) -> dict[tuple[str, str], str]:
    """Where each consumer is paid (openid / Alipay user id), in one call: the gateway owns identities."""
    kinds = registry(app.state.settings).kinds
    wanted = sorted(
        {(i.consumer_id, i.provider) for i in items if i.prior_state != PayoutState.processing and i.provider in kinds}
    )
    if not wanted:
        return {}
    # The gateway knows accounts by their login: each provider pays the user id of one (its payee_identity).
    logins = sorted({(account, kinds[provider].payee_identity) for account, provider in wanted})
    response = await app.state.clients["gateway"].request(
        "POST",
        "/internal/payees",
        identity=service_identity("compensation"),
        retry=True,
        json={"accounts": [{"account_id": a, "login": login} for a, login in logins]},
    )
    if response.status_code != 200:
        raise ProviderError(f"the gateway could not name the payees: HTTP {response.status_code}")
    found = {(p["account_id"], p["login"]): p["payee"] for p in response.json()["payees"] if p["payee"]}
    return {
        (account, provider): found[(account, kinds[provider].payee_identity)]
        for account, provider in wanted
        if (account, kinds[provider].payee_identity) in found
    }


async def _attempt(provider: PayoutProvider, item: Claimed, payees: dict[tuple[str, str], str]) -> TransferResult:
    if item.prior_state in (PayoutState.unknown, PayoutState.processing):
        known = await provider.query(item.out_no)
        if known.state != "not_found" or item.prior_state == PayoutState.processing:
            return known  # (accepted earlier yet unknown now: leave it to the provider's next answer)
    if item.payee_name is None and provider.payee_name_required(item.amount_fen):
        raise PayeeNameMissing  # sent, it could only fail: it waits for the name instead
    payee = payees.get((item.consumer_id, item.provider))
    if payee is None:
        raise ProviderError(f"no {item.provider} payee for {item.consumer_id}")
    # A name held is sent whatever the amount: the provider checks it against the account it pays.
    return await provider.transfer(
        out_no=item.out_no, payee=payee, amount_fen=item.amount_fen, remark=REMARK, user_name=item.payee_name
    )


async def _send(app: FastAPI, item: Claimed, payees: dict[tuple[str, str], str]) -> Outcome:
    provider: PayoutProvider | None = app.state.providers.get(item.provider)
    if provider is None:
        return Outcome(item, retry_state=PayoutState(item.prior_state), error=f"no {item.provider} provider")
    try:
        return Outcome(item, result=await _attempt(provider, item, payees))
    except PayeeNameMissing:
        return Outcome(item, payee_name_missing=True)
    except ProviderTimeout as exc:
        # It may have been paid: only a query may follow, never a blind resend.
        return Outcome(item, retry_state=PayoutState.unknown, error=f"timeout: {exc}")
    except ProviderError as exc:
        state = PayoutState.pending if item.prior_state == PayoutState.pending else PayoutState.unknown
        return Outcome(item, retry_state=state, error=f"provider error: {exc}")
    except Exception as exc:  # anything unexpected: keep it safe, ask the provider next time
        log.exception("payout %s attempt failed", item.id)
        return Outcome(item, retry_state=PayoutState.unknown, error=f"{type(exc).__name__}: {exc}")


async def _apply(compensation: Compensation, payout: Payout, outcome: Outcome) -> None:
    """One outcome onto its payout (row locked by the caller); a final payout stays as it is."""
    now = compensation.clock.now()
    if outcome.payee_name_missing:
        if payout.state == PayoutState.sending:  # (else a notification settled it meanwhile)
            await compensation.payouts.awaiting_payee_name(payout)
        return
    if outcome.result is None:
        if payout.state != PayoutState.sending:
            return  # a notification settled it meanwhile
        wait = backoff(outcome.item.attempts + 1, first=timedelta(seconds=1), cap=MAX_BACKOFF)
        assert outcome.retry_state is not None  # every outcome without a result names the state to retry from
        payout.state, payout.lease_until, payout.next_attempt_at = outcome.retry_state, None, now + wait
        payout.attempts, payout.failure_reason = outcome.item.attempts + 1, (outcome.error or "")[:500]
        return
    payout.attempts = outcome.item.attempts + 1
    if payout.state in (PayoutState.succeeded, PayoutState.failed):
        return
    result = outcome.result
    if result.amount_fen is not None and result.amount_fen != payout.amount_fen:
        log.error("provider reports %s fen for payout %s of %s fen", result.amount_fen, payout.id, payout.amount_fen)
        payout.state, payout.lease_until, payout.next_attempt_at = PayoutState.unknown, None, now + MAX_BACKOFF
        payout.failure_reason = "amount mismatch at the provider: needs an official"
    elif result.state == "succeeded":
        await compensation.payouts.succeeded(payout, result.provider_ref)
    elif result.state == "failed":
        await compensation.payouts.failed(payout, result.reason or "refused by the provider")
    elif result.state == "processing":
        await compensation.payouts.processing(payout, result.provider_ref)
        payout.lease_until = None
    else:  # not_found after a processing answer: ask again later
        payout.state, payout.lease_until = PayoutState.unknown, None
        payout.next_attempt_at = now + timedelta(seconds=compensation.settings.payout_poll_seconds)


async def _apply_batch(app: FastAPI, outcomes: list[Outcome]) -> None:
    """Every outcome of a pass in one transaction, its ledger postings written together at the end."""
    async with app.state.sessionmaker() as session:
        ids = sorted(o.item.id for o in outcomes)
        payouts = {
            p.id: p
            for p in (
                await session.scalars(select(Payout).where(Payout.id.in_(ids)).order_by(Payout.id).with_for_update())
            ).all()
        }
        # Their claims in one query: `session.get` then finds each one without a round trip (the
        # session's identity map holds rows weakly: this list keeps them there).
        claim_ids = sorted({p.claim_id for p in payouts.values()})
        _claims = (await session.scalars(select(Claim).where(Claim.id.in_(claim_ids)))).all()
        compensation = _compensation(app, session, batch=True)
        for outcome in outcomes:
            await _apply(compensation, payouts[outcome.item.id], outcome)
        await compensation.flush()
        await session.commit()


async def _apply_one(app: FastAPI, outcome: Outcome) -> None:
    async with app.state.sessionmaker() as session:
        payout = (
            await session.execute(select(Payout).where(Payout.id == outcome.item.id).with_for_update())
        ).scalar_one()
        await _apply(_compensation(app, session), payout, outcome)
        await session.commit()


async def run_payouts_once(app: FastAPI, limit: int | None = None) -> int:
    """Send the payouts that are due (up to `payout_batch`), then apply what was learned; returns how many."""
    items = await _claim(app, limit or app.state.settings.payout_batch)
    if not items:
        return 0
    try:
        payees = await payees_of(app, items)
    except Exception as exc:  # the gateway is down: every send waits for the next pass
        log.warning("payee lookup failed: %s", exc)
        payees = {}
    outcomes = list(await asyncio.gather(*(_send(app, item, payees) for item in items)))
    try:
        await _apply_batch(app, outcomes)
    except Exception:
        # One payout's trouble (a guard, a conflict) must not hold back the others.
        log.warning("applying %d outcomes together failed; applying them one by one", len(outcomes), exc_info=True)
        for outcome in outcomes:
            try:
                await _apply_one(app, outcome)
            except Exception:
                log.exception("payout %s outcome could not be applied; its lease will expire", outcome.item.id)
    if app.state.dispatcher is not None:
        app.state.dispatcher.kick()
    return len(items)


async def _payouts_pass(app: FastAPI) -> None:
    while await run_payouts_once(app):
        pass


async def _recovery_pass(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        if await _compensation(app, session).recovery.default_overdue_recoveries():
            await session.commit()
            if app.state.dispatcher is not None:
                app.state.dispatcher.kick()


_payout_loop = periodic("payouts", "payout_interval_seconds", _payouts_pass, log, wake="payout_wake")


async def payout_worker(app: FastAPI) -> None:
    """`payout_passes` loops at once: a pass waits on the provider, then on the database, and the
    other loop's pass fills the gap. They never share a payout: claiming takes a lease."""
    await asyncio.gather(*(_payout_loop(app) for _ in range(app.state.settings.payout_passes)))


# Default recovery orders past their due date (once a minute is plenty for a 30-day term).
recovery_scheduler = periodic("recovery", 60, _recovery_pass, log)


def wake_payouts(app: Any) -> None:
    event = getattr(app.state, "payout_wake", None)
    if event is not None:
        event.set()


async def handle_notification(app: FastAPI, name: str, headers: dict[str, str], body: bytes) -> str:
    """A provider's word on a payout (`name`: the provider's): verified, checked against our record, applied once."""
    provider: PayoutProvider | None = app.state.providers.get(name)
    if provider is None:
        raise NotificationRejected(f"No {name} provider is configured.")
    note = provider.parse_notification(headers, body)  # raises NotificationRejected
    for attempt in range(1, NOTIFICATION_ATTEMPTS + 1):
        try:
            outcome = await _apply_notification(app, name, note)
            break
        except StaleDataError:
            # The payout changed between our read and our write (the worker applying what it learned from
            # the same transfer): read it again. Answering an error would leave the payout to the
            # provider's retries, and a fake or a provider that gives up sooner would leave it unpaid.
            if attempt == NOTIFICATION_ATTEMPTS:
                raise
            log.info("payout %s changed while its notification was applied; applying it again", note.out_no)
    if app.state.dispatcher is not None:
        app.state.dispatcher.kick()
    return outcome


async def _apply_notification(app: FastAPI, name: str, note: TransferNotification) -> str:
    async with app.state.sessionmaker() as session:
        payout = (
            await session.execute(select(Payout).where(Payout.out_no == note.out_no).with_for_update())
        ).scalar_one_or_none()
        if payout is None or payout.provider != name:
            raise UnknownPayout(f"No {name} payout {note.out_no} exists.")
        if note.amount_fen != payout.amount_fen:
            log.error(
                "notification for %s says %s fen, the payout is %s fen", payout.id, note.amount_fen, payout.amount_fen
            )
            raise AmountMismatch("The notified amount does not match the payout.")
        session.add(
            ProviderNotification(
                id=f"{name}:{note.notification_id}",
                provider=name,
                out_no=note.out_no,
                state=note.state,
                received_at=app.state.clock.now(),
            )
        )
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            return "duplicate"
        compensation = _compensation(app, session)
        if payout.state not in (PayoutState.succeeded, PayoutState.failed):
            if note.state == "succeeded":
                await compensation.payouts.succeeded(payout, note.provider_ref)
            elif note.state == "failed":
                await compensation.payouts.failed(payout, note.reason or "refused by the provider")
            else:
                await compensation.payouts.processing(payout, note.provider_ref)
        await session.commit()
    return "applied"
