"""Routes other services call on intake (never through the gateway's public proxy): a service identity only."""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.dependencies import ComplaintNotFound, CurrentComplaint, IntakeService
from shared.auth import ServiceCaller
from shared.contracts.notifications import NotificationOutcomeIn, NotificationRecordedOut
from shared.errors import Forbidden, problem_responses

router = APIRouter(prefix="/internal", tags=["internal"])


@router.post("/complaints/{complaint_id}/notifications",
             responses=problem_responses(ComplaintNotFound, Forbidden))
async def record_notification(caller: ServiceCaller, complaint: CurrentComplaint, body: NotificationOutcomeIn,
                              intake: IntakeService) -> NotificationRecordedOut:
    """Record whether the complainant was told of a change (`notified`, `notification_failed`) on the
    timeline: the gateway's notifications report each outcome here, once recorded however often sent."""
    kind, recorded = await intake.record_notification(complaint, caller, body)
    return NotificationRecordedOut(kind=kind, recorded=recorded)
