"""/metrics: scheduler passes, SLA deadlines coming due and fired (intake), payouts by state (compensation)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.compensation.payouts import payout_worker
from services.intake import main as intake_main
from tests.compensation.helpers import (
    fund_region,
    overdue_complaint,
    paying_consumer,
    request_compensation,
    settle_payouts,
)
from tests.conftest import consumer
from tests.factories import settle_merchant, submit
from tests.support import Stack

ALICE = consumer("usr_ALICE")


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return metrics.get((name, frozenset(labels.items())))


async def run_job_until(
    job: Callable[[Any], Awaitable[None]],
    app: Any,
    client: httpx.AsyncClient,
    name: str,
    outcome: str = "ok",
    passes: int = 1,
    done: Callable[[dict[tuple[str, frozenset[tuple[str, str]]], float]], bool] = lambda metrics: True,
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Run the service's real background job until /metrics counts `passes` passes of it and shows the work
    `done` (bounded), then stop it. A job of several loops may count its passes while one loop is still busy:
    `done` says what must have happened before it is stopped."""
    task = asyncio.create_task(job(app))
    try:
        for _ in range(300):
            metrics = await scrape(client)
            counted = (value(metrics, "scheduler_runs_total", job=name, outcome=outcome) or 0) >= passes
            if counted and done(metrics):
                return metrics
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {name} pass counted, or its work not done")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_intake_shows_deadlines_due_and_fired_by_kind_and_its_scheduler_passes(stack: Stack) -> None:
    intake = stack.clients["intake"]
    before = await scrape(intake)
    for kind in ("accept", "dispose", "settle"):
        assert value(before, "sla_deadlines_due", kind=kind) == 0
        assert value(before, "sla_deadlines_fired_total", kind=kind) == 0

    await settle_merchant(stack)
    await submit(stack, ALICE)  # accepted at once: the merchant has 30 minutes to respond
    due = await scrape(intake)
    assert value(due, "sla_deadlines_due", kind="dispose") == 1
    assert value(due, "sla_deadlines_due", kind="accept") == value(due, "sla_deadlines_due", kind="settle") == 0

    stack.clock.advance(minutes=30)
    after = await run_job_until(intake_main.deadline_scheduler, stack.apps["intake"], intake, "deadlines")
    assert value(after, "sla_deadlines_fired_total", kind="dispose") == 1
    assert value(after, "sla_deadlines_fired_total", kind="accept") == 0
    assert value(after, "sla_deadlines_due", kind="dispose") == 0  # fired; the 48-hour settle deadline is next
    assert value(after, "sla_deadlines_due", kind="settle") == 0
    assert value(after, "scheduler_runs_total", job="deadlines", outcome="ok") == 1
    assert value(after, "scheduler_pass_duration_seconds_count", job="deadlines") == 1
    assert value(after, "scheduler_runs_total", job="deadlines", outcome="error") is None


async def test_a_failed_pass_is_counted_as_an_error(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(app: Any) -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr(intake_main, "run_deadlines_once", broken)
    metrics = await run_job_until(
        intake_main.deadline_scheduler, stack.apps["intake"], stack.clients["intake"], "deadlines", outcome="error"
    )
    assert value(metrics, "scheduler_runs_total", job="deadlines", outcome="error") == 1
    assert value(metrics, "scheduler_runs_total", job="deadlines", outcome="ok") is None


async def test_compensation_shows_payouts_by_state_and_its_payout_passes(stack: Stack, providers: Any) -> None:
    comp = stack.clients["compensation"]
    before = await scrape(comp)
    assert {s: value(before, "payouts", state=s) for s in ("pending", "sending", "succeeded", "failed")} == {
        "pending": 0,
        "sending": 0,
        "succeeded": 0,
        "failed": 0,
    }

    await fund_region(stack)
    alice = await paying_consumer(stack)
    await request_compensation(stack, alice, await overdue_complaint(stack, alice), 30_000)
    queued = await scrape(comp)
    assert value(queued, "payouts", state="pending") == 1 and value(queued, "payouts", state="succeeded") == 0

    app = stack.apps["compensation"]
    loops = app.state.settings.payout_passes  # the worker's loops each run a first pass at once
    # The payout was queued with a wake-up set: the loop that does not claim it runs its first pass, takes the
    # wake-up and runs a second at once, so `loops` passes may be counted while the other loop is still sending
    # it. Stopped then, the send is cut off and the payout waits out its lease: wait for it to leave the worker.
    worked = await run_job_until(
        payout_worker,
        app,
        comp,
        "payouts",
        passes=loops,
        done=lambda metrics: (
            value(metrics, "payouts", state="pending") == value(metrics, "payouts", state="sending") == 0
        ),
    )
    ran = {o: value(worked, "scheduler_runs_total", job="payouts", outcome=o) or 0 for o in ("ok", "error")}
    assert ran["ok"] >= loops  # (on SQLite the two loops may race for one payout: the loser's pass is an error)
    assert value(worked, "scheduler_pass_duration_seconds_count", job="payouts") == ran["ok"] + ran["error"]
    await settle_payouts(stack)
    paid = await scrape(comp)
    assert value(paid, "payouts", state="succeeded") == 1 and value(paid, "payouts", state="pending") == 0
    assert value(paid, "outbox_backlog") is not None  # the existing series are still there


async def test_every_service_shows_its_process_its_collections_and_its_database_pool(stack: Stack) -> None:
    for name, client in stack.clients.items():
        app = stack.apps[name]
        async with app.state.engine.connect() as held:  # one connection checked out while Prometheus looks
            await held.exec_driver_sql("SELECT 1")
            metrics = await scrape(client)
        assert (value(metrics, "process_resident_memory_bytes") or 0) > 10 * 2**20, name
        assert (value(metrics, "process_cpu_seconds_total") or 0) > 0, name
        assert value(metrics, "python_gc_collections_total", generation="0") is not None, name
        assert any(key[0] == "python_info" for key in metrics), name
        in_use = value(metrics, "db_pool_connections", state="in_use")
        assert in_use is not None and in_use >= 1, (name, in_use)
        assert value(metrics, "db_pool_connections", state="idle") is not None
        assert value(metrics, "db_pool_waiting") == 0
        settings = app.state.settings
        if app.state.engine.dialect.name == "postgresql":
            limit = settings.database_pool_size + settings.database_max_overflow
            assert value(metrics, "db_pool_max_connections") == limit, name
        after = await scrape(client)
        assert value(after, "db_pool_connections", state="in_use") == in_use - 1, name
