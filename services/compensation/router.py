"""Compensation's endpoints: funds, deposits, rules, claims, recovery, payout providers, reconciliation, figures."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import ColumnElement, select

from services.compensation import deposits
from services.compensation import ledger as accounts
from services.compensation.errors import (
    AlreadyApproved,
    BillUnavailable,
    ClaimFinished,
    ClaimNotFound,
    DepositAboveFloor,
    FundInsufficient,
    InsufficientBalance,
    LiabilityNotEstablished,
    MerchantNotFound,
    NotificationRejected,
    NotYourRegion,
    PayeeNameNotAllowed,
    PayoutProviderNotEnabled,
    ProviderError,
    RecoveryNotFound,
    RulesNotFound,
    TopUpAlreadyRequested,
)
from services.compensation.ledger import Ledger
from services.compensation.models import (
    Claim,
    ClaimApproval,
    Fund,
    PayeeName,
    Payout,
    ProgramMerchant,
    RecoveryOrder,
    RuleSet,
)
from services.compensation.payee_names import PayeeNames, check_open
from services.compensation.payouts import handle_notification
from services.compensation.providers.registry import registry
from services.compensation.reports import figures, reconcile
from services.compensation.service import Compensation
from services.compensation.statements import (
    XLSX,
    deposit_statement,
    first_day,
    fund_statement,
    fund_statement_csv,
    fund_statement_xlsx,
    fund_totals,
)
from shared.auth import Caller, ServiceCaller, may_see, require_roles, visible_to
from shared.contracts.common import ID_PATTERN, Day, Industry, Page, RegionCode
from shared.contracts.compensation import (
    PAYOUT_PROVIDER_PATTERN,
    ApprovalIn,
    ApprovalOut,
    ClaimOut,
    ClaimRejectionIn,
    ClaimState,
    CompensationFigures,
    ContestIn,
    DepositDrawIn,
    DepositFloorIn,
    DepositOut,
    DepositStatement,
    DepositTopUpRequestIn,
    DepositTopUpRequestOut,
    DryRunIn,
    DryRunOut,
    FundFloorIn,
    FundOut,
    FundStatement,
    LedgerCheck,
    Month,
    PayeeNameHandover,
    PayeeNameIn,
    PayoutOut,
    PayoutProviderOut,
    PayoutState,
    Reason,
    ReconciliationOut,
    RecoveryOut,
    RecoveryPaymentIn,
    RecoveryState,
    RuleSetIn,
    RuleSetOut,
    TopUpIn,
    WriteOffIn,
)
from shared.contracts.identity import Identity, Role, region_prefix
from shared.db import Session
from shared.errors import Forbidden, InvalidTransition, problem_responses
from shared.pagination import CursorParam, Keyset, Limit, key

router = APIRouter(prefix="/v1", tags=["compensation"])
internal = APIRouter(prefix="/internal", include_in_schema=False)
OFFICIALS = require_roles(Role.official, Role.admin)


async def get_compensation(request: Request, session: Session) -> Compensation:
    state = request.app.state
    return Compensation(session=session, clock=state.clock, settings=state.settings, outbox=state.outbox)


Service = Annotated[Compensation, Depends(get_compensation)]


def _covers(identity: Identity, region_code: str) -> bool:
    """Region-wide things (funds, a merchant's deposit) are for the region's officials and admins."""
    return may_see(identity, region=region_code)


def _claims_visible_to(identity: Identity) -> ColumnElement[bool]:
    return visible_to(identity, consumer=Claim.consumer_id, merchant=Claim.merchant_id, region=Claim.region_code)


async def _claim_out(session: Session, claim: Claim, viewer: Identity, names: PayeeNames) -> ClaimOut:
    """The claim as `viewer` may see it: the payee's name in full only for the tourist and the paying officials."""
    payee_name = await session.get(PayeeName, claim.complaint_id)
    approvals = (
        await session.scalars(
            select(ClaimApproval).where(ClaimApproval.claim_id == claim.id).order_by(ClaimApproval.id)
        )
    ).all()
    payout = (await session.execute(select(Payout).where(Payout.claim_id == claim.id))).scalar_one_or_none()
    return ClaimOut(
        id=claim.id,
        complaint_id=claim.complaint_id,
        region_code=claim.region_code,
        fund_region_code=claim.fund_region_code,
        merchant_id=claim.merchant_id,
        industry=Industry(claim.industry),
        state=ClaimState(claim.state),
        amount_requested_fen=claim.amount_requested_fen,
        amount_fen=claim.amount_fen,
        scenario=claim.scenario,
        rule_version=claim.rule_version,
        facts=claim.facts or {},
        decided_by=claim.decided_by,
        reasons=[Reason.model_validate(r) for r in claim.reasons],
        approvals_needed=claim.approvals_needed,
        approvals=[
            ApprovalOut(official_id=a.official_id, official_name=a.official_name, at=a.at, note=a.note)
            for a in approvals
        ],
        liability_clear=claim.liability_clear,
        request_reason=claim.request_reason,
        rejection_reason=claim.rejection_reason,
        payout=PayoutOut(
            id=payout.id,
            provider=payout.provider,
            out_no=payout.out_no,
            amount_fen=payout.amount_fen,
            state=PayoutState(payout.state),
            attempts=payout.attempts,
            provider_ref=payout.provider_ref,
            failure_reason=payout.failure_reason,
            succeeded_at=payout.succeeded_at,
        )
        if payout
        else None,
        opened_by=claim.opened_by,
        created_at=claim.created_at,
        decided_at=claim.decided_at,
        payee_name=names.shown(payee_name, claim, viewer),
        payee_name_given_at=payee_name.consent_at if payee_name else None,
    )


async def current_claim(
    claim_id: Annotated[str, Path(pattern=ID_PATTERN)], session: Session, caller: Caller, request: Request
) -> Claim:
    query = select(Claim).where(Claim.id == claim_id, _claims_visible_to(caller))
    if request.method in ("POST", "PUT", "DELETE"):
        query = query.with_for_update()
    claim = (await session.execute(query)).scalar_one_or_none()
    if claim is None:
        raise ClaimNotFound(f"Claim {claim_id} was not found.")
    return claim


CurrentClaim = Annotated[Claim, Depends(current_claim)]
CLAIM_ERRORS = problem_responses(ClaimNotFound, Forbidden, NotYourRegion, InvalidTransition)


# --- funds ----------------------------------------------------------------------------------------
async def _fund_out(session: Session, service: Compensation, region_code: str) -> FundOut:
    # Looking creates no fund: a region without one draws on its parent's (funds.py).
    fund = await session.get(Fund, region_code)
    paid, recovered = await fund_totals(session, region_code)
    return FundOut(
        region_code=region_code,
        balance_fen=await service.ledger.balance(accounts.fund(region_code)),
        floor_fen=fund.floor_fen if fund is not None else 0,
        paid_out_fen=paid,
        recovered_fen=recovered,
    )


@router.get("/funds", dependencies=[OFFICIALS])
async def list_funds(caller: Caller, session: Session, service: Service) -> list[FundOut]:
    """The regional advance-compensation funds the caller oversees."""
    regions = [
        f.region_code
        for f in (await session.scalars(select(Fund).order_by(Fund.region_code))).all()
        if _covers(caller, f.region_code)
    ]
    return [await _fund_out(session, service, r) for r in regions]


@router.get("/funds/{region_code}", dependencies=[OFFICIALS], responses=problem_responses(Forbidden))
async def get_fund(
    region_code: Annotated[str, Path(pattern=r"^\d{6}$")], caller: Caller, session: Session, service: Service
) -> FundOut:
    """One region's fund: balance, floor, paid out and recovered."""
    if not _covers(caller, region_code):
        raise NotYourRegion("That fund belongs to another region.")
    return await _fund_out(session, service, region_code)


@router.post(
    "/funds/{region_code}/top-ups", status_code=201, dependencies=[OFFICIALS], responses=problem_responses(Forbidden)
)
async def top_up_fund(
    region_code: Annotated[str, Path(pattern=r"^\d{6}$")],
    body: TopUpIn,
    caller: Caller,
    session: Session,
    service: Service,
) -> FundOut:
    """Money into a regional fund (a budget allocation, a recovered sum returned by hand)."""
    if not _covers(caller, region_code):
        raise NotYourRegion("That fund belongs to another region.")
    await service.top_up_fund(region_code, body, caller)
    return await _fund_out(session, service, region_code)


@router.put("/funds/{region_code}/floor", dependencies=[require_roles(Role.admin)])
async def set_fund_floor(
    region_code: Annotated[str, Path(pattern=r"^\d{6}$")], body: FundFloorIn, session: Session, service: Service
) -> FundOut:
    """Below this balance every payout needs an official's approval, however small."""
    fund = await service.fund(region_code)
    fund.floor_fen = body.floor_fen
    return await _fund_out(session, service, region_code)


# --- deposits -------------------------------------------------------------------------------------
async def _merchant(session: Session, merchant_id: str, caller: Identity) -> ProgramMerchant:
    merchant = await session.get(ProgramMerchant, merchant_id)
    allowed = merchant is not None and (
        _covers(caller, merchant.region_code)
        or (caller.role == Role.merchant_staff and caller.merchant_id == merchant_id)
    )
    if merchant is None or not allowed:
        raise MerchantNotFound(f"Merchant {merchant_id} was not found.")
    return merchant


@router.get("/merchants/{merchant_id}/deposit", responses=problem_responses(MerchantNotFound))
async def get_deposit(
    merchant_id: Annotated[str, Path(pattern=ID_PATTERN)], caller: Caller, session: Session, service: Service
) -> DepositOut:
    """A merchant's deposit (保证金), its floor, what it still owes the fund, and an open request to top up."""
    merchant = await _merchant(session, merchant_id, caller)
    return await deposits.deposit_out(session, service.ledger, merchant.id)


@router.put(
    "/merchants/{merchant_id}/deposit/floor", dependencies=[OFFICIALS], responses=problem_responses(MerchantNotFound)
)
async def set_deposit_floor(
    merchant_id: Annotated[str, Path(pattern=ID_PATTERN)],
    body: DepositFloorIn,
    caller: Caller,
    session: Session,
    service: Service,
) -> DepositOut:
    """The least a merchant's deposit should hold; below it officials may ask the merchant to top it up."""
    merchant = await _merchant(session, merchant_id, caller)
    await deposits.set_floor(session, merchant.id, body.floor_fen, caller, service.clock.now())
    return await deposits.deposit_out(session, service.ledger, merchant.id)


@router.post(
    "/merchants/{merchant_id}/deposit/top-up-requests",
    status_code=201,
    dependencies=[OFFICIALS],
    responses=problem_responses(MerchantNotFound, DepositAboveFloor, TopUpAlreadyRequested),
)
async def request_deposit_top_up(
    merchant_id: Annotated[str, Path(pattern=ID_PATTERN)],
    body: DepositTopUpRequestIn,
    caller: Caller,
    session: Session,
    service: Service,
) -> DepositTopUpRequestOut:
    """Ask the merchant to top its deposit up to its floor (only while it is below); the merchant sees the
    request with its deposit, and the top-up that brings the deposit back to the floor meets it."""
    merchant = await _merchant(session, merchant_id, caller)
    request = await deposits.request_top_up(session, service.ledger, merchant, body, caller, service.clock.now())
    return deposits.request_out(request)


@router.get("/merchants/{merchant_id}/deposit/top-up-requests", responses=problem_responses(MerchantNotFound))
async def list_deposit_top_up_requests(
    merchant_id: Annotated[str, Path(pattern=ID_PATTERN)], caller: Caller, session: Session
) -> list[DepositTopUpRequestOut]:
    """The requests to top up made of a merchant, newest first (the last 100)."""
    merchant = await _merchant(session, merchant_id, caller)
    return await deposits.requests_of(session, merchant.id)


@router.get("/merchants/{merchant_id}/deposit/statements/{month}", responses=problem_responses(MerchantNotFound))
async def get_deposit_statement(
    merchant_id: Annotated[str, Path(pattern=ID_PATTERN)],
    month: Annotated[Month, Path()],
    caller: Caller,
    session: Session,
) -> DepositStatement:
    """A deposit's month (Asia/Shanghai) from the ledger: opening, drawn, topped up, closing, and every entry."""
    merchant = await _merchant(session, merchant_id, caller)
    return await deposit_statement(session, merchant.id, first_day(month))


@router.post(
    "/merchants/{merchant_id}/deposit/top-ups",
    status_code=201,
    dependencies=[OFFICIALS],
    responses=problem_responses(MerchantNotFound),
)
async def top_up_deposit(
    merchant_id: Annotated[str, Path(pattern=ID_PATTERN)],
    body: TopUpIn,
    caller: Caller,
    session: Session,
    service: Service,
) -> DepositOut:
    """Record a merchant's deposit payment."""
    merchant = await _merchant(session, merchant_id, caller)
    await service.top_up_deposit(merchant, body, caller)
    return await get_deposit(merchant_id, caller, session, service)


# --- rules ----------------------------------------------------------------------------------------
def _rules_out(rules: RuleSet) -> RuleSetOut:
    return RuleSetOut.model_validate(
        {**rules.document, "version": rules.version, "created_at": rules.created_at, "created_by": rules.created_by}
    )


@router.get("/compensation-rules")
async def list_rules(caller: Caller, session: Session, service: Service) -> list[RuleSetOut]:
    """Every version of the unified compensation rules, the current one first."""
    await service.rules.current_rules()
    return [_rules_out(r) for r in (await session.scalars(select(RuleSet).order_by(RuleSet.version.desc()))).all()]


@router.post("/compensation-rules", status_code=201, dependencies=[require_roles(Role.admin)])
async def new_rules(body: RuleSetIn, caller: Caller, service: Service) -> RuleSetOut:
    """Issue a new version of the rules; claims keep the version they were decided under. A field the
    rules cannot hold, anywhere in the body, is refused (422) and no version is made."""
    return _rules_out(await service.rules.new_rules(body, caller))


@router.post(
    "/compensation-rules/{version}/dry-runs", dependencies=[OFFICIALS], responses=problem_responses(RulesNotFound)
)
async def dry_run_rules(
    version: Annotated[int, Path(ge=1, le=1_000_000)], body: DryRunIn, session: Session, service: Service
) -> DryRunOut:
    """What a claim would get under version N of the rules (for officials drafting a rule); nothing is written."""
    await service.rules.current_rules()
    rules = await session.get(RuleSet, version)
    if rules is None:
        raise RulesNotFound(f"The rules have no version {version}.")
    return await service.rules.dry_run(rules, body)


# Newest first, page by key: claims arriving between pages never shift them.
CLAIMS_NEWEST = Keyset("newest", (key(Claim.created_at), key(Claim.id)), descending=True)
RECOVERIES_BY_DUE = Keyset("due", (key(RecoveryOrder.due_by), key(RecoveryOrder.id)))


# --- claims ---------------------------------------------------------------------------------------
@router.get("/claims")
async def list_claims(
    caller: Caller,
    session: Session,
    service: Service,
    state: ClaimState | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    complaint_id: Annotated[
        str | None,
        Query(
            pattern=ID_PATTERN,
            description="the claim of this complaint (there is at most one)",
            examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"],
        ),
    ] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[ClaimOut]:
    """Claims the caller may see; officials' queue of claims awaiting approval with `state=pending_approval`."""
    query = select(Claim).where(_claims_visible_to(caller))
    if state:
        query = query.where(Claim.state == state)
    if complaint_id:
        query = query.where(Claim.complaint_id == complaint_id)
    if region_code:
        query = query.where(Claim.region_code.startswith(region_prefix(region_code)))
    rows = (await session.scalars(CLAIMS_NEWEST.page(query, cursor, limit))).all()
    return Page[ClaimOut](
        items=[await _claim_out(session, c, caller, service.payee_names) for c in rows[:limit]],
        next_cursor=CLAIMS_NEWEST.next_cursor(rows, limit),
    )


@router.get("/claims/{claim_id}", responses=problem_responses(ClaimNotFound))
async def get_claim(claim: CurrentClaim, caller: Caller, session: Session, service: Service) -> ClaimOut:
    """One claim: the rules' reasons, approvals, its payout, and the payee's name (masked but for the tourist and
    the paying officials)."""
    return await _claim_out(session, claim, caller, service.payee_names)


@router.post(
    "/claims/{claim_id}/approvals",
    responses={**CLAIM_ERRORS, **problem_responses(AlreadyApproved, LiabilityNotEstablished, FundInsufficient)},
)
async def approve_claim(
    claim: CurrentClaim, body: ApprovalIn, caller: Caller, session: Session, service: Service
) -> ClaimOut:
    """An official approves; once enough have, the money is reserved and the payout sent."""
    await service.claims.approve(claim, caller, body)
    return await _claim_out(session, claim, caller, service.payee_names)


@router.post("/claims/{claim_id}/rejections", responses=CLAIM_ERRORS)
async def reject_claim(
    claim: CurrentClaim, body: ClaimRejectionIn, caller: Caller, session: Session, service: Service
) -> ClaimOut:
    """An official rejects the claim (or cancels one whose payout failed, or that waits for the payee's name)."""
    await service.claims.reject(claim, caller, body)
    return await _claim_out(session, claim, caller, service.payee_names)


@router.post("/claims/{claim_id}/payout-retries", responses=CLAIM_ERRORS)
async def retry_payout(claim: CurrentClaim, caller: Caller, session: Session, service: Service) -> ClaimOut:
    """Send a failed payout again with the same idempotency key."""
    payout = (
        await session.execute(select(Payout).where(Payout.claim_id == claim.id).with_for_update())
    ).scalar_one_or_none()
    if payout is None:
        raise InvalidTransition("This claim has no payout.")
    await service.claims.retry_payout(claim, payout, caller)
    return await _claim_out(session, claim, caller, service.payee_names)


PAYEE_NAME_ERRORS = problem_responses(ClaimNotFound, PayeeNameNotAllowed, ClaimFinished)


@router.put("/claims/{claim_id}/payee-name", responses=PAYEE_NAME_ERRORS)
async def give_payee_name(
    claim: CurrentClaim, body: PayeeNameIn, caller: Caller, session: Session, service: Service
) -> ClaimOut:
    """The payee's real name for the payout, with the tourist's consent: by the tourist, or by an official of the
    claim's region for them. Kept encrypted until the claim is paid or rejected; a payout waiting for it goes out."""
    payout = (
        await session.execute(select(Payout).where(Payout.claim_id == claim.id).with_for_update())
    ).scalar_one_or_none()
    await service.payouts.give_payee_name(claim, payout, body.name, caller)
    return await _claim_out(session, claim, caller, service.payee_names)


@router.delete("/claims/{claim_id}/payee-name", responses=problem_responses(ClaimNotFound, PayeeNameNotAllowed))
async def withdraw_payee_name(claim: CurrentClaim, caller: Caller, session: Session, service: Service) -> ClaimOut:
    """The tourist takes the name back (consent withdrawn): it is deleted at once, and a payout that needs it
    waits until a name is given again."""
    await service.payouts.withdraw_payee_name(claim, caller)
    return await _claim_out(session, claim, caller, service.payee_names)


# --- recovery -------------------------------------------------------------------------------------
def _recovery_out(order: RecoveryOrder) -> RecoveryOut:
    return RecoveryOut(
        id=order.id,
        claim_id=order.claim_id,
        complaint_id=order.complaint_id,
        merchant_id=order.merchant_id,
        region_code=order.region_code,
        amount_fen=order.amount_fen,
        recovered_fen=order.recovered_fen,
        outstanding_fen=order.amount_fen - order.recovered_fen if order.state != RecoveryState.written_off else 0,
        state=RecoveryState(order.state),
        due_by=order.due_by,
        contest_reason=order.contest_reason,
        write_off_reason=order.write_off_reason,
        created_at=order.created_at,
        closed_at=order.closed_at,
    )


def _recoveries_visible_to(identity: Identity) -> ColumnElement[bool]:
    return visible_to(identity, merchant=RecoveryOrder.merchant_id, region=RecoveryOrder.region_code)


async def current_recovery(
    recovery_id: Annotated[str, Path(pattern=ID_PATTERN)], session: Session, caller: Caller
) -> RecoveryOrder:
    query = select(RecoveryOrder).where(RecoveryOrder.id == recovery_id, _recoveries_visible_to(caller))
    order = (await session.execute(query.with_for_update())).scalar_one_or_none()
    if order is None:
        raise RecoveryNotFound(f"Recovery order {recovery_id} was not found.")
    return order


CurrentRecovery = Annotated[RecoveryOrder, Depends(current_recovery)]
RECOVERY_ERRORS = problem_responses(RecoveryNotFound, Forbidden, InvalidTransition)


@router.get("/recoveries")
async def list_recoveries(
    caller: Caller,
    session: Session,
    state: RecoveryState | None = None,
    merchant_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    complaint_id: Annotated[
        str | None,
        Query(
            pattern=ID_PATTERN,
            description="the recovery order of this complaint's claim",
            examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"],
        ),
    ] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[RecoveryOut]:
    """Recovery orders (追偿) the caller may see."""
    query = select(RecoveryOrder).where(_recoveries_visible_to(caller))
    if state:
        query = query.where(RecoveryOrder.state == state)
    if complaint_id:
        query = query.where(RecoveryOrder.complaint_id == complaint_id)
    if merchant_id:
        query = query.where(RecoveryOrder.merchant_id == merchant_id)
    rows = (await session.scalars(RECOVERIES_BY_DUE.page(query, cursor, limit))).all()
    return Page[RecoveryOut](
        items=[_recovery_out(o) for o in rows[:limit]], next_cursor=RECOVERIES_BY_DUE.next_cursor(rows, limit)
    )


@router.get("/recoveries/{recovery_id}", responses=problem_responses(RecoveryNotFound))
async def get_recovery(order: CurrentRecovery) -> RecoveryOut:
    """One recovery order."""
    return _recovery_out(order)


@router.post("/recoveries/{recovery_id}/payments", responses=RECOVERY_ERRORS)
async def record_recovery_payment(
    order: CurrentRecovery, body: RecoveryPaymentIn, caller: Caller, service: Service
) -> RecoveryOut:
    """Money recovered from the merchant, or returned after the parties settled privately."""
    return _recovery_out(await service.recovery.record_payment(order, caller, body))


@router.post(
    "/recoveries/{recovery_id}/deposit-draws", responses={**RECOVERY_ERRORS, **problem_responses(InsufficientBalance)}
)
async def draw_deposit_for_recovery(
    order: CurrentRecovery, body: DepositDrawIn, caller: Caller, service: Service
) -> RecoveryOut:
    """An official draws the merchant's deposit for this recovery order now (by default all it can cover)."""
    return _recovery_out(await service.recovery.draw_deposit(order, caller, body.amount_fen))


@router.post("/recoveries/{recovery_id}/contests", responses=RECOVERY_ERRORS)
async def contest_recovery(order: CurrentRecovery, body: ContestIn, caller: Caller, service: Service) -> RecoveryOut:
    """The merchant contests the recovery order, with its reasons and evidence."""
    return _recovery_out(await service.recovery.contest(order, caller, body))


@router.post("/recoveries/{recovery_id}/write-offs", responses=RECOVERY_ERRORS)
async def write_off_recovery(order: CurrentRecovery, body: WriteOffIn, caller: Caller, service: Service) -> RecoveryOut:
    """An official writes the rest off, with a reason."""
    return _recovery_out(await service.recovery.write_off(order, caller, body))


# --- payout providers, reconciliation, figures, the ledger check -------------------------------------
@router.get("/payout-providers")
async def payout_providers(request: Request, caller: Caller) -> list[PayoutProviderOut]:
    """The payout providers this platform pays through, in COMPENSATION_PAYOUT_PROVIDERS' order, each with the
    label its module gives it (the console shows a payout's provider by it)."""
    enabled = request.app.state.providers
    return [
        PayoutProviderOut(name=name, label_zh=kind.label_zh, label_en=kind.label_en, enabled=name in enabled)
        for name, kind in registry(request.app.state.settings).kinds.items()
    ]


@router.get(
    "/reconciliations/{day}",
    dependencies=[OFFICIALS],
    responses=problem_responses(PayoutProviderNotEnabled, BillUnavailable),
)
async def get_reconciliation(
    day: Day,
    request: Request,
    session: Session,
    provider: Annotated[
        str | None,
        Query(
            pattern=PAYOUT_PROVIDER_PATTERN,
            description="the provider (default: the first configured)",
            examples=["wechat"],
        ),
    ] = None,
    channel: Annotated[
        str | None,
        Query(
            pattern=PAYOUT_PROVIDER_PATTERN,
            deprecated=True,
            description="the former name of `provider`, accepted for one release; `provider` wins when both are given",
        ),
    ] = None,
) -> ReconciliationOut:
    """The day's payouts in the ledger against the provider's bill, with every mismatch."""
    name = provider or channel or registry(request.app.state.settings).names[0]
    adapter = request.app.state.providers.get(name)
    if adapter is None:
        raise PayoutProviderNotEnabled(f"This platform makes no {name} payouts: there is no bill to check.")
    try:
        return await reconcile(session, adapter, name, day)
    except ProviderError as exc:
        raise BillUnavailable(f"The {name} bill of {day} could not be had: {exc}") from exc


@router.get("/compensation/figures")
async def compensation_figures(
    session: Session,
    caller: Caller,
    request: Request,
    region_code: RegionCode = "460000",
    date_from: Annotated[Day | None, Query(alias="from")] = None,
    date_to: Annotated[Day | None, Query(alias="to")] = None,
) -> CompensationFigures:
    """Claims, money paid, recovered and outstanding for a region and period (Asia/Shanghai dates)."""
    return await figures(session, request.app.state.clock, region_code, date_from, date_to)


@router.get(
    "/reports/fund-statements",
    response_model=FundStatement,
    dependencies=[OFFICIALS],
    responses={
        **problem_responses(Forbidden),
        200: {
            "content": {
                "text/csv": {"example": "\ufeff赔付基金月度报表,460200,2026-11\r\n期初余额（元）,0.00\r\n..."},
                XLSX: {},
            },
            "description": "JSON; or the same statement as CSV or as an Excel workbook",
        },
    },
)
async def fund_statement_of(
    caller: Caller,
    session: Session,
    region_code: Annotated[str, Query(pattern=r"^\d{6}$", examples=["460200"])],
    month: Annotated[Month, Query(description="a calendar month in Asia/Shanghai")],
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="csv or xlsx: the same for a spreadsheet")
    ] = "json",
) -> Any:
    """A fund's monthly statement from the ledger: opening, paid, recovered, written off, topped up, closing,
    and every entry of the month (Asia/Shanghai), so it reconciles with the ledger to the fen."""
    if not _covers(caller, region_code):
        raise NotYourRegion("That fund belongs to another region.")
    statement = await fund_statement(session, region_code, first_day(month))
    if format == "json":
        return statement
    content, media_type = (
        (fund_statement_csv(statement), "text/csv; charset=utf-8")
        if format == "csv"
        else (fund_statement_xlsx(statement), XLSX)
    )
    name = f"fund-statement-{region_code}-{month}.{format}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/ledger/check", dependencies=[require_roles(Role.admin)])
async def ledger_check(request: Request, session: Session) -> LedgerCheck:
    """Prove the books: every transaction balanced, the sum of all entries zero, no fund below zero."""
    return await Ledger(session, request.app.state.clock).check()


# --- payee names given with a compensation request, handed over by intake --------------------------
@internal.put("/payee-names/{complaint_id}", status_code=204)
async def hand_over_payee_name(
    complaint_id: Annotated[str, Path(pattern=ID_PATTERN)],
    body: PayeeNameHandover,
    caller: ServiceCaller,
    session: Session,
    service: Service,
) -> Response:
    """Keep the name intake received with a compensation request, before the request (and so its claim) exists."""
    claim = (await session.execute(select(Claim).where(Claim.complaint_id == complaint_id))).scalar_one_or_none()
    if claim is not None:
        check_open(claim)
    await service.payee_names.keep(complaint_id, body.consumer_id, body.name, body.given_by, service.clock.now())
    return Response(status_code=204)


# --- provider notifications, forwarded by the gateway ---------------------------------------------
@internal.post("/callbacks/{provider}")
async def provider_callback(
    provider: Annotated[str, Path(pattern=PAYOUT_PROVIDER_PATTERN)], request: Request, caller: ServiceCaller
) -> Response:
    """A payment provider's notification; answered in the provider's own words."""
    kind = registry(request.app.state.settings).kinds.get(provider)
    if kind is None:
        raise PayoutProviderNotEnabled(f"This platform makes no {provider} payouts.")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        await handle_notification(request.app, provider, headers, body)
    except NotificationRejected as exc:
        return kind.acknowledge(exc)
    return kind.acknowledge(None)
