"""The returns desk's endpoints (`/v1/returns`): thin; they parse, authorize, call the desk, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.intake.errors import (
    ActionNotAllowed,
    ReturnNotCovered,
    ReturnNotFound,
    ReturnWindowPassed,
    UnknownMerchant,
    UnknownRegion,
)
from services.intake.models import ReturnRequest
from services.intake.regions import catalogue_of
from services.intake.repository.returns import RETURNS_DESK, RETURNS_NEWEST, ReturnRepository
from services.intake.returns import ReturnsDesk
from shared.auth import Caller, may_see
from shared.contracts.common import ID_PATTERN, Channel, Page
from shared.contracts.identity import Identity, Role
from shared.contracts.returns import (
    ReturnExchangeIn,
    ReturnHistoryEntry,
    ReturnIn,
    ReturnOut,
    ReturnRefundIn,
    ReturnRejectionIn,
    ReturnState,
    ReturnVisit,
    ReturnVisitIn,
    ReturnWithdrawalIn,
)
from shared.db import Session
from shared.errors import InvalidTransition, ValidationFailed, problem_responses
from shared.logging import mask_phone
from shared.pagination import CursorParam, Limit

router = APIRouter(prefix="/v1", tags=["returns"])


async def get_desk(request: Request, session: Session) -> ReturnsDesk:
    state = request.app.state
    return ReturnsDesk(
        session=session, clock=state.clock, settings=state.settings, regions=catalogue_of(state.settings)
    )


Desk = Annotated[ReturnsDesk, Depends(get_desk)]
ReturnId = Annotated[str, Path(pattern=ID_PATTERN, examples=["ret_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])]


async def get_current_return(return_id: ReturnId, session: Session, caller: Caller, request: Request) -> ReturnRequest:
    """The request, if the caller may see it; the same 404 for 'absent' and 'not yours'."""
    r = await ReturnRepository(session).get(return_id, for_update=request.method == "POST")
    if r is None or not may_see(caller, consumer=r.consumer_id, merchant=r.merchant_id, region=r.region_code):
        raise ReturnNotFound(f"Return request {return_id} was not found.")
    return r


CurrentReturn = Annotated[ReturnRequest, Depends(get_current_return)]
VISITED_BY_THE_DESK = "退货监理工作人员"
ACTION_ERRORS = problem_responses(ReturnNotFound, ActionNotAllowed, InvalidTransition)


def to_out(r: ReturnRequest, viewer: Identity) -> ReturnOut:
    owner = r.consumer_id is not None and viewer.subject == r.consumer_id
    return ReturnOut(
        id=r.id,
        state=ReturnState(r.state),
        channel=Channel(r.channel),
        region_code=r.region_code,
        merchant_id=r.merchant_id,
        merchant_name=r.merchant_name,
        goods=r.goods,
        receipt_no=r.receipt_no,
        purchased_on=r.purchased_on,
        amount_fen=r.amount_fen,
        reason=r.reason,
        contact_phone=r.contact_phone if owner else mask_phone(r.contact_phone),
        consumer_id=r.consumer_id,
        requested_at=r.requested_at,
        refund_by=r.refund_by,
        overdue=r.overdue,
        escalated_at=r.escalated_at,
        concluded_at=r.concluded_at,
        amount_refunded_fen=r.amount_refunded_fen,
        source_name=r.source_name,
        referred_to_region=r.referred_to_region,
        referred_to=r.referred_to,
        visit=_visit(r, viewer),
        history=[ReturnHistoryEntry.model_validate(h) for h in r.history],
    )


def _visit(r: ReturnRequest, viewer: Identity) -> ReturnVisit | None:
    if r.visited_at is None:
        return None
    return ReturnVisit(
        at=r.visited_at,
        # Who visited is the officials' business: the tourist and the shop see that the desk did.
        by=(r.visited_by or "") if viewer.role in (Role.official, Role.admin) else VISITED_BY_THE_DESK,
        satisfied=bool(r.visit_satisfied),
        withdrawal_induced=bool(r.withdrawal_induced),
        shirking_reported=bool(r.shirking_reported),
    )


@router.post(
    "/returns",
    status_code=201,
    responses=problem_responses(
        UnknownRegion, UnknownMerchant, ActionNotAllowed, ReturnWindowPassed, ReturnNotCovered, ValidationFailed
    ),
)
async def request_return(body: ReturnIn, caller: Caller, desk: Desk) -> ReturnOut:
    """Ask a shop to take goods back (30-day no-reason return): refused, and nothing kept, after 30 days
    or for custom-made or altered goods; otherwise the shop must refund by `refund_by`."""
    return to_out(await desk.request(caller, body), caller)


@router.get("/returns")
async def list_returns(
    caller: Caller,
    session: Session,
    state: Annotated[list[ReturnState] | None, Query()] = None,
    overdue: bool | None = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[ReturnOut]:
    """My return requests (tourists), or the desk's queue (shops, officials): open ones nearest deadline first."""
    keyset = RETURNS_NEWEST if caller.role == Role.consumer else RETURNS_DESK
    rows = await ReturnRepository(session).queue(
        caller, keyset, state=state, overdue=overdue, cursor=cursor, limit=limit
    )
    return Page[ReturnOut](items=[to_out(r, caller) for r in rows[:limit]], next_cursor=keyset.next_cursor(rows, limit))


@router.get("/returns/{return_id}", responses=problem_responses(ReturnNotFound))
async def get_return(r: CurrentReturn, caller: Caller) -> ReturnOut:
    """One return request with its history."""
    return to_out(r, caller)


@router.post("/returns/{return_id}/refunds", responses=ACTION_ERRORS)
async def refund_return(r: CurrentReturn, body: ReturnRefundIn, caller: Caller, desk: Desk) -> ReturnOut:
    """The shop (or an official) records the refund: the request is settled."""
    return to_out(await desk.refund(r, caller, body), caller)


@router.post("/returns/{return_id}/exchanges", responses=ACTION_ERRORS)
async def exchange_return(r: CurrentReturn, body: ReturnExchangeIn, caller: Caller, desk: Desk) -> ReturnOut:
    """The shop (or an official) records that the goods were exchanged (换货): settled, nothing refunded."""
    return to_out(await desk.exchange(r, caller, body), caller)


@router.post(
    "/returns/{return_id}/visits",
    responses=problem_responses(ReturnNotFound, ActionNotAllowed, InvalidTransition, ValidationFailed),
)
async def visit_return(r: CurrentReturn, body: ReturnVisitIn, caller: Caller, desk: Desk) -> ReturnOut:
    """An official records the follow-up visit (回访) to the tourist of a concluded request: satisfied or not,
    whether the withdrawal was induced, whether staff or the shop shirked. The report's returns paragraph says
    "游客均表示满意" and "无工作人员或商家推诿责任、诱导撤销的情况发生" from these, or counts what differs."""
    return to_out(await desk.visit(r, caller, body), caller)


@router.post("/returns/{return_id}/escalations", responses=ACTION_ERRORS)
async def escalate_return(r: CurrentReturn, body: ReturnRejectionIn, caller: Caller, desk: Desk) -> ReturnOut:
    """The shop disputes the request, saying why, or an official takes it over: officials decide."""
    return to_out(await desk.escalate(r, caller, body), caller)


@router.post("/returns/{return_id}/rejections", responses=ACTION_ERRORS)
async def reject_return(r: CurrentReturn, body: ReturnRejectionIn, caller: Caller, desk: Desk) -> ReturnOut:
    """An official finds the request not covered, saying why."""
    return to_out(await desk.reject(r, caller, body), caller)


@router.post("/returns/{return_id}/withdrawals", responses=ACTION_ERRORS)
async def withdraw_return(r: CurrentReturn, body: ReturnWithdrawalIn, caller: Caller, desk: Desk) -> ReturnOut:
    """The tourist (or the desk for a walk-in tourist) withdraws the request, agreed with the shop."""
    return to_out(await desk.withdraw(r, caller, body), caller)
