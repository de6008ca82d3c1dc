"""Routes other services call on intake (never through the gateway's public proxy): a service identity only."""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.dependencies import IntakeService
from shared.auth import ServiceCaller
from shared.contracts.notifications import NotificationOutcomesIn, NotificationsRecordedOut
from shared.errors import Forbidden, problem_responses

router = APIRouter(prefix="/internal", tags=["internal"])


@router.post("/notification-outcomes", responses=problem_responses(Forbidden))
async def record_notifications(caller: ServiceCaller, body: NotificationOutcomesIn,
                               intake: IntakeService) -> NotificationsRecordedOut:
    """Record whether each complainant was told of a change (`notified`, `notification_failed`) on the
    complaint's timeline: the gateway's notification worker reports a pass's outcomes here together, each
    recorded once however often it is sent."""
    return NotificationsRecordedOut(results=await intake.record_notifications(caller, body.outcomes))
