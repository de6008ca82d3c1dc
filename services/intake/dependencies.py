"""Lookups that 404, and the per-request unit of work with the parts of intake that act through it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.compensation_requests import CompensationRequests
from services.intake.errors import ComplaintNotFound
from services.intake.evidence import EvidenceDesk
from services.intake.handling import Handling
from services.intake.models import Complaint
from services.intake.notices import Notices
from services.intake.notifications import Notifications
from services.intake.oversight import Oversight
from services.intake.regions import catalogue_of
from services.intake.repository.complaints import Complaints, may_read
from services.intake.submission import Submission
from services.intake.transitions import Transitions
from shared.auth import Caller
from shared.contracts.common import ID_PATTERN
from shared.contracts.identity import Role
from shared.db import Session


def work_of(state: Any, session: AsyncSession) -> Transitions:
    """The unit of work over `session` with the app's clock, settings, regions, outbox (and evidence storage)."""
    return Transitions(
        session=session,
        clock=state.clock,
        settings=state.settings,
        regions=catalogue_of(state.settings),
        outbox=state.outbox,
        storage=getattr(state, "storage", None),
    )


async def get_work(request: Request, session: Session) -> Transitions:
    return work_of(request.app.state, session)


CurrentWork = Annotated[Transitions, Depends(get_work)]


def get_submission(work: CurrentWork) -> Submission:
    return Submission(work)


def get_handling(work: CurrentWork) -> Handling:
    return Handling(work)


def get_oversight(work: CurrentWork) -> Oversight:
    return Oversight(work)


def get_evidence_desk(work: CurrentWork) -> EvidenceDesk:
    return EvidenceDesk(work)


def get_compensation_requests(work: CurrentWork) -> CompensationRequests:
    return CompensationRequests(work)


def get_notices(work: CurrentWork) -> Notices:
    return Notices(work)


def get_notifications(work: CurrentWork) -> Notifications:
    return Notifications(work)


# One request, one unit of work: FastAPI builds CurrentWork once and hands it to each part the endpoint asks for.
SubmissionService = Annotated[Submission, Depends(get_submission)]
HandlingService = Annotated[Handling, Depends(get_handling)]
OversightService = Annotated[Oversight, Depends(get_oversight)]
EvidenceService = Annotated[EvidenceDesk, Depends(get_evidence_desk)]
CompensationRequestService = Annotated[CompensationRequests, Depends(get_compensation_requests)]
NoticeService = Annotated[Notices, Depends(get_notices)]
NotificationService = Annotated[Notifications, Depends(get_notifications)]
ComplaintId = Annotated[str, Path(pattern=ID_PATTERN, examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])]


# What the holder of a complaint's progress link may reach (through the gateway): its progress page, and the
# complainant's verdict on the response and rating of the handling. Nothing else of the complaint.
HOLDER_MAY = frozenset({"progress", "acceptances", "rejections", "evaluations"})


async def get_current_complaint(
    complaint_id: ComplaintId, session: Session, caller: Caller, request: Request
) -> Complaint:
    """The complaint, if the caller may see it; the same 404 for 'absent' and 'not yours'."""
    complaint = await Complaints(session).get(complaint_id, for_update=request.method == "POST")
    held_only = caller.role == Role.complaint_holder and request.url.path.rsplit("/", 1)[-1] not in HOLDER_MAY
    if complaint is None or held_only or not may_read(caller, complaint):
        raise ComplaintNotFound(f"Complaint {complaint_id} was not found.")
    return complaint


CurrentComplaint = Annotated[Complaint, Depends(get_current_complaint)]
