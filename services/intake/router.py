"""Intake's endpoints: thin; they parse, authorize, call the service, shape the response."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from services.intake.deadlines import missed_deadlines
from services.intake.dependencies import (
    CompensationRequestService,
    CurrentComplaint,
    CurrentWork,
    EvidenceService,
    HandlingService,
    NoticeService,
    OversightService,
    SubmissionService,
)
from services.intake.errors import (
    ActionNotAllowed,
    AlreadyEvaluated,
    AlreadyReplied,
    AlreadyRequested,
    BadPeriod,
    ChannelNotAllowed,
    CompensationWindowClosed,
    ComplaintNotFound,
    ContactRevealNotAllowed,
    DailyEvidenceQuotaExceeded,
    DeadlineAlreadyMissed,
    EvidenceContainsMarkup,
    EvidenceGone,
    EvidenceMissing,
    EvidenceNotFound,
    EvidenceQuotaExceeded,
    EvidenceUnreadable,
    ExtensionPending,
    FilingNotAllowed,
    FilingRegionNotAllowed,
    IdempotencyRequestInProgress,
    ImageTooLarge,
    ImportFileInvalid,
    LinkAlreadyDecided,
    LinkNotFound,
    MergeIntoItself,
    MergeTargetNotFound,
    NoOpenSupervision,
    NoPendingExtension,
    NotANotice,
    NotInProgram,
    PayeeNameNotStored,
    RefundAboveAmountInvolved,
    ReportNotAllowed,
    RevealRecordsNotAllowed,
    SupervisionAlreadyOpen,
    SupervisionNotAllowed,
    TimestampsOutOfOrder,
    UnknownMerchant,
    UnknownRegion,
    UnknownUnit,
)
from services.intake.evidence_files import EXTENSIONS
from services.intake.handling import CONTACT_REVEALED
from services.intake.imports import Importer, ImportReport, ReturnImporter, RowImporter, read_rows
from services.intake.lifecycle import Context, available
from services.intake.models import (
    Complaint,
    Evidence,
    ExtensionRequest,
    IdempotencyRecord,
    PossibleLink,
    SupervisionNotice,
    TimelineEntry,
)
from services.intake.payee_names import hand_over as hand_over_payee_name
from services.intake.progress import progress_of
from services.intake.regions import catalogue_of
from services.intake.report_formats import CSV_EXAMPLE, XLSX, filename, report_csv, report_html, report_xlsx
from services.intake.reports import complaint_report, month_range, public_figures
from services.intake.repository.evidence import EvidenceRows
from services.intake.repository.idempotency import IdempotencyRepository
from services.intake.repository.links import Links
from services.intake.repository.oversight import Extensions, Supervisions
from services.intake.repository.queue import COMPLAINT_ORDERS, Facts, Queue, QueueFilter
from services.intake.repository.timeline import Timeline
from shared.auth import Caller, may_see, require_roles
from shared.contracts.common import ID_PATTERN, INDUSTRY_LABELS_ZH, Channel, Day, Industry
from shared.contracts.compensation import CompensationRequestIn
from shared.contracts.complaints import (
    OPEN_STATES,
    Assignee,
    AssigneeKind,
    AssignmentIn,
    AtFault,
    CallbackVisitIn,
    ClosureIn,
    ComplaintCounts,
    ComplaintOut,
    ComplaintPage,
    ComplaintState,
    ComplaintSubmit,
    ConsumerVerdictIn,
    ContactRevealIn,
    ContactRevealOut,
    ContactRevealRecord,
    DeadlineKind,
    Deadlines,
    DispatchReturnIn,
    EscalationIn,
    EvaluationIn,
    EvidenceOut,
    ExtensionDecisionIn,
    ExtensionOut,
    ExtensionRequestIn,
    ExtensionState,
    IndustryOut,
    IntakeDecisionIn,
    LinkDecisionIn,
    MergeIn,
    MissedDeadline,
    NotAcceptedReason,
    NoticeLinkIn,
    NoticeReplyIn,
    PossibleLinkOut,
    PossibleLinkState,
    ProgressOut,
    RegionDetailOut,
    RegionOut,
    Remedy,
    ReopenIn,
    ResolutionIn,
    ResponseIn,
    SupervisionNoticeIn,
    SupervisionNoticeOut,
    SupervisionReplyIn,
    SupervisionState,
    TimelineEntryOut,
    TransferIn,
    WithdrawalIn,
    normalise_case_number,
)
from shared.contracts.identity import Identity, Role
from shared.contracts.reports import ComplaintReport, PublicFigures
from shared.db import Session
from shared.divisions import divisions
from shared.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidTransition,
    PayloadTooLarge,
    TimestampInFuture,
    UnsupportedMediaType,
    problem_responses,
)
from shared.logging import mask_name, mask_phone
from shared.pagination import CursorParam, InvalidCursor, Limit

router = APIRouter(prefix="/v1", tags=["complaints"])
catalogue_router = APIRouter(prefix="/v1", tags=["catalogues"])

ACTION_ERRORS = problem_responses(ComplaintNotFound, ActionNotAllowed, InvalidTransition)


STAFF = (Role.official, Role.admin)
# Timeline steps about other accounts' look-alike complaints and merges, and the officials' own supervision notices:
# for officials (and admins) only.
STAFF_ONLY_KINDS = frozenset(
    {
        "possible_link",
        "link_confirmed",
        "link_dismissed",
        "merged",
        "supervised",
        "supervision_replied",
        "supervision_overdue",
        CONTACT_REVEALED,
    }
)
PossibleLinks = dict[str, list[tuple[PossibleLink, str, str, str | None]]]
LINK_ACCOUNT_KEYS = frozenset({"consumer_id", "source_id", "external_id"})


def to_out(
    c: Complaint, viewer: Identity, facts: Facts | None = None, possible_links: PossibleLinks | None = None
) -> ComplaintOut:
    """The complaint as `viewer` may see it: the phone number only in full for its owner, possible links
    only for officials; with the actions the viewer may take on it now."""
    facts = facts or Facts()
    links_of = (possible_links or {}).get(c.id, [])
    context = Context(
        pending_extension_by=facts.pending_extension_by,
        open_notice=facts.open_notice,
        suggested_links=any(link.state == PossibleLinkState.suggested for link, *_ in links_of),
    )
    overdue = [
        k
        for k, flag in (
            (DeadlineKind.accept, c.accept_overdue),
            (DeadlineKind.dispose, c.dispose_overdue),
            (DeadlineKind.settle, c.settle_overdue),
            (DeadlineKind.reply, c.reply_overdue),
        )
        if flag
    ]
    missed = missed_deadlines(c)
    owner = c.consumer_id is not None and viewer.subject == c.consumer_id
    return ComplaintOut(
        id=c.id,
        case_number=c.case_number,
        state=ComplaintState(c.state),
        channel=Channel(c.channel),
        source_name=c.source_name,
        unit=Assignee(kind=AssigneeKind.unit, id=c.unit_id, name=c.unit_name) if c.unit_id else None,
        reply_by=c.reply_by,
        replied_at=c.replied_at,
        reply_overdue=c.reply_overdue,
        external_id=c.external_id,
        links=_links_seen_by(c.links, viewer),
        possible_links=[
            _possible_link_out(link, other_id, channel, number) for link, other_id, channel, number in links_of
        ]
        if viewer.role in STAFF
        else [],
        region_code=c.region_code,
        merchant_id=c.merchant_id,
        merchant_name=c.merchant_name,
        merchant_address=c.merchant_address,
        industry=Industry(c.industry),
        description=c.description,
        amount_involved_fen=c.amount_involved_fen,
        remedy=Remedy(c.remedy),
        occurred_at=c.occurred_at,
        contact_name=c.contact_name if owner else mask_name(c.contact_name),
        contact_phone=c.contact_phone if owner else mask_phone(c.contact_phone),
        consumer_id=c.consumer_id,
        not_accepted_reason=NotAcceptedReason(c.not_accepted_reason) if c.not_accepted_reason else None,
        not_accepted_note=c.not_accepted_note,
        duplicate_of=c.duplicate_of,
        assignee=Assignee(kind=AssigneeKind(c.assignee_kind), id=c.assignee_id, name=c.assignee_name)
        if c.assignee_kind and c.assignee_id
        else None,
        transferred_from=c.transferred_from,
        submitted_at=c.submitted_at,
        dispatched_at=c.dispatched_at,
        arrived_at=c.arrived_at,
        accepted_at=c.accepted_at,
        assigned_at=c.assigned_at,
        responded_at=c.responded_at,
        escalated_at=c.escalated_at,
        resolved_at=c.resolved_at,
        closed_at=c.closed_at,
        deadlines=Deadlines(
            accept_by=c.accept_by,
            dispose_by=c.dispose_by,
            settle_by=c.settle_by,
            next_deadline=DeadlineKind(c.next_deadline_kind) if c.next_deadline_kind else None,
            next_due_at=c.next_deadline_at,
            overdue=overdue,
            missed=[MissedDeadline(kind=kind, due_at=due) for kind, due in missed],
            late_since=missed[0][1] if missed and c.state in OPEN_STATES else None,
        ),
        response_text=c.response_text,
        offered_refund_fen=c.offered_refund_fen,
        outcome=c.outcome,
        at_fault=AtFault(c.at_fault) if c.at_fault else None,
        amount_refunded_fen=c.amount_refunded_fen,
        satisfaction=c.satisfaction,
        evaluation_comment=c.evaluation_comment,
        evidence_count=facts.evidence_count,
        compensation_requested_at=c.compensation_requested_at,
        compensation_state=c.compensation_state,
        compensation_paid_fen=c.compensation_paid_fen,
        actions=available(c, viewer, context),
    )


def _links_seen_by(links: list[dict[str, Any]] | None, viewer: Identity) -> list[dict[str, Any]]:
    """A linked case's account and partner ids are the officials' business; others see which case and channel."""
    if viewer.role in STAFF:
        return links or []
    return [{k: v for k, v in link.items() if k not in LINK_ACCOUNT_KEYS} for link in links or []]


def _timeline_entry_out(e: TimelineEntry, viewer: Identity) -> TimelineEntryOut:
    out = TimelineEntryOut.model_validate(e, from_attributes=True)
    if viewer.role not in STAFF and e.kind == "linked" and out.data:
        out.data = {k: v for k, v in out.data.items() if k not in LINK_ACCOUNT_KEYS}
    return out


def _possible_link_out(link: PossibleLink, other_id: str, channel: str, case_number: str | None) -> PossibleLinkOut:
    return PossibleLinkOut(
        id=link.id,
        complaint_id=other_id,
        case_number=case_number,
        channel=Channel(channel),
        worked_as=link.other_id,
        state=PossibleLinkState(link.state),
        reason=link.reason,
        similarity=link.similarity,
        flagged_at=link.flagged_at,
        decided_at=link.decided_at,
        decided_by_name=link.decided_by_name,
        note=link.note,
    )


async def _possible_links(session: Session, found: list[tuple[Complaint, Facts]], caller: Identity) -> PossibleLinks:
    """The complaints' possible links, looked up for those who may see them only, and only where there are any."""
    flagged = [c.id for c, facts in found if facts.has_possible_links]
    if caller.role not in STAFF or not flagged:
        return {}
    return await Links(session).of(flagged)


async def _out(session: Session, c: Complaint, caller: Identity) -> ComplaintOut:
    facts = (await Queue(session).facts([c.id], caller)).get(c.id, Facts())
    return to_out(c, caller, facts, await _possible_links(session, [(c, facts)], caller))


# --- catalogues -----------------------------------------------------------------------------------
@catalogue_router.get("/regions", responses=problem_responses(UnknownRegion))
async def list_regions(
    request: Request,
    caller: Caller,
    parent: Annotated[
        str | None,
        Query(
            pattern=r"^(\d{6}|root)$",
            examples=["530100"],
            description="the national catalogue's regions directly under this code (root: the provinces)",
        ),
    ] = None,
) -> list[RegionOut]:
    """The regions this platform serves and those above them (a province, a city), by code, with their handling
    units and named sources; with `parent`, any part of the national catalogue (Ministry of Civil Affairs codes).
    The platform's default region (Hainan, 460000, in the shipped data) is marked `default`: a page without a
    region of its own opens on it."""
    catalogue = catalogue_of(request.app.state.settings)
    if parent is None:
        return [r.out() for r in catalogue.listed()]
    return [r.out() for r in catalogue.children(None if parent == "root" else catalogue.get(parent).code)]


@catalogue_router.get("/regions/{region_code}", responses=problem_responses(UnknownRegion))
async def get_region(
    request: Request, caller: Caller, region_code: Annotated[str, Path(pattern=r"^\d{6}$", examples=["530103"])]
) -> RegionDetailOut:
    """One region of the national catalogue: its parent chain (nearest first), its settings as inherited and its
    acceptance rules (`acceptance`: automatic acceptance, the complaint window, the duplicate window, the shortest
    description)."""
    catalogue = catalogue_of(request.app.state.settings)
    region = catalogue.get(region_code)
    return RegionDetailOut(
        **region.out().model_dump(),
        chain=[catalogue.get(d.code).out() for d in divisions().chain(region.code)[1:]],
        acceptance=region.acceptance_out(),
        settings=region.settings.model_dump(mode="json"),
    )


@catalogue_router.get(
    "/reports/complaints",
    response_model=ComplaintReport,
    responses={
        **problem_responses(Forbidden, UnknownRegion, BadPeriod),
        200: {
            "content": {"text/csv": {"example": CSV_EXAMPLE}, XLSX: {}, "text/html": {"example": "<!doctype html>..."}},
            "description": "JSON; or the same report as CSV, as an Excel workbook, or as a page to print",
        },
    },
)
async def complaint_report_of(
    request: Request,
    caller: Caller,
    session: Session,
    region_code: Annotated[str, Query(pattern=r"^\d{6}$", examples=["460200"])],
    from_: Annotated[Day, Query(alias="from", examples=["2021-01-08"], description="first day, Asia/Shanghai")],
    to: Annotated[Day, Query(examples=["2021-01-14"], description="last day, included")],
    format: Annotated[
        Literal["json", "csv", "xlsx", "html"],
        Query(description="csv or xlsx: the same report for a spreadsheet; html: a page to print"),
    ] = "json",
) -> Any:
    """A region's (and its sub-regions') complaints of a period, as a command center's weekly report
    gives them: per channel, industry, handling unit and merchant; each handled complaint's minutes,
    their total ("1小时19分钟") and truncated average ("13.16分钟"); deadline shares; money; satisfaction."""
    if caller.role not in (Role.official, Role.admin) or not may_see(caller, region=region_code):
        raise ReportNotAllowed("Only officials of the region (or above it) may read its reports.")
    catalogue = catalogue_of(request.app.state.settings)
    report = await complaint_report(
        session, catalogue.get(region_code), from_, to, request.app.state.clock.now(), catalogue
    )
    if format == "json":
        return report
    if format == "html":
        return Response(report_html(report), media_type="text/html; charset=utf-8")
    content, media_type = (
        (report_csv(report), "text/csv; charset=utf-8") if format == "csv" else (report_xlsx(report), XLSX)
    )
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename(report, format)}"'},
    )


@catalogue_router.get("/public/figures", responses=problem_responses(UnknownRegion, BadPeriod))
async def open_figures(
    request: Request,
    caller: Caller,
    session: Session,
    region_code: Annotated[str, Query(pattern=r"^\d{6}$", examples=["460000"])],
    from_: Annotated[str, Query(alias="from", pattern=r"^\d{4}-\d{2}$", examples=["2026-01"])],
    to: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-10"])],
) -> PublicFigures:
    """Open data, no login: a region's complaints per month (received, resolved, average handling time,
    compensation paid) and its merchants settled in. Aggregates only: no text, no personal data."""
    region = catalogue_of(request.app.state.settings).get(region_code)
    return await public_figures(session, region, month_range(from_, to))


@catalogue_router.get("/industries")
async def list_industries(caller: Caller) -> list[IndustryOut]:
    """The industries complaints are filed under (吃住行游购娱)."""
    return [IndustryOut(code=i, label_zh=INDUSTRY_LABELS_ZH[i]) for i in Industry]


# --- complaints -----------------------------------------------------------------------------------
def _request_hash(body: ComplaintSubmit) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@router.post(
    "/complaints",
    status_code=201,
    responses={
        201: {
            "model": ComplaintOut,
            "description": "The complaint as filed (the same answer again for a repeated Idempotency-Key)",
        },
        **problem_responses(
            UnknownRegion,
            UnknownMerchant,
            IdempotencyKeyReused,
            Conflict,
            FilingNotAllowed,
            FilingRegionNotAllowed,
            ChannelNotAllowed,
            TimestampInFuture,
            TimestampsOutOfOrder,
        ),
    },
)
async def submit_complaint(
    body: ComplaintSubmit,
    caller: Caller,
    session: Session,
    submission: SubmissionService,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> Any:
    """Submit a complaint; it is accepted and assigned at once where the rules allow. Tourists file for
    themselves on their login's channel, partners on their own channel, officials for their own region
    (walk_in or hotline_12345); merchant staff never (403 filing_not_allowed)."""
    record = None
    if idempotency_key:
        repo = IdempotencyRepository(session)
        request_hash = _request_hash(body)
        existing = await repo.get(caller.subject, idempotency_key)
        if existing is None:
            record = IdempotencyRecord(
                owner=caller.subject,
                key=idempotency_key,
                request_hash=request_hash,
                status_code=0,
                response={},
                created_at=submission.work.clock.now(),
            )
            repo.add(record)
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                existing = await repo.get(caller.subject, idempotency_key)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body.")
            if existing.status_code == 0:
                raise IdempotencyRequestInProgress("A request with this Idempotency-Key is still in progress.")
            return JSONResponse(
                existing.response, status_code=existing.status_code, headers={"Idempotent-Replay": "true"}
            )
    complaint = await submission.submit(caller, body)
    # Just made: no evidence, extension or notice yet; possible links flagged on arrival, for staff to see.
    maybe_linked = Facts(has_possible_links=True)
    out = to_out(complaint, caller, maybe_linked, await _possible_links(session, [(complaint, maybe_linked)], caller))
    if record is not None:
        record.status_code, record.response = 201, out.model_dump(mode="json")
    return out


@router.get("/complaints", responses=problem_responses(InvalidCursor))
async def list_complaints(
    request: Request,
    caller: Caller,
    session: Session,
    state: Annotated[list[ComplaintState] | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="true: open complaints that missed a deadline")] = None,
    channel: Channel | None = None,
    industry: Industry | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    merchant_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    external_id: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9A-Za-z_.:\-]{1,64}$",
            examples=["HN12345-20261120-000123"],
            description="a channel's own id of the case (a 12345 order number)",
        ),
    ] = None,
    received_from: Annotated[
        Day | None, Query(examples=["2026-11-14"], description=("received on or after this day (Asia/Shanghai)"))
    ] = None,
    received_to: Annotated[
        Day | None, Query(examples=["2026-11-20"], description=("received on or before this day (Asia/Shanghai)"))
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            examples=["海景酒店"],
            description=(
                "search: a case number, a merchant's id or a channel's order number exactly, words in the merchant's "
                "name or the description, or (officials and admins) the complainant's phone number exactly"
            ),
        ),
    ] = None,
    order: Annotated[
        Literal["urgency", "newest"] | None,
        Query(
            description=(
                "urgency (staff's default): open complaints that missed a deadline first, the longest late first, "
                "then open ones by nearest deadline, then concluded ones; newest (consumers' default): newest "
                "received first. Each pages by key: a cursor belongs to its order"
            )
        ),
    ] = None,
    case_number: Annotated[
        str | None,
        Query(
            max_length=40,
            examples=["460200-20261206-0042"],
            description=("the case number, as written or read out (digits only, spaces, full-width digits)"),
        ),
    ] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> ComplaintPage:
    """My complaints (consumers), or my queue (merchant staff, officials): late ones first, then nearest deadline."""
    if caller.role == Role.complaint_holder:
        raise Forbidden("A progress link opens its own complaint's progress only.")
    wanted_number = None
    if case_number is not None:
        wanted_number = normalise_case_number(case_number)
        if wanted_number is None:
            first = cursor is None
            return ComplaintPage(
                items=[],
                next_cursor=None,
                total=0 if first else None,
                total_is_lower_bound=False if first else None,
            )
    keyset = COMPLAINT_ORDERS[order or ("newest" if caller.role == Role.consumer else "urgency")]
    queue = Queue(session)
    found = QueueFilter(
        state=state,
        overdue=overdue,
        channel=channel,
        industry=industry,
        region_code=region_code,
        merchant_id=merchant_id,
        external_id=external_id,
        received_from=received_from,
        received_to=received_to,
        q=q,
        q_phone=caller.role in STAFF,
        case_number=wanted_number,
    )
    rows = await queue.page(caller, found, keyset, cursor=cursor, limit=limit)
    page = rows[:limit]
    possible_links = await _possible_links(session, page, caller)
    total, lower_bound = None, None
    if cursor is None:  # counted up to the cap, one row more to tell whether there are more
        cap = request.app.state.settings.queue_total_cap
        counted = await queue.count(caller, found, up_to=cap + 1)
        total, lower_bound = min(counted, cap), counted > cap
    return ComplaintPage(
        items=[to_out(c, caller, facts, possible_links) for c, facts in page],
        next_cursor=keyset.next_cursor([c for c, _ in rows], limit),
        total=total,
        total_is_lower_bound=lower_bound,
    )


@router.get("/complaints/counts")
async def count_complaints(caller: Caller, session: Session) -> ComplaintCounts:
    """How many of my open complaints there are and how many missed a deadline, per state (cheap: counted
    from the queue's index; the console's overdue counter)."""
    counts = await Queue(session).open_counts(caller)
    by_state: dict[ComplaintState, int] = {}
    late: dict[ComplaintState, int] = {}
    for (state, is_late), n in counts.items():
        by_state[ComplaintState(state)] = by_state.get(ComplaintState(state), 0) + n
        if is_late:
            late[ComplaintState(state)] = late.get(ComplaintState(state), 0) + n
    return ComplaintCounts(
        open=sum(by_state.values()), overdue=sum(late.values()), by_state=by_state, overdue_by_state=late
    )


@router.get("/complaints/{complaint_id}", responses=problem_responses(ComplaintNotFound))
async def get_complaint(complaint: CurrentComplaint, caller: Caller, session: Session) -> ComplaintOut:
    """One complaint, as the caller may see it."""
    return await _out(session, complaint, caller)


@router.get("/complaints/{complaint_id}/timeline", responses=problem_responses(ComplaintNotFound))
async def get_timeline(complaint: CurrentComplaint, session: Session, caller: Caller) -> list[TimelineEntryOut]:
    """Every step of the complaint, with who took it and when (possible links to other accounts' complaints:
    for officials only)."""
    entries: list[TimelineEntry] = await Timeline(session).entries(complaint.id)
    return [_timeline_entry_out(e, caller) for e in entries if caller.role in STAFF or e.kind not in STAFF_ONLY_KINDS]


@router.get("/complaints/{complaint_id}/progress", tags=["progress"], responses=problem_responses(ComplaintNotFound))
async def get_progress(complaint: CurrentComplaint, session: Session) -> ProgressOut:
    """The complaint as its complainant's progress page shows it: state, public steps, the merchant's response,
    the next deadline and what may be done now; no personal data, no internal notes."""
    return progress_of(complaint, await Timeline(session).entries(complaint.id))


# --- the complainant's contact, in full for the handler ----------------------------------------------
@router.post(
    "/complaints/{complaint_id}/contact-reveals",
    status_code=201,
    responses=problem_responses(ComplaintNotFound, ContactRevealNotAllowed),
)
async def reveal_contact(
    complaint: CurrentComplaint, caller: Caller, handling: HandlingService, body: ContactRevealIn | None = None
) -> ContactRevealOut:
    """The complainant's name and phone in full, to call back (回访): officials of the complaint's region (or
    above it) and admins; each reveal is recorded (who, when, which case) for the supervising officials.
    Anyone else: 403 contact_reveal_not_allowed; everywhere else the contact stays masked."""
    entry = await handling.reveal_contact(complaint, caller, body.purpose if body else None)
    return ContactRevealOut(
        complaint_id=complaint.id,
        contact_name=complaint.contact_name,
        contact_phone=complaint.contact_phone,
        revealed_at=entry.at,
        revealed_by=caller.subject,
        revealed_by_name=caller.display_name,
    )


@router.get(
    "/complaints/{complaint_id}/contact-reveals",
    responses=problem_responses(ComplaintNotFound, RevealRecordsNotAllowed),
)
async def list_contact_reveals(
    complaint: CurrentComplaint, caller: Caller, session: Session
) -> list[ContactRevealRecord]:
    """Who saw the complainant's contact in full, and when: for the supervising officials (of a region above
    the complaint's) and admins; 403 contact_reveals_not_allowed for anyone else."""
    supervising = caller.role == Role.admin or (
        caller.role == Role.official
        and caller.region_code is not None
        and caller.region_code != complaint.region_code
        and may_see(caller, region=complaint.region_code)
    )
    if not supervising:
        raise RevealRecordsNotAllowed(
            "Only the supervising officials (of a region above the complaint's) and "
            "admins may see who revealed a complainant's contact."
        )
    entries = await Timeline(session).entries_of_kind(complaint.id, CONTACT_REVEALED)
    return [
        ContactRevealRecord(
            complaint_id=complaint.id,
            revealed_at=e.at,
            revealed_by=e.actor_id,
            revealed_by_name=e.actor_name,
            revealed_by_role=e.actor_role,
            revealed_by_region=(e.data or {}).get("region_code"),
            purpose=(e.data or {}).get("purpose"),
        )
        for e in entries
    ]


# --- evidence -------------------------------------------------------------------------------------
def _evidence_out(e: Evidence) -> EvidenceOut:
    return EvidenceOut.model_validate(e, from_attributes=True)


@router.post(
    "/complaints/{complaint_id}/evidence",
    status_code=201,
    responses=problem_responses(
        ComplaintNotFound,
        ActionNotAllowed,
        PayloadTooLarge,
        ImageTooLarge,
        UnsupportedMediaType,
        EvidenceContainsMarkup,
        EvidenceUnreadable,
        InvalidTransition,
        EvidenceQuotaExceeded,
        DailyEvidenceQuotaExceeded,
    ),
)
async def add_evidence(
    complaint: CurrentComplaint, caller: Caller, desk: EvidenceService, request: Request, file: UploadFile
) -> EvidenceOut:
    """Attach a photo or document (JPEG, PNG or PDF, up to 10 MB; the type is read from the content). A photo
    is kept without its EXIF data (GPS position, camera), upright; a file that carries a web page is refused."""
    limit = desk.work.settings.evidence_max_bytes
    if (file.size or 0) > limit:
        raise PayloadTooLarge(f"Evidence files are limited to {limit} bytes.")
    content = await file.read(limit + 1)
    return _evidence_out(await desk.add(complaint, caller, file.filename or "evidence", content))


@router.get("/complaints/{complaint_id}/evidence", responses=problem_responses(ComplaintNotFound))
async def list_evidence(complaint: CurrentComplaint, session: Session) -> list[EvidenceOut]:
    """The files attached to a complaint."""
    return [_evidence_out(e) for e in await EvidenceRows(session).files(complaint.id)]


@router.get(
    "/complaints/{complaint_id}/evidence/{file_id}",
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "application/pdf": {}}},
        307: {
            "description": "with INTAKE_EVIDENCE_DOWNLOAD=redirect: a presigned URL of the object store to fetch the "
            "file from, valid for minutes (Location)",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        },
        **problem_responses(ComplaintNotFound, EvidenceNotFound, EvidenceGone),
    },
    response_class=Response,
)
async def download_evidence(
    complaint: CurrentComplaint,
    file_id: Annotated[str, Path(pattern=ID_PATTERN)],
    session: Session,
    work: CurrentWork,
) -> Response:
    """One evidence file's content, as an attachment of the type read from it at upload; or, where the files are in
    an object store that serves downloads itself, a redirect to a short-lived URL of it (after the same checks)."""
    evidence = await EvidenceRows(session).get(complaint.id, file_id)
    if evidence is None:
        raise EvidenceNotFound(f"File {file_id} was not found.")
    assert work.storage is not None
    filename = f"{evidence.id}.{EXTENSIONS[evidence.content_type]}"
    settings = work.settings
    if settings.evidence_download == "redirect":
        url = work.storage.download_url(
            evidence.storage_key, filename, evidence.content_type, settings.evidence_download_seconds
        )
        if url is not None:
            return Response(status_code=307, headers={"Location": url, "Cache-Control": "no-store"})
    try:
        content = await work.storage.load(evidence.storage_key)
    except EvidenceMissing as exc:
        raise EvidenceGone(f"File {file_id} is recorded but its content is missing from storage.") from exc
    return Response(
        content,
        media_type=evidence.content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.delete(
    "/complaints/{complaint_id}/evidence/{file_id}",
    status_code=204,
    responses=problem_responses(ComplaintNotFound, EvidenceNotFound, ActionNotAllowed, InvalidTransition),
)
async def remove_evidence(
    complaint: CurrentComplaint,
    file_id: Annotated[str, Path(pattern=ID_PATTERN)],
    caller: Caller,
    session: Session,
    desk: EvidenceService,
) -> Response:
    """Remove an evidence file: its uploader while the complaint is open, an administrator at any time. The file
    is deleted from storage and leaves every list; the timeline records the removal (evidence_removed). Removing
    a removed file again answers 204 as well (a retried request changes nothing)."""
    evidence = await EvidenceRows(session).get(complaint.id, file_id, removed=True)
    if evidence is None:
        raise EvidenceNotFound(f"File {file_id} was not found.")
    await desk.remove(complaint, caller, evidence)
    return Response(status_code=204)


# --- lifecycle actions: each a sub-resource named by the verb's noun --------------------------------
async def _act(session: Session, caller: Identity, complaint: Complaint) -> ComplaintOut:
    await session.flush()
    return await _out(session, complaint, caller)


@router.post("/complaints/{complaint_id}/intake-decisions", responses=ACTION_ERRORS)
async def decide(
    complaint: CurrentComplaint, body: IntakeDecisionIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """Accept (受理) or decline (不予受理) a complaint that waits for an official's decision."""
    return await _act(session, caller, await handling.decide(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/link-decisions",
    responses=problem_responses(
        ComplaintNotFound, LinkNotFound, ActionNotAllowed, InvalidTransition, LinkAlreadyDecided
    ),
)
async def decide_link(
    complaint: CurrentComplaint, body: LinkDecisionIn, caller: Caller, session: Session, oversight: OversightService
) -> ComplaintOut:
    """Confirm or dismiss a possible link (another account's complaint with the same phone and a similar story):
    confirmed, the later complaint is worked as the earlier and each origin hears of it through its own channel."""
    return await _act(session, caller, await oversight.decide_link(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/assignments",
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, InvalidTransition, UnknownMerchant, UnknownUnit),
)
async def assign(
    complaint: CurrentComplaint, body: AssignmentIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """Assign (派单) the complaint to its merchant, or to a handling unit of its region (by default the one the
    region's rules chose)."""
    return await _act(session, caller, await handling.assign(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/responses",
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, InvalidTransition, RefundAboveAmountInvolved),
)
async def respond(
    complaint: CurrentComplaint, body: ResponseIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """Record the merchant's or handler's response (处置) to the complaint."""
    return await _act(session, caller, await handling.respond(complaint, caller, body))


@router.post("/complaints/{complaint_id}/acceptances", responses=ACTION_ERRORS)
async def accept_response(
    complaint: CurrentComplaint, body: ConsumerVerdictIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """The complainant accepts the response; the complaint is resolved on its terms."""
    return await _act(session, caller, await handling.accept_response(complaint, caller, body))


@router.post("/complaints/{complaint_id}/rejections", responses=ACTION_ERRORS)
async def reject_response(
    complaint: CurrentComplaint, body: ConsumerVerdictIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """The complainant rejects the response; the complaint goes to official mediation."""
    return await _act(session, caller, await handling.reject_response(complaint, caller, body))


@router.post("/complaints/{complaint_id}/escalations", responses=ACTION_ERRORS)
async def escalate(
    complaint: CurrentComplaint, body: EscalationIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """Escalate to official mediation (by an official, or by the complainant once a deadline is missed)."""
    return await _act(session, caller, await handling.escalate(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/transfers",
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, InvalidTransition, UnknownRegion),
)
async def transfer(
    complaint: CurrentComplaint, body: TransferIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """Transfer (转办) the complaint to another region's handling unit."""
    return await _act(session, caller, await handling.transfer(complaint, caller, body))


@router.post("/complaints/{complaint_id}/withdrawals", responses=ACTION_ERRORS)
async def withdraw(
    complaint: CurrentComplaint, body: WithdrawalIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """The complainant withdraws (撤诉) the complaint."""
    return await _act(session, caller, await handling.withdraw(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/resolutions",
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, InvalidTransition, RefundAboveAmountInvolved),
)
async def resolve(
    complaint: CurrentComplaint, body: ResolutionIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """Record the settlement (办结): outcome, who was at fault, the amount refunded (never above the amount the
    complaint is about: 422 refund_above_amount_involved). Nothing is assumed: outcome and fault are required."""
    return await _act(session, caller, await handling.resolve(complaint, caller, body))


@router.post("/complaints/{complaint_id}/closures", responses=ACTION_ERRORS)
async def close(
    complaint: CurrentComplaint, body: ClosureIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """Close a resolved complaint."""
    return await _act(session, caller, await handling.close(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/evaluations",
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, InvalidTransition, AlreadyEvaluated),
)
async def evaluate(
    complaint: CurrentComplaint, body: EvaluationIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """The complainant's satisfaction (1-5) and comment; it closes a resolved complaint."""
    return await _act(session, caller, await handling.evaluate(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/compensation-requests",
    status_code=202,
    responses=problem_responses(
        ComplaintNotFound,
        ActionNotAllowed,
        InvalidTransition,
        NotInProgram,
        AlreadyRequested,
        CompensationWindowClosed,
        PayeeNameNotStored,
    ),
)
async def request_compensation(
    complaint: CurrentComplaint,
    body: CompensationRequestIn,
    caller: Caller,
    session: Session,
    requests: CompensationRequestService,
    request: Request,
) -> ComplaintOut:
    """Ask the platform to pay first (先行赔付): after a missed deadline or a rejected response, or by an official;
    on a closed complaint only within the region's window after closing (30 days unless the region sets another).

    Accepted for decision: the claim is opened and decided by the compensation service, and its
    progress appears on the timeline (approved, rejected, paid). `payee_name`, with `payee_name_consent`,
    is the payee's real name that WeChat Pay needs from 2,000 yuan: it goes to compensation, which keeps it
    encrypted until the claim is paid or rejected; without it a payout that needs it waits, and the tourist
    is asked for it.
    """
    complaint = await requests.request_compensation(complaint, caller, body)
    await session.flush()  # every check passed before the name leaves for compensation
    if body.payee_name is not None:
        await hand_over_payee_name(request.app, complaint, caller, body.payee_name)
    return await _out(session, complaint, caller)


@router.post(
    "/complaints/{complaint_id}/notice-links",
    tags=["notices"],
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, InvalidTransition, NotANotice, ComplaintNotFound),
)
async def link_notice(
    complaint: CurrentComplaint, body: NoticeLinkIn, caller: Caller, session: Session, notices: NoticeService
) -> ComplaintOut:
    """A public-opinion notice (涉旅信息通报单) repeats a complaint already being handled: it is worked as that
    complaint (the notice is linked, state not_accepted with reason duplicate), on both timelines."""
    return await _act(session, caller, await notices.link(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/notice-replies",
    tags=["notices"],
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, NotANotice, AlreadyReplied, TimestampsOutOfOrder),
)
async def reply_to_notice(
    complaint: CurrentComplaint, body: NoticeReplyIn, caller: Caller, session: Session, notices: NoticeService
) -> ComplaintOut:
    """Report back to the center that sent a public-opinion notice (by `reply_by`); once, on the timeline and
    announced to whoever follows the notice (`complaint.state_changed`, action `notice_replied`, data `in_time`)."""
    return await _act(session, caller, await notices.reply(complaint, caller, body))


@router.post("/complaints/{complaint_id}/callback-visits", responses=ACTION_ERRORS)
async def callback_visit(
    complaint: CurrentComplaint, body: CallbackVisitIn, caller: Caller, session: Session, handling: HandlingService
) -> ComplaintOut:
    """Record the handler's callback visit (回访) to the complainant."""
    return await _act(session, caller, await handling.callback_visit(complaint, caller, body))


# --- 退回, 延期, 督办, 合并, 重新办理 -----------------------------------------------------------------------
@router.post("/complaints/{complaint_id}/dispatch-returns", responses=ACTION_ERRORS)
async def return_to_dispatcher(
    complaint: CurrentComplaint, body: DispatchReturnIn, caller: Caller, session: Session, oversight: OversightService
) -> ComplaintOut:
    """The handler it was dispatched to (the merchant, or the region's handling unit) sends it back to its
    dispatcher with a reason (退回): state returned, unassigned, until dispatched anew. The deadlines keep running."""
    return await _act(session, caller, await oversight.return_to_dispatcher(complaint, caller, body))


@router.post(
    "/complaints/{complaint_id}/extension-requests",
    responses=problem_responses(
        ComplaintNotFound, ActionNotAllowed, InvalidTransition, ExtensionPending, DeadlineAlreadyMissed
    ),
)
async def request_extension(
    complaint: CurrentComplaint, body: ExtensionRequestIn, caller: Caller, session: Session, oversight: OversightService
) -> ComplaintOut:
    """The handler (or an official of the complaint's region) asks for more time to settle (延期申请), before the
    settlement deadline passes; a supervising official (of a region above) decides. One waits at a time."""
    await oversight.request_extension(complaint, caller, body)
    return await _act(session, caller, complaint)


@router.get("/complaints/{complaint_id}/extension-requests", responses=problem_responses(ComplaintNotFound))
async def list_extensions(complaint: CurrentComplaint, session: Session) -> list[ExtensionOut]:
    """The complaint's extension requests, oldest first: asked for, and approved (the deadline moved), rejected or
    lapsed (the complaint stopped being handled before anyone decided)."""
    return [_extension_out(r) for r in await Extensions(session).of(complaint.id)]


@router.post(
    "/complaints/{complaint_id}/extension-decisions",
    responses=problem_responses(
        ComplaintNotFound, ActionNotAllowed, InvalidTransition, NoPendingExtension, DeadlineAlreadyMissed
    ),
)
async def decide_extension(
    complaint: CurrentComplaint,
    body: ExtensionDecisionIn,
    caller: Caller,
    session: Session,
    oversight: OversightService,
) -> ComplaintOut:
    """A supervising official (of a region above the complaint's) approves the pending extension request, moving
    the settlement deadline by the hours asked, or rejects it; never one they asked for themselves."""
    await oversight.decide_extension(complaint, caller, body)
    return await _act(session, caller, complaint)


@router.post(
    "/complaints/{complaint_id}/supervision-notices",
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, InvalidTransition, SupervisionAlreadyOpen),
)
async def issue_supervision(
    complaint: CurrentComplaint,
    body: SupervisionNoticeIn,
    caller: Caller,
    session: Session,
    oversight: OversightService,
) -> ComplaintOut:
    """A province official's supervision notice (督办) to the city handling an open complaint, with its own
    deadline for the city's reply; the scheduler marks it overdue once if the reply is late. One open at a time."""
    await oversight.issue_supervision(complaint, caller, body)
    return await _act(session, caller, complaint)


@router.get(
    "/complaints/{complaint_id}/supervision-notices",
    responses=problem_responses(ComplaintNotFound, SupervisionNotAllowed),
)
async def list_supervisions(
    complaint: CurrentComplaint, caller: Caller, session: Session, request: Request
) -> list[SupervisionNoticeOut]:
    """The complaint's supervision notices and the city's replies: between officials (and admins) only."""
    if caller.role not in STAFF:
        raise SupervisionNotAllowed("Supervision notices are between the officials handling the complaint.")
    now = request.app.state.clock.now()
    return [_supervision_out(n, now) for n in await Supervisions(session).of(complaint.id)]


@router.post(
    "/complaints/{complaint_id}/supervision-replies",
    responses=problem_responses(ComplaintNotFound, ActionNotAllowed, NoOpenSupervision),
)
async def reply_supervision(
    complaint: CurrentComplaint, body: SupervisionReplyIn, caller: Caller, session: Session, oversight: OversightService
) -> ComplaintOut:
    """The city's officials answer the open supervision notice (督办回复), in time or late."""
    await oversight.reply_supervision(complaint, caller, body)
    return await _act(session, caller, complaint)


@router.post(
    "/complaints/{complaint_id}/merges",
    responses=problem_responses(
        ComplaintNotFound, ActionNotAllowed, InvalidTransition, MergeIntoItself, MergeTargetNotFound
    ),
)
async def merge(
    complaint: CurrentComplaint, body: MergeIn, caller: Caller, session: Session, oversight: OversightService
) -> ComplaintOut:
    """Merge this complaint, a duplicate, into another open one (合并), named by its id or case number: the other
    is worked for both; this one is not accepted as its duplicate, its origin hears of the other's progress, and
    it no longer counts in the merchant's credit."""
    return await _act(session, caller, await oversight.merge(complaint, caller, body))


@router.post("/complaints/{complaint_id}/reopenings", responses=ACTION_ERRORS)
async def reopen(
    complaint: CurrentComplaint, body: ReopenIn, caller: Caller, session: Session, oversight: OversightService
) -> ComplaintOut:
    """Reopen a resolved or closed complaint with a reason (重新办理): it is assigned again to whoever handled it,
    with a new settlement deadline; its resolution and rating no longer stand, and the next ones count once."""
    return await _act(session, caller, await oversight.reopen(complaint, caller, body))


def _extension_out(r: ExtensionRequest) -> ExtensionOut:
    return ExtensionOut(
        id=r.id,
        complaint_id=r.complaint_id,
        state=ExtensionState(r.state),
        extend_hours=r.extend_hours,
        reason=r.reason,
        requested_at=r.requested_at,
        requested_by_name=r.requested_by_name,
        requested_by_role=r.requested_by_role,
        due_before=r.due_before,
        due_after=r.due_after,
        decided_at=r.decided_at,
        decided_by_name=r.decided_by_name,
        decision_note=r.decision_note,
    )


def _supervision_out(n: SupervisionNotice, now: Any) -> SupervisionNoticeOut:
    answered = n.state == SupervisionState.answered
    return SupervisionNoticeOut(
        id=n.id,
        complaint_id=n.complaint_id,
        state=SupervisionState(n.state),
        from_region=n.from_region,
        to_region=n.to_region,
        note=n.note,
        issued_at=n.issued_at,
        issued_by_name=n.issued_by_name,
        reply_by=n.reply_by,
        overdue=not answered and (n.overdue or now > n.reply_by),
        replied_at=n.replied_at,
        replied_by_name=n.replied_by_name,
        reply=n.reply,
        replied_in_time=(n.replied_at <= n.reply_by) if n.replied_at else None,
    )


IMPORT_MAX_BYTES = 20_000_000


class ImportBadRow(BaseModel):
    line: int = Field(examples=[7])
    code: str = Field(examples=["unknown_region"])
    reason: str = Field(examples=["region '469999' is not served by this platform"])


class ImportReportOut(BaseModel):
    dry_run: bool
    rows: int
    imported: int = Field(description="new complaints (in a dry run: that would be made)")
    already_present: int = Field(description="rows whose channel and external id were imported before")
    bad: list[ImportBadRow]


@router.post(
    "/imports/complaints",
    tags=["imports"],
    dependencies=[require_roles(Role.official, Role.admin)],
    responses=problem_responses(ImportFileInvalid, PayloadTooLarge),
)
async def import_complaints(
    request: Request,
    file: UploadFile,
    caller: Caller,
    session: Session,
    dry_run: Annotated[bool, Query(description="check and count, write nothing")] = False,
) -> ImportReportOut:
    """Import work orders another platform exported (CSV with a header line, or JSON lines), with their own
    received/accepted/closed times, so reports and SLA figures cover history; `handling_time_reported: false`
    marks a case the source reports concluded without its handling time (not counted among 有效投诉件). One
    complaint per channel and external id, however often the file is imported; bad rows are reported by line
    and skipped."""
    state = request.app.state
    importer = Importer(session=session, clock=state.clock, regions=catalogue_of(state.settings))
    return await _import(importer, file, caller, dry_run)


async def _import(importer: RowImporter[Any], file: UploadFile, caller: Identity, dry_run: bool) -> ImportReportOut:
    """An import file read (within the size limit), its rows checked and imported, the report shaped."""
    raw = await file.read(IMPORT_MAX_BYTES + 1)
    if len(raw) > IMPORT_MAX_BYTES:
        raise PayloadTooLarge(f"Import files are limited to {IMPORT_MAX_BYTES // 1_000_000} MB; split it.")
    rows = read_rows(raw, file.filename or "import.csv", importer.columns, importer.optional)
    return _import_report(await importer.run(rows, caller, dry_run=dry_run))


def _import_report(report: ImportReport) -> ImportReportOut:
    return ImportReportOut(
        dry_run=report.dry_run,
        rows=report.rows,
        imported=report.imported,
        already_present=report.already_present,
        bad=[ImportBadRow(**b) for b in report.bad],
    )


@router.post(
    "/imports/returns",
    tags=["imports"],
    dependencies=[require_roles(Role.official, Role.admin)],
    responses=problem_responses(ImportFileInvalid, PayloadTooLarge),
)
async def import_returns(
    request: Request,
    file: UploadFile,
    caller: Caller,
    session: Session,
    dry_run: Annotated[bool, Query(description="check and count, write nothing")] = False,
) -> ImportReportOut:
    """Import return and exchange requests another platform exported (CSV with a header line, or JSON lines):
    external_id, region_code, merchant_name, goods, amount_fen, requested_at, and optionally source, channel,
    merchant_id, receipt_no, purchased_on, state (refunded, exchanged, withdrawn, rejected, referred, requested,
    escalated), concluded_at, amount_refunded_fen, handling_unit, reason; referred_to_region (a region code) and
    referred_to for a referred request; the follow-up visit: visited_at, visited_by, visit_satisfied,
    withdrawal_induced, shirking_reported (true/false, 是/否). With their own dates and outcomes, so a past
    week's returns paragraph is reproduced. One request per external id; bad rows reported by line, skipped."""
    state = request.app.state
    importer = ReturnImporter(
        session=session,
        clock=state.clock,
        regions=catalogue_of(state.settings),
        refund_hours=state.settings.return_refund_hours,
    )
    return await _import(importer, file, caller, dry_run)
