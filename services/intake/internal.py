"""Routes other services call on intake (never through the gateway's public proxy): a service identity only."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.intake.dependencies import NotificationService
from services.intake.errors import CaseNotFound
from services.intake.progress import phone_matches
from services.intake.repository.complaints import Complaints
from shared.auth import ServiceCaller
from shared.contracts.common import Input
from shared.contracts.complaints import normalise_case_number
from shared.contracts.notifications import NotificationOutcomesIn, NotificationsRecordedOut
from shared.db import Session
from shared.errors import Forbidden, problem_responses

router = APIRouter(prefix="/internal", tags=["internal"])


@router.post("/notification-outcomes", responses=problem_responses(Forbidden))
async def record_notifications(
    caller: ServiceCaller, body: NotificationOutcomesIn, notifications: NotificationService
) -> NotificationsRecordedOut:
    """Record whether each complainant was told of a change (`notified`, `notification_failed`) on the
    complaint's timeline: the gateway's notification worker reports a pass's outcomes here together, each
    recorded once however often it is sent."""
    return NotificationsRecordedOut(results=await notifications.record(caller, body.outcomes))


class ProgressLookupIn(Input):
    case_number: str = Field(min_length=1, max_length=40, examples=["460200-20261206-0042"])
    phone: str = Field(min_length=1, max_length=20, examples=["13800001234"])


class ProgressLookupOut(BaseModel):
    complaint_id: str


@router.post("/progress-lookups", responses=problem_responses(Forbidden, CaseNotFound))
async def look_up_progress(caller: ServiceCaller, body: ProgressLookupIn, session: Session) -> ProgressLookupOut:
    """The complaint with this case number whose contact phone is this one (the gateway's progress page, for a
    tourist without a link): a wrong phone answers exactly as an unknown case number. The phone never leaves."""
    number = normalise_case_number(body.case_number)
    complaint = await Complaints(session).by_case_number(number) if number else None
    if complaint is None or not phone_matches(body.phone, complaint.contact_phone):
        raise CaseNotFound("No complaint has this case number and phone.")
    return ProgressLookupOut(complaint_id=complaint.id)
