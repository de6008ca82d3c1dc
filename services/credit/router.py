"""Credit's endpoints (merchants for now: settle in, look up, search)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.credit.models import Merchant
from services.credit.service import Subjects
from shared.auth import Caller, require_roles
from shared.contracts.common import ID_PATTERN, TEXT_QUERY_PATTERN, Page
from shared.contracts.identity import Role
from shared.contracts.merchants import MerchantIn, MerchantOut
from shared.db import Session
from shared.errors import Conflict, Forbidden, NotFound, problem_responses
from shared.pagination import CursorParam, Limit, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1", tags=["merchants"])


class MerchantNotFound(NotFound):
    code, title = "merchant_not_found", "Merchant not found"


def get_subjects(request: Request, session: Session) -> Subjects:
    return Subjects(session=session, clock=request.app.state.clock, outbox=request.app.state.outbox)


SubjectService = Annotated[Subjects, Depends(get_subjects)]


def _out(m: Merchant) -> MerchantOut:
    return MerchantOut.model_validate(m, from_attributes=True)


@router.post("/merchants", status_code=201, dependencies=[require_roles(Role.admin, Role.official)],
             responses=problem_responses(Forbidden, Conflict))
async def settle_in(body: MerchantIn, subjects: SubjectService) -> MerchantOut:
    """Settle a merchant in (入驻); intake and compensation learn of it through subject.registered."""
    return _out(await subjects.settle_in(body))


@router.get("/merchants")
async def search_merchants(
    subjects: SubjectService, caller: Caller,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT_QUERY_PATTERN)] = None,
    limit: Limit = 20, cursor: CursorParam = None,
) -> Page[MerchantOut]:
    """Settled merchants by region and name: what a tourist picks from when complaining."""
    offset = decode_cursor(cursor)
    rows = await subjects.search(region_code=region_code, name=name, offset=offset, limit=limit + 1)
    return Page[MerchantOut](items=[_out(m) for m in rows[:limit]],
                             next_cursor=encode_cursor(offset + limit) if len(rows) > limit else None)


@router.get("/merchants/{merchant_id}", responses=problem_responses(MerchantNotFound))
async def get_merchant(merchant_id: Annotated[str, Path(pattern=ID_PATTERN)], subjects: SubjectService,
                       caller: Caller) -> MerchantOut:
    """One merchant's public record."""
    merchant = await subjects.get(merchant_id)
    if merchant is None:
        raise MerchantNotFound(f"Merchant {merchant_id} was not found.")
    return _out(merchant)
