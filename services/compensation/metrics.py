"""Compensation's own Prometheus series: payouts by state, read at scrape time."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import Gauge
from sqlalchemy import func, select

from services.compensation.models import Payout
from shared.app import Metrics
from shared.contracts.compensation import PayoutState


class CompensationMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self.payouts = Gauge("payouts", "Payouts by state", ["state"], registry=metrics.registry)
        for state in PayoutState:
            self.payouts.labels(state.value)

    async def refresh(self, app: FastAPI) -> None:
        """One count per state (the ix_payouts_state_next index covers it) per scrape."""
        async with app.state.sessionmaker() as session:
            rows = (await session.execute(select(Payout.state, func.count()).group_by(Payout.state))).all()
        counts = dict(rows)
        for state in PayoutState:
            self.payouts.labels(state.value).set(counts.get(state.value, 0))
