"""The one way background work runs: passes, pauses, wake-ups, failures, and the one backoff."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest

from shared.app import Metrics
from shared.background import backoff, periodic


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
