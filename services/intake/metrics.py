"""Intake's own Prometheus series: SLA deadlines coming due, and deadlines missed (fired by the scheduler)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select

from services.intake.models import Complaint
from shared.app import Metrics
from shared.contracts.complaints import OPEN_STATES, DeadlineKind

DUE_WINDOW = timedelta(hours=1)


class IntakeMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self.deadlines_due = Gauge(
            "sla_deadlines_due",
            "Open complaints whose next deadline falls within the next hour (or has passed and not yet fired), by kind",
            ["kind"],
            registry=metrics.registry,
        )
        self.deadlines_fired = Counter(
            "sla_deadlines_fired_total",
            "Deadlines missed and fired by the scheduler, by kind",
            ["kind"],
            registry=metrics.registry,
        )
        for kind in DeadlineKind:  # every kind shows from the start, at 0
            self.deadlines_due.labels(kind.value)
            self.deadlines_fired.labels(kind.value)

    def fired(self, kinds: Mapping[str, int]) -> None:
        """Count the deadlines a committed scheduler batch fired."""
        for kind, count in kinds.items():
            self.deadlines_fired.labels(kind).inc(count)

    async def refresh(self, app: FastAPI) -> None:
        """One indexed query (ix_complaints_next_deadline_at) per scrape."""
        horizon = app.state.clock.now() + DUE_WINDOW
        async with app.state.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Complaint.next_deadline_kind, func.count())
                    .where(Complaint.next_deadline_at <= horizon, Complaint.state.in_([s.value for s in OPEN_STATES]))
                    .group_by(Complaint.next_deadline_kind)
                )
            ).all()
        counts = {kind: count for kind, count in rows if kind}
        for kind in DeadlineKind:
            self.deadlines_due.labels(kind.value).set(counts.get(kind.value, 0))
