"""What the gateway prunes of its deliveries: finished webhook deliveries and tourists' notifications go
`GATEWAY_DELIVERY_RETENTION_DAYS` after they were created; what is still on its way stays, whatever its age."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from services.gateway.models import Notification, Partner, WebhookDelivery
from shared.retention import prune
from tests.support import Stack


async def pruned_after(stack: Stack, days: float) -> dict[str, int]:
    """Move the clock `days` on and run the gateway's retention rules, as its retention job does."""
    gateway = stack.apps["gateway"]
    stack.clock.advance(timedelta(days=days))
    return await prune(gateway.state.sessionmaker, gateway.state.retention, stack.clock, gateway.state.settings)


def delivery(state: str, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        id=f"whd_{state}",
        partner_id="ptn_1",
        event_id=f"evt_{state}",
        event_type="complaint.state_changed",
        complaint_id="cmp_1",
        payload={},
        state=state,
        attempts=1,
        next_attempt_at=now,
        delivered_at=now if state == "delivered" else None,
        created_at=now,
    )


async def test_finished_webhook_deliveries_are_pruned_after_their_period_and_pending_ones_kept(stack: Stack) -> None:
    gateway = stack.apps["gateway"]
    now = stack.clock.now()
    async with gateway.state.sessionmaker() as session, session.begin():
        session.add(Partner(id="ptn_1", name="某OTA", webhook_url="https://ota.example/hooks", created_at=now))
        await session.flush()
        session.add_all(delivery(state, now) for state in ("delivered", "failed", "pending"))

    async def left() -> list[str]:
        async with gateway.state.sessionmaker() as session:
            return sorted((await session.scalars(select(WebhookDelivery.state))).all())

    period = gateway.state.settings.delivery_retention_days
    assert (await pruned_after(stack, period - 1))["webhook_deliveries"] == 0
    assert await left() == ["delivered", "failed", "pending"]  # kept for partners' questions
    assert (await pruned_after(stack, 2))["webhook_deliveries"] == 2
    assert await left() == ["pending"]  # still to be sent


def notification(key: str, state: str, recorded: bool, now: datetime) -> Notification:
    return Notification(
        id=f"ntf_{key}",
        event_id=f"evt_{key}",
        complaint_id="cmp_1",
        consumer_id="csm_1",
        seq=1,
        provider="wechat",
        state_to="accepted",
        changed_at=now,
        state=state,
        attempts=1,
        next_attempt_at=now,
        finished_at=now if recorded else None,
        recorded=recorded,
        created_at=now,
    )


async def test_told_notifications_are_pruned_after_their_period_and_those_not_yet_on_the_timeline_kept(
    stack: Stack,
) -> None:
    gateway = stack.apps["gateway"]
    now = stack.clock.now()
    rows = {
        "sent": ("sent", True),
        "refused": ("refused", True),
        "failed": ("failed", True),
        "not_supported": ("not_supported", True),
        "superseded": ("superseded", True),
        "unrecorded": ("sent", False),  # its outcome is not on the complaint's timeline yet
        "pending": ("pending", False),
        "sending": ("sending", False),
    }
    async with gateway.state.sessionmaker() as session, session.begin():
        session.add_all(notification(key, state, recorded, now) for key, (state, recorded) in rows.items())

    async def left() -> list[str]:
        async with gateway.state.sessionmaker() as session:
            return sorted(row_id.removeprefix("ntf_") for row_id in (await session.scalars(select(Notification.id))))

    period = gateway.state.settings.delivery_retention_days
    assert (await pruned_after(stack, period - 1))["notifications"] == 0
    assert await left() == sorted(rows)
    assert (await pruned_after(stack, 2))["notifications"] == 5
    assert await left() == ["pending", "sending", "unrecorded"]
