"""The outbox over time: a refused event becomes a dead letter and the stream goes on; an operator replays it;
what has served its purpose is pruned; on PostgreSQL another replica's commit wakes the dispatcher."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update

from services.credit.main import create_app as create_credit
from services.credit.models import outbox as credit_outbox
from services.intake.models import IdempotencyRecord, Merchant
from services.intake.models import inbox as intake_inbox
from shared import outbox_admin
from shared.http import ServiceClient
from shared.outbox import OutboxDispatcher, dead_letters, dispatcher_job, replay_dead_letters
from shared.retention import prune
from tests.conftest import ADMIN
from tests.factories import uscc
from tests.support import INTERNAL_SECRET, Databases, Stack, eventually, postgres_url, service_settings


async def settle_three(stack: Stack) -> None:
    for n in range(3):
        response = await stack.clients["credit"].post(
            "/v1/merchants",
            headers=stack.as_(ADMIN),
            json={"name": f"商户{n}", "uscc": uscc(f"d{n}"), "region_code": "460200", "industry": "food"},
        )
        assert response.status_code == 201


async def rows_to_intake(stack: Stack) -> list[Any]:
    async with stack.apps["credit"].state.sessionmaker() as session:
        query = select(credit_outbox).where(credit_outbox.c.subscriber == "intake").order_by(credit_outbox.c.id)
        return list((await session.execute(query)).all())


async def set_envelope(stack: Stack, row_id: int, envelope: dict[str, Any]) -> None:
    async with stack.apps["credit"].state.sessionmaker() as session, session.begin():
        await session.execute(update(credit_outbox).where(credit_outbox.c.id == row_id).values(envelope=envelope))


async def names_in_intake(stack: Stack) -> list[str]:
    async with stack.apps["intake"].state.sessionmaker() as session:
        return sorted((await session.scalars(select(Merchant.name))).all())


async def delivered_all_three(stack: Stack) -> bool:
    return await names_in_intake(stack) == ["商户0", "商户1", "商户2"]


@pytest.mark.parametrize(
    "break_it",
    [
        # The subscriber names the event it cannot take (422 event_invalid with its id).
        pytest.param(lambda e: {**e, "payload": {k: v for k, v in e["payload"].items() if k != "name"}}, id="named"),
        # The whole request is refused without naming one (the envelope itself is malformed): one by one.
        pytest.param(lambda e: {k: v for k, v in e.items() if k != "occurred_at"}, id="unnamed"),
    ],
)
async def test_an_event_the_subscriber_refuses_is_given_up_and_the_later_ones_go_on(stack: Stack, break_it) -> None:
    await settle_three(stack)
    rows = await rows_to_intake(stack)
    bad, good_envelope = rows[1], rows[1].envelope
    await set_envelope(stack, bad.id, break_it(good_envelope))  # a producer's bug

    await stack.deliver_events()
    assert await names_in_intake(stack) == ["商户0", "商户2"]  # not held back behind the refused one
    dispatcher = stack.apps["credit"].state.dispatcher
    backlog, _, dead = await dispatcher.backlog()
    assert (backlog, dead) == (0, 1)
    metrics = (await stack.clients["credit"].get("/metrics")).text
    assert "outbox_dead_letters 1.0" in metrics
    async with stack.apps["credit"].state.sessionmaker() as session:
        [letter] = await dead_letters(session, credit_outbox)
    assert letter["event_id"] == bad.event_id and letter["subscriber"] == "intake"
    assert "HTTP 422" in letter["last_error"]

    # Fixed: the operator replays it, and it arrives.
    await set_envelope(stack, bad.id, good_envelope)
    async with stack.apps["credit"].state.sessionmaker() as session:
        assert await replay_dead_letters(session, credit_outbox, stack.clock, event_id=bad.event_id) == 1
        await session.commit()
    await stack.deliver_events()
    assert await names_in_intake(stack) == ["商户0", "商户1", "商户2"]
    assert (await dispatcher.backlog())[1:] == (0.0, 0)


def credit_dispatcher(stack: Stack, clients: dict[str, ServiceClient], refusal_attempts: int) -> OutboxDispatcher:
    credit = stack.apps["credit"]
    return OutboxDispatcher(
        credit_outbox, credit.state.sessionmaker, clients, "credit", stack.clock, refusal_attempts=refusal_attempts
    )


async def test_a_refusal_that_says_not_you_is_retried_then_given_up_and_replayed_once_fixed(stack: Stack) -> None:
    """A wrong internal secret (401) is a deployment's mistake: the event waits and is retried, but not for ever;
    given up, the next event gets as many tries; the operator fixes the secret and replays."""
    await settle_three(stack)
    wrong = {
        s: ServiceClient(
            s, f"http://{s}", "another-secret-0123456789abcdef-0", transport=httpx.ASGITransport(app=stack.apps[s])
        )
        for s in ("intake", "compensation")
    }
    dispatcher = credit_dispatcher(stack, wrong, refusal_attempts=3)
    for tried in (1, 2):
        assert await dispatcher.deliver_once() == 0
        assert [r.attempts for r in await rows_to_intake(stack)] == [tried, 0, 0]  # the first holds the rest
        assert (await dispatcher.backlog())[::2] == (6, 0)  # nothing given up yet
        stack.clock.advance(timedelta(minutes=1))  # past its backoff
    assert await dispatcher.deliver_once() == 0
    rows = await rows_to_intake(stack)
    assert [(r.attempts, r.dead_at is not None) for r in rows] == [(3, True), (1, False), (0, False)]
    assert "HTTP 401" in rows[0].last_error
    assert (await dispatcher.backlog())[::2] == (4, 2)  # one to each subscriber
    for client in wrong.values():
        await client.aclose()

    # The secret is fixed; the operator replays what was given up, and it arrives in its order.
    replay = argparse.Namespace(outbox_command="replay", event_id=None, subscriber=None)
    settings = stack.apps["credit"].state.settings
    assert await asyncio.to_thread(outbox_admin.run, replay, credit_outbox, settings, stack.clock) == 0
    stack.clock.advance(timedelta(minutes=1))
    await stack.deliver_events()
    assert await names_in_intake(stack) == ["商户0", "商户1", "商户2"]
    assert (await dispatcher.backlog())[::2] == (0, 0)


@pytest.mark.parametrize("status", [408, 425, 429, 503])
async def test_a_refusal_that_says_not_now_keeps_the_event_waiting_however_long_it_takes(
    stack: Stack, status: int
) -> None:
    await settle_three(stack)

    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": "busy"})

    clients = {
        s: ServiceClient(s, f"http://{s}", INTERNAL_SECRET, transport=httpx.MockTransport(busy)) for s in ("intake",)
    }
    dispatcher = credit_dispatcher(stack, clients, refusal_attempts=2)
    for _ in range(4):
        assert await dispatcher.deliver_once() == 0
        stack.clock.advance(timedelta(minutes=10))
    rows = await rows_to_intake(stack)
    assert [r.attempts for r in rows] == [4, 0, 0] and all(r.dead_at is None for r in rows)
    assert (await dispatcher.backlog())[2] == 0
    await clients["intake"].aclose()


async def test_an_outage_before_a_refusal_does_not_count_as_refusals(stack: Stack) -> None:
    """A subscriber down for a while (503), then answering 404 as it comes back without the route yet: the event
    is given up only after the refusals in a row, not at the first one for the outage's tries before it."""
    await settle_three(stack)
    status = 503

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": "unknown" if status == 404 else "down"})

    clients = {
        s: ServiceClient(s, f"http://{s}", INTERNAL_SECRET, transport=httpx.MockTransport(answer)) for s in ("intake",)
    }
    dispatcher = credit_dispatcher(stack, clients, refusal_attempts=2)
    for _ in range(3):
        assert await dispatcher.deliver_once() == 0
        stack.clock.advance(timedelta(minutes=10))
    assert [r.attempts for r in await rows_to_intake(stack)] == [3, 0, 0]
    status = 404
    assert await dispatcher.deliver_once() == 0
    rows = await rows_to_intake(stack)
    assert [(r.attempts, r.dead_at is None) for r in rows] == [(1, True), (0, True), (0, True)]  # a count of its own
    stack.clock.advance(timedelta(minutes=10))
    assert await dispatcher.deliver_once() == 0
    assert [r.dead_at is None for r in await rows_to_intake(stack)] == [False, True, True]  # twice in a row: given up
    await clients["intake"].aclose()


async def test_what_has_served_its_purpose_is_pruned_and_dead_letters_are_kept(stack: Stack) -> None:
    await settle_three(stack)
    rows = await rows_to_intake(stack)
    await set_envelope(stack, rows[0].id, {k: v for k, v in rows[0].envelope.items() if k != "occurred_at"})
    await stack.deliver_events()
    async with stack.apps["intake"].state.sessionmaker() as session, session.begin():
        now = stack.clock.now()
        session.add(
            IdempotencyRecord(owner="csm_1", key="k", request_hash="h", status_code=201, response={}, created_at=now)
        )

    async def counts() -> tuple[int, int, int, int]:
        async with stack.apps["credit"].state.sessionmaker() as session:
            outbox_rows = await session.scalar(select(func.count()).select_from(credit_outbox))
            dead = await session.scalar(select(func.count()).where(credit_outbox.c.dead_at.is_not(None)))
        async with stack.apps["intake"].state.sessionmaker() as session:
            inbox_rows = await session.scalar(select(func.count()).select_from(intake_inbox))
            keys = await session.scalar(select(func.count()).select_from(IdempotencyRecord))
        return outbox_rows, dead, inbox_rows, keys

    async def prune_all() -> None:
        for app in stack.apps.values():
            await prune(app.state.sessionmaker, app.state.retention, stack.clock, app.state.settings)

    before = await counts()
    assert before[1] == 1 and before[2] >= 2 and before[3] == 1
    stack.clock.advance(timedelta(days=6))
    await prune_all()
    assert await counts() == before  # nothing is old enough yet
    stack.clock.advance(timedelta(days=9))  # past 7 days for keys and 14 for events
    await prune_all()
    assert await counts() == (1, 1, 0, 0)  # only the dead letter is left


async def test_the_dispatcher_job_delivers_at_once_when_this_process_commits_events(stack: Stack) -> None:
    """It would not poll for an hour: the commit's kick wakes it. Its passes are counted like any job's."""
    credit = stack.apps["credit"]
    credit.state.settings = credit.state.settings.model_copy(update={"outbox_poll_seconds": 3600})
    running = asyncio.create_task(dispatcher_job(credit))
    try:
        await asyncio.sleep(0.2)  # the first pass found nothing and waits
        await settle_three(stack)
        await eventually(lambda: delivered_all_three(stack), within=5)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    metrics = (await stack.clients["credit"].get("/metrics")).text
    assert 'scheduler_runs_total{job="outbox",outcome="ok"}' in metrics


@pytest.mark.skipif(postgres_url() is None, reason="LISTEN/NOTIFY is PostgreSQL's")
async def test_on_postgresql_a_commit_elsewhere_wakes_the_dispatcher_at_once(
    stack: Stack, databases: Databases, tmp_path: Path
) -> None:
    """Another replica, whose dispatcher would not poll for an hour, delivers within seconds."""
    credit = stack.apps["credit"]
    settings = service_settings("credit", databases, tmp_path, outbox_poll_seconds=3600, run_background_workers=True)
    transports = {s: httpx.ASGITransport(app=stack.apps[s]) for s in ("intake", "compensation")}
    replica = create_credit(settings, clock=stack.clock, transports=transports)
    async with replica.router.lifespan_context(replica):
        async with credit.state.sessionmaker() as session:
            for _ in range(100):  # until its LISTEN is in place
                listening = await session.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"outbox_credit\";'")
                )
                if listening:
                    break
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # the first pass found nothing and waits
        response = await stack.clients["credit"].post(
            "/v1/merchants",
            headers=stack.as_(ADMIN),
            json={"name": "被唤醒的商户", "uscc": uscc("wake"), "region_code": "460200", "industry": "food"},
        )
        assert response.status_code == 201
        for _ in range(100):
            if await names_in_intake(stack) == ["被唤醒的商户"]:
                break
            await asyncio.sleep(0.05)
        assert await names_in_intake(stack) == ["被唤醒的商户"]
