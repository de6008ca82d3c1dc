"""Credit repair (信用修复): the listed subject applies, an official decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from services.credit.errors import (
    AlreadyDecided,
    ListingNotFound,
    ListingNotRepairable,
    RepairNotFound,
    RepairPending,
    RepairTooEarly,
)
from services.credit.routes.api import router
from services.credit.routes.dependencies import ArchiveService
from shared.auth import Caller, require_roles
from shared.contracts.common import ID_PATTERN
from shared.contracts.credit import RepairDecisionIn, RepairIn, RepairOut
from shared.contracts.identity import Role
from shared.errors import problem_responses


@router.post(
    "/credit-repairs",
    tags=["repair"],
    status_code=201,
    responses=problem_responses(ListingNotFound, ListingNotRepairable, RepairTooEarly, RepairPending),
)
async def apply_for_repair(body: RepairIn, archive: ArchiveService, caller: Caller) -> RepairOut:
    """The listed subject applies for credit repair (信用修复) with evidence of rectification, once the
    minimum publication period is over."""
    listing, ref = await archive.lists.listing(body.listing_id, caller)
    repair = await archive.repairs.apply_for_repair(listing, ref, caller, body.statement, body.evidence)
    return RepairOut.model_validate(repair, from_attributes=True)


@router.get("/credit-repairs/{repair_id}", tags=["repair"], responses=problem_responses(RepairNotFound))
async def get_repair(
    repair_id: Annotated[str, Path(pattern=ID_PATTERN)], archive: ArchiveService, caller: Caller
) -> RepairOut:
    return RepairOut.model_validate(await archive.repairs.repair(repair_id, caller), from_attributes=True)


@router.post(
    "/credit-repairs/{repair_id}/decisions",
    tags=["repair"],
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(RepairNotFound, AlreadyDecided),
)
async def decide_repair(
    repair_id: Annotated[str, Path(pattern=ID_PATTERN)], body: RepairDecisionIn, archive: ArchiveService, caller: Caller
) -> RepairOut:
    """Approved: the listing ends, the records behind it stop counting against the score (the history
    keeps both), and the score is recomputed. Rejected: the listing stays."""
    repair = await archive.repairs.repair(repair_id, caller)
    ref = await archive.refs.subject(repair.subject_id)
    if ref is None or not ref.visible_to(caller):
        raise RepairNotFound(f"No repair application {repair_id} that you may see.")
    repair = await archive.repairs.decide_repair(repair, caller, body.decision == "approve", body.note)
    return RepairOut.model_validate(repair, from_attributes=True)
