"""Lookups that 404 and the per-request `Intake`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from services.intake.models import Complaint
from services.intake.regions import load_catalogue
from services.intake.repository import ComplaintRepository, may_read
from services.intake.service import Intake
from shared.auth import Caller
from shared.contracts.common import ID_PATTERN
from shared.contracts.identity import Role
from shared.db import Session
from shared.errors import NotFound


class ComplaintNotFound(NotFound):
    code, title = "complaint_not_found", "Complaint not found"


async def get_intake(request: Request, session: Session) -> Intake:
    state = request.app.state
    return Intake(
        session=session,
        clock=state.clock,
        settings=state.settings,
        regions=load_catalogue(state.settings.regions_file),
        outbox=state.outbox,
        storage=state.storage,
    )


IntakeService = Annotated[Intake, Depends(get_intake)]
ComplaintId = Annotated[str, Path(pattern=ID_PATTERN, examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])]


# What the holder of a complaint's progress link may reach (through the gateway): its progress page, and the
# complainant's verdict on the response and rating of the handling. Nothing else of the complaint.
HOLDER_MAY = frozenset({"progress", "acceptances", "rejections", "evaluations"})


async def get_current_complaint(
    complaint_id: ComplaintId, session: Session, caller: Caller, request: Request
) -> Complaint:
    """The complaint, if the caller may see it; the same 404 for 'absent' and 'not yours'."""
    complaint = await ComplaintRepository(session).get(complaint_id, for_update=request.method == "POST")
    held_only = caller.role == Role.complaint_holder and request.url.path.rsplit("/", 1)[-1] not in HOLDER_MAY
    if complaint is None or held_only or not may_read(caller, complaint):
        raise ComplaintNotFound(f"Complaint {complaint_id} was not found.")
    return complaint


CurrentComplaint = Annotated[Complaint, Depends(get_current_complaint)]
