"""Tourists hear of every state change of their complaint in the mini-program they complained from.

Each `complaint.state_changed` of a complaint filed from a mini-program queues one `notifications` row
for its consumer, and one for the consumer of each complaint linked to it (the same case from a second
channel), naming that consumer's own complaint. A change that is no change of state (a callback visit)
is not told, unless it asks the tourist for something (`asks_consumer`: the payee's real name a payout
waits for), which is told to the complaint's own tourist with the state as it stands and the request as
its note. Redelivered events queue nothing twice (the inbox, and a unique key on event and consumer).

A background worker sends due rows through the message API of the consumer's login (its module's
`send_progress`, services/gateway/logins/; a login without one is `not_supported`):

- WeChat: a subscribe message (wechatpy, `cgi-bin/message/subscribe/send`) with the template
  `GATEWAY_WECHAT_PROGRESS_TEMPLATE_ID`: `character_string1` the case number (460200-20261206-0042),
  `phrase2` the state in Chinese (at most 5 characters), `time3` when it changed (Asia/Shanghai), `thing4`
  the note (at most 20 characters); the page is `GATEWAY_PROGRESS_PAGE` with the complaint id and, for a
  web-view page, the tourist's signed progress link (services/gateway/progress.py).
- Alipay: `alipay.open.app.mini.templatemessage.send` (see logins/alipay.py), template
  `GATEWAY_ALIPAY_PROGRESS_TEMPLATE_ID`, `keyword1`..`keyword4` the same four facts (at most 50
  characters each), the same page.
- Douyin and Kuaishou: no message API is wired here, so the outcome is `not_supported`, not pretended.

Outcomes: `sent`; `refused` (the provider will not deliver it: no subscription left, a blocked or
unknown user, a template it rejects), final, never retried; a provider that is down, times out or
refuses our credentials is retried with doubling backoff (5 s to 1 h) and `failed` after
`GATEWAY_NOTIFY_MAX_ATTEMPTS`. Each outcome goes to the complaint's timeline in intake (`notified` or
`notification_failed`, a pass's outcomes in one `POST /internal/notification-outcomes`, which
records each notification once); while intake cannot be reached it is tried again every 30 s. While
full batches are waiting the worker runs pass after pass, else every `GATEWAY_NOTIFY_INTERVAL_SECONDS`.
Nothing here holds up a complaint: rows are written with the event and sent afterwards.

Coalescing: a WeChat subscription is good for one message, so a burst of changes (submitted, accepted,
assigned happen in one request) is told once, with the newest state. Changes that arrive in one batch
of events are one row, kept in memory and rewritten to the newest as each is applied; the batch's rows
are written at its end, in one INSERT. A new row waits
`GATEWAY_NOTIFY_COALESCE_SECONDS` before it is due; when a row comes due (or its attempt fails) while a
newer row of the same consumer and complaint exists, it is `superseded` and not sent. Superseded rows
are not on the timeline: the message that told the newer state is. "Newer" is the complaint's own
count of changes that each event carries (`revision`), so events that arrive out of order (two
dispatcher replicas) still tell the latest state.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.config import GatewaySettings
from services.gateway.logins import registry as logins
from services.gateway.logins.base import MessageRefused, ProgressMessage, ProgressSender, clip
from services.gateway.models import Notification, ProviderIdentity
from services.gateway.progress import page_link
from shared.auth import service_identity
from shared.background import backoff, claim, periodic
from shared.contracts.events import ComplaintStateChanged, EventEnvelope
from shared.db import table_of
from shared.errors import Problem
from shared.ids import new_id
from shared.outbox import EventHandler, at_batch_end

log = logging.getLogger("gateway.notifications")

BATCH = 50
CONCURRENCY = 8  # messages in flight at once (the SDKs are blocking: each holds a worker thread)
LEASE = timedelta(minutes=2)  # a claimed row is sent within this, or claimed again (the worker died)
RECORD_RETRY = timedelta(seconds=30)
FINAL = ("sent", "refused", "failed", "not_supported")
GATEWAY = service_identity("gateway")
LINKED_REMARK = "同一案件已在办理，进展将同步告知您"


# --- the message ------------------------------------------------------------------------------------
def page_of(settings: GatewaySettings, complaint_id: str) -> str:
    """The mini-program page that shows the complaint (with its progress link, where the page asks for it)."""
    return page_link(settings, complaint_id)


# --- queueing, from the events ----------------------------------------------------------------------
_QUEUED = "notifications_queued"


def handlers(app: FastAPI) -> dict[str, EventHandler]:
    async def state_changed(session: AsyncSession, event: ComplaintStateChanged, envelope: EventEnvelope) -> None:
        """Queue a message to each tourist who follows the complaint: its complainant, and the complainant
        of each complaint linked to it, about their own complaint.

        The rows are written at the end of the batch of events, in one statement: a submission's burst of
        changes arrives together, and a newer change of the same complaint rewrites its tourist's row in
        memory rather than queueing one to be superseded."""
        if event.state_from == event.state_to and not event.asks_consumer:
            return  # a callback visit, say; but a request to the tourist (their payee name) is told
        told = [(event.consumer_id, event.complaint_id, event.channel, event.case_number)] if event.consumer_id else []
        told += [
            (
                link["consumer_id"],
                link.get("complaint_id") or event.complaint_id,
                link.get("channel") or event.channel,
                link.get("case_number"),
            )
            for link in event.links
            if link.get("consumer_id") and not event.asks_consumer  # a request is for its own complainant only
        ]
        now = app.state.clock.now()
        due = now + timedelta(seconds=app.state.settings.notify_coalesce_seconds)
        queued: dict[tuple[str, str], dict[str, Any]] = at_batch_end(session, _QUEUED, _write_queued, dict)
        told_now: set[str] = set()
        for consumer_id, complaint_id, channel, case_number in told:
            if consumer_id in told_now:  # the inbox applies an event once; this, a consumer once per event
                continue
            told_now.add(consumer_id)
            earlier = queued.get((complaint_id, consumer_id))
            if complaint_id == event.complaint_id and event.revision is not None:
                seq = event.revision  # the complaint's own count: right however the events arrive
            elif earlier is not None:  # about a linked case, heard again in this batch: in the order heard
                seq = earlier["seq"] + 1
            else:
                seq = (
                    await session.scalar(
                        select(func.max(Notification.seq)).where(
                            Notification.complaint_id == complaint_id, Notification.consumer_id == consumer_id
                        )
                    )
                    or 0
                ) + 1
            if earlier is not None:
                if seq > earlier["seq"]:  # not written yet: it tells the newer state instead
                    earlier.update(
                        event_id=envelope.id,
                        seq=seq,
                        state_to=event.state_to,
                        changed_at=envelope.occurred_at,
                        note=_note_of(event),
                    )
                continue
            queued[(complaint_id, consumer_id)] = {
                "id": new_id("ntf"),
                "event_id": envelope.id,
                "complaint_id": complaint_id,
                "case_number": case_number,
                "consumer_id": consumer_id,
                "seq": seq,
                "channel": channel,
                "state_to": event.state_to,
                "changed_at": envelope.occurred_at,
                "note": _note_of(event),
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": due,
                "last_error": None,
                "finished_at": None,
                "recorded": False,
                "created_at": now,
            }

    return {"complaint.state_changed": state_changed}


async def _write_queued(session: AsyncSession, queued: dict[tuple[str, str], dict[str, Any]]) -> None:
    """The batch's rows in one INSERT, each with the login its tourist is reached through."""
    rows = list(queued.values())
    if not rows:
        return
    logins: dict[str, list[str]] = {}
    for account_id, provider in await session.execute(
        select(ProviderIdentity.account_id, ProviderIdentity.provider)
        .where(ProviderIdentity.account_id.in_({row["consumer_id"] for row in rows}))
        .order_by(ProviderIdentity.created_at)
    ):
        logins.setdefault(account_id, []).append(provider)
    for row in rows:
        row["provider"] = _provider_of(logins.get(row["consumer_id"], []), row.pop("channel"))
    await session.execute(insert(table_of(Notification)), rows)


def _note_of(event: ComplaintStateChanged) -> str | None:
    """What the message says with the new state: the note that came with it, or for a case linked to one
    that came first by another channel, that it is being handled there (its own note is for officials)."""
    if event.action == "linked":
        return LINKED_REMARK
    return clip(event.note, 200) if event.note else None


def _provider_of(providers: list[str], channel: str) -> str | None:
    """The login the tourist is reached through: the one of the channel they complained from, else the
    first they made (`providers` in the order made)."""
    wanted = logins.login_of(channel)
    return wanted if wanted in providers else (providers[0] if providers else None)


# --- sending ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Job:
    id: str
    provider: str | None
    recipient: str | None
    message: ProgressMessage


@dataclass(frozen=True)
class _Outcome:
    state: str  # sent, refused, not_supported, or retry
    error: str | None = None


async def send_notifications_once(app: FastAPI) -> bool:
    """Send a batch of due notifications once (superseding those a newer change overtook), then put a
    batch of outcomes not yet recorded on their complaints' timelines. True when either batch was full:
    more is waiting."""
    jobs, claimed = await _claim(app)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def attempt(job: _Job) -> _Outcome:
        async with slots:
            return await _attempt(app, job)

    outcomes = await asyncio.gather(*(attempt(job) for job in jobs))
    if jobs:
        await _settle(app, dict(zip([job.id for job in jobs], outcomes, strict=True)))
    reported = await _record_outcomes(app)
    return claimed >= BATCH or reported >= BATCH


async def _newest(session: AsyncSession, rows: list[Notification]) -> dict[tuple[str, str], int]:
    groups = sorted({(row.complaint_id, row.consumer_id) for row in rows})
    if not groups:
        return {}
    found = await session.execute(
        select(Notification.complaint_id, Notification.consumer_id, func.max(Notification.seq))
        .where(tuple_(Notification.complaint_id, Notification.consumer_id).in_(groups))
        .group_by(Notification.complaint_id, Notification.consumer_id)
    )
    return {(complaint, consumer): seq for complaint, consumer, seq in found.all()}


def _supersede(row: Notification, now: datetime) -> None:
    row.state, row.finished_at, row.recorded = "superseded", now, True


async def _claim(app: FastAPI) -> tuple[list[_Job], int]:
    """Take the due rows (and those a dead worker left): superseded ones are closed, the rest leased.
    Returns the jobs to send and how many rows were taken."""
    state = app.state
    now = state.clock.now()
    async with state.sessionmaker() as session, session.begin():
        rows = await claim(
            session,
            select(Notification).where(Notification.state.in_(("pending", "sending"))),
            due=Notification.next_attempt_at,
            now=now,
            lease=LEASE,
            limit=BATCH,
        )
        newest = await _newest(session, rows)
        wanted = sorted({(row.consumer_id, row.provider) for row in rows if row.provider})
        recipients: dict[tuple[str, str], str] = {}
        if wanted:
            found = await session.execute(
                select(ProviderIdentity.account_id, ProviderIdentity.provider, ProviderIdentity.external_id).where(
                    tuple_(ProviderIdentity.account_id, ProviderIdentity.provider).in_(wanted)
                )
            )
            recipients = {(account, provider): external for account, provider, external in found.all()}
        jobs = []
        for row in rows:
            if row.seq < newest.get((row.complaint_id, row.consumer_id), row.seq):
                _supersede(row, now)
                continue
            row.state = "sending"
            jobs.append(
                _Job(
                    id=row.id,
                    provider=row.provider,
                    recipient=recipients.get((row.consumer_id, row.provider)) if row.provider else None,
                    message=ProgressMessage(row.complaint_id, row.state_to, row.changed_at, row.note, row.case_number),
                )
            )
    return jobs, len(rows)


async def _attempt(app: FastAPI, job: _Job) -> _Outcome:
    """Send one message through the provider's adapter; what came of it."""
    settings: GatewaySettings = app.state.settings
    if job.provider is None or job.recipient is None:
        return _Outcome("not_supported", "the tourist has no mini-program login to message")
    kind = logins.KINDS.get(job.provider)
    if kind is None or not issubclass(kind, ProgressSender):
        return _Outcome("not_supported", f"{job.provider} has no message API on this platform")
    adapter = app.state.logins.get(job.provider)
    if not isinstance(adapter, ProgressSender):
        return _Outcome("not_supported", f"{job.provider} messages are not configured on this platform")
    try:
        await adapter.send_progress(settings, job.recipient, job.message, page_of(settings, job.message.complaint_id))
    except MessageRefused as exc:
        return _Outcome("refused", exc.reason[:300])
    except Problem as exc:  # provider unavailable, our credentials refused, an answer that did not verify
        return _Outcome("retry", f"{exc.code}: {exc.detail}"[:300])
    except Exception as exc:  # never let one message stop the others
        log.exception("notification %s: sending failed unexpectedly", job.id)
        return _Outcome("retry", f"{type(exc).__name__}: {exc}"[:300])
    return _Outcome("sent")


async def _settle(app: FastAPI, outcomes: dict[str, _Outcome]) -> None:
    """Write what each attempt came to: final, or a retry after a doubling backoff (superseded when a newer
    change came meanwhile), or failed after the last attempt."""
    state = app.state
    now = state.clock.now()
    async with state.sessionmaker() as session, session.begin():
        rows = list((await session.scalars(select(Notification).where(Notification.id.in_(list(outcomes))))).all())
        newest = await _newest(session, rows)
        for row in rows:
            outcome = outcomes[row.id]
            if outcome.state != "not_supported":
                row.attempts += 1
            row.last_error = outcome.error
            if outcome.state != "retry":
                row.state, row.finished_at, row.next_attempt_at = outcome.state, now, now
            elif row.seq < newest.get((row.complaint_id, row.consumer_id), row.seq):
                _supersede(row, now)
            elif row.attempts >= state.settings.notify_max_attempts:
                row.state, row.finished_at, row.next_attempt_at = "failed", now, now
                log.warning("notification %s given up after %d attempts: %s", row.id, row.attempts, outcome.error)
            else:
                row.state = "pending"
                row.next_attempt_at = now + backoff(row.attempts, first=timedelta(seconds=5), cap=timedelta(hours=1))


async def _record_outcomes(app: FastAPI) -> int:
    """Put each final outcome on its complaint's timeline, a pass's outcomes in one request; intake records
    a notification once, so a retry after a lost answer is harmless. While intake cannot be reached, try
    again later. Returns how many outcomes were reported."""
    state = app.state
    now = state.clock.now()
    async with state.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(Notification)
                .where(
                    Notification.recorded.is_(False), Notification.state.in_(FINAL), Notification.next_attempt_at <= now
                )
                .order_by(Notification.next_attempt_at)
                .limit(BATCH)
            )
        ).all()
        outcomes = [_outcome_body(row) for row in rows]
    if not outcomes:
        return 0
    done = await _report(app, outcomes)
    async with state.sessionmaker() as session, session.begin():
        for row in (
            await session.scalars(
                select(Notification).where(Notification.id.in_([outcome["notification_id"] for outcome in outcomes]))
            )
        ).all():
            if done:
                row.recorded = True
            else:
                row.next_attempt_at = now + RECORD_RETRY
    return len(outcomes)


def _outcome_body(row: Notification) -> dict[str, Any]:
    return {
        "complaint_id": row.complaint_id,
        "notification_id": row.id,
        "provider": row.provider,
        "provider_label": logins.label_zh(row.provider) if row.provider else None,
        "outcome": row.state,
        "state_told": row.state_to,
        "error": row.last_error,
        "attempts": row.attempts,
        "at": (row.finished_at or row.created_at).isoformat(),
    }


async def _report(app: FastAPI, outcomes: list[dict[str, Any]]) -> bool:
    """Whether intake has the outcomes now (or never will: it refused them, which retrying cannot change)."""
    try:
        response = await app.state.clients["intake"].request(
            "POST", "/internal/notification-outcomes", identity=GATEWAY, json={"outcomes": outcomes}, retry=True
        )
    except Problem as exc:  # intake cannot be reached or did not answer
        log.warning("%d notification outcomes not recorded yet: %s", len(outcomes), exc.detail)
        return False
    if response.status_code >= 500 or response.status_code == 429:
        log.warning(
            "%d notification outcomes not recorded yet: intake answered %s", len(outcomes), response.status_code
        )
        return False
    if response.status_code >= 300:
        log.error(
            "intake refused %d notification outcomes: %s %s", len(outcomes), response.status_code, response.text[:300]
        )
        return True
    for result in response.json()["results"]:
        if result.get("error"):
            log.error("intake refused notification %s: %s", result["notification_id"], result["error"])
    return True


async def _notifications_pass(app: FastAPI) -> float | None:
    return 0 if await send_notifications_once(app) else None


# Send tourists' notifications and record their outcomes: pass after pass while full batches are waiting (a busy
# hour's messages are not held to one batch a second), else every GATEWAY_NOTIFY_INTERVAL_SECONDS.
notification_worker = periodic("notifications", "notify_interval_seconds", _notifications_pass, log)
