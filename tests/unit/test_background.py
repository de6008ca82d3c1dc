"""The one way background work runs: passes, pauses, wake-ups, failures, the one backoff and the one claim."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import Notification
from shared.app import Metrics
from shared.background import backoff, claim, periodic
from tests.support import Stack, postgres_url


def test_backoff_doubles_from_the_first_wait_up_to_the_cap_and_only_ever_adds_jitter() -> None:
    first, cap = timedelta(seconds=5), timedelta(minutes=1)
    for attempts, plain in [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (50, 60)]:
        waits = [backoff(attempts, first=first, cap=cap).total_seconds() for _ in range(200)]
        assert plain <= min(waits) and max(waits) <= plain * 1.2
        assert len(set(waits)) > 1  # retries that failed together do not come back together
    assert backoff(1, first=first, cap=cap, jitter=0) == first


def app_with(**settings: float) -> SimpleNamespace:
    state = SimpleNamespace(
        settings=SimpleNamespace(**settings), metrics=Metrics("test"), tracing=SimpleNamespace(tracer=None)
    )
    return SimpleNamespace(state=state)


async def test_a_job_runs_again_at_once_while_its_step_says_so_then_waits_its_interval() -> None:
    passes: list[int] = []

    async def step(app: SimpleNamespace) -> float | None:
        passes.append(len(passes))
        return 0 if len(passes) < 4 else None  # a backlog draining, then nothing to do

    job = asyncio.create_task(periodic("drain", "every", step, logging.getLogger("test.jobs"))(app_with(every=30)))
    await asyncio.sleep(0.2)
    assert len(passes) == 4  # the fourth waits its 30 s
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job


async def test_a_failing_pass_is_logged_and_counted_and_the_job_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    passes: list[int] = []

    async def step(app: SimpleNamespace) -> None:
        passes.append(1)
        raise RuntimeError("the database went away")

    app = app_with(every=0.01)
    job = asyncio.create_task(periodic("flaky", "every", step, logging.getLogger("test.jobs"))(app))
    await asyncio.sleep(0.2)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert len(passes) >= 3 and "flaky pass failed" in caplog.text
    [errors] = [
        s.value
        for m in app.state.metrics.scheduler_runs.collect()
        for s in m.samples
        if s.name.endswith("_total") and s.labels == {"job": "flaky", "outcome": "error"}
    ]
    assert errors == len(passes)


async def test_a_job_wakes_when_told_and_stops_what_it_left_running() -> None:
    passes: list[int] = []
    stopped: list[bool] = []

    async def step(app: SimpleNamespace) -> None:
        passes.append(1)

    async def stop() -> None:
        stopped.append(True)

    app = app_with(every=30)
    app.state.wake_me = asyncio.Event()
    job = asyncio.create_task(
        periodic("woken", "every", step, logging.getLogger("test.jobs"), wake="wake_me", on_stop=stop)(app)
    )
    await asyncio.sleep(0.05)
    assert len(passes) == 1
    app.state.wake_me.set()
    await asyncio.sleep(0.05)
    assert len(passes) == 2
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert stopped == [True]


# --- claiming work ------------------------------------------------------------------------------------
def notification(row_id: str, due: datetime, state: str = "pending") -> Notification:
    return Notification(
        id=row_id,
        event_id=f"evt_{row_id}",
        complaint_id="cmp_1",
        consumer_id="csm_1",
        seq=1,
        provider="wechat",
        state_to="accepted",
        changed_at=due,
        state=state,
        attempts=0,
        next_attempt_at=due,
        recorded=False,
        created_at=due,
    )


async def claim_notifications(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    rows = await claim(
        session,
        select(Notification).where(Notification.state == "pending"),
        due=Notification.next_attempt_at,
        now=now,
        lease=timedelta(minutes=2),
        limit=limit,
        then=[Notification.id],
    )
    return [row.id for row in rows]


async def test_a_claim_takes_what_is_due_earliest_first_and_holds_it_until_its_lease_runs_out(stack: Stack) -> None:
    sessionmaker = stack.apps["gateway"].state.sessionmaker
    now = stack.clock.now()
    async with sessionmaker() as session, session.begin():
        session.add_all(
            [
                notification("ntf_c", now - timedelta(minutes=1)),
                notification("ntf_b", now - timedelta(minutes=2)),
                notification("ntf_a", now - timedelta(minutes=3)),
                notification("ntf_d", now + timedelta(minutes=1)),  # not due yet
                notification("ntf_e", now - timedelta(minutes=9), state="sent"),  # not the query's
            ]
        )

    async with sessionmaker() as session, session.begin():
        assert await claim_notifications(session, now, limit=2) == ["ntf_a", "ntf_b"]
    async with sessionmaker() as session, session.begin():
        assert await claim_notifications(session, now, limit=10) == ["ntf_c"]  # a and b are held
    async with sessionmaker() as session:
        held = dict((await session.execute(select(Notification.id, Notification.next_attempt_at))).all())
    assert held["ntf_a"] == held["ntf_b"] == held["ntf_c"] == now + timedelta(minutes=2)

    # Their worker died: when the lease runs out they are due again, and so is what came due meanwhile.
    later = now + timedelta(minutes=2)
    async with sessionmaker() as session, session.begin():
        assert await claim_notifications(session, later, limit=10) == ["ntf_d", "ntf_a", "ntf_b", "ntf_c"]


@pytest.mark.skipif(postgres_url() is None, reason="SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
async def test_on_postgresql_replicas_claiming_at_once_take_different_rows(stack: Stack) -> None:
    sessionmaker = stack.apps["gateway"].state.sessionmaker
    now = stack.clock.now()
    async with sessionmaker() as session, session.begin():
        session.add_all(notification(f"ntf_{n}", now - timedelta(minutes=5 - n)) for n in range(4))
    async with sessionmaker() as first, first.begin(), sessionmaker() as second, second.begin():
        assert await claim_notifications(first, now, limit=2) == ["ntf_0", "ntf_1"]
        # Not waiting for the first replica's transaction, nor taking its rows.
        taken = await asyncio.wait_for(claim_notifications(second, now, limit=10), timeout=5)
        assert taken == ["ntf_2", "ntf_3"]
