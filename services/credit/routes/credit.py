"""A subject's credit: score, grade and reasons, the records behind it, officials' records, outside scores."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.credit import external
from services.credit.archive import Archive
from services.credit.errors import RecordNotApplicable, ScoreOffScale, SubjectNotFound, UnknownSource
from services.credit.models import Consumer, CreditRecord, CreditScore
from services.credit.routes.api import router
from services.credit.routes.dependencies import ArchiveService, SubjectId, listing_out
from shared.auth import Caller, require_roles
from shared.contracts.common import Page
from shared.contracts.credit import (
    CreditOut,
    ExternalScoreIn,
    ExternalScoreOut,
    OfficialRecordKind,
    ReasonOut,
    RecordIn,
    RecordOut,
    ScoreChangeOut,
)
from shared.contracts.identity import Role
from shared.db import Session
from shared.errors import TimestampInFuture, problem_responses
from shared.pagination import CursorParam, Keyset, Limit, key


def record_out(record: CreditRecord, archive: Archive) -> RecordOut:
    rule = archive.records.card.records.get(record.kind)
    return RecordOut(
        id=record.id,
        subject_id=record.subject_id,
        kind=record.kind,
        label=rule.label if rule else record.kind,
        value=record.value,
        reference=record.reference,
        note=record.note,
        occurred_at=record.occurred_at,
        repaired_at=record.repaired_at,
        voided_at=record.voided_at,
        void_reason=record.void_reason,
    )


# --- scores and records ------------------------------------------------------------------------------
@router.get("/credit/{subject_id}", tags=["credit"], responses=problem_responses(SubjectNotFound))
async def get_credit(subject_id: SubjectId, archive: ArchiveService, caller: Caller, session: Session) -> CreditOut:
    """A subject's score, grade, the reasons behind it (per kind of record, after decay and caps), its
    listings and the history of its score with the cause of each change. For the subject itself
    (a consumer, a merchant's staff for it and its practitioners) and its officials."""
    ref = await archive.refs.visible_subject(subject_id, caller)
    row = await session.get(CreditScore, ref.id)
    if row is None:
        row = await archive.records.rescore(ref, cause="first look")
    listings = await archive.lists.listings_of(ref.id)
    return CreditOut(
        subject_id=ref.id,
        subject_kind=ref.kind,
        name=ref.name,
        score=row.score,
        grade=row.grade,
        scorecard=row.scorecard,
        reasons=[ReasonOut(**r) for r in row.reasons],
        figures=row.figures,
        listings=[listing_out(x, {ref.id: ref.name or ""}) for x in listings],
        history=[ScoreChangeOut.model_validate(c, from_attributes=True) for c in await archive.records.history(ref.id)],
        external_scores=[
            ExternalScoreOut.model_validate(e, from_attributes=True) for e in await external.on_file(session, ref.id)
        ],
        computed_at=row.computed_at,
    )


# Newest first, page by key: records arriving between pages never shift them.
RECORDS_NEWEST = Keyset("newest", (key(CreditRecord.occurred_at), key(CreditRecord.id)), descending=True)


@router.get("/credit/{subject_id}/records", tags=["credit"], responses=problem_responses(SubjectNotFound))
async def list_records(
    subject_id: SubjectId,
    archive: ArchiveService,
    caller: Caller,
    session: Session,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[RecordOut]:
    """The records behind a score, newest first."""
    ref = await archive.refs.visible_subject(subject_id, caller)
    query = select(CreditRecord).where(CreditRecord.subject_id == ref.id)
    rows = (await session.scalars(RECORDS_NEWEST.page(query, cursor, limit))).all()
    return Page[RecordOut](
        items=[record_out(r, archive) for r in rows[:limit]], next_cursor=RECORDS_NEWEST.next_cursor(rows, limit)
    )


@router.post(
    "/credit/{subject_id}/records",
    tags=["credit"],
    status_code=201,
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(SubjectNotFound, RecordNotApplicable, TimestampInFuture),
)
async def add_record(
    subject_id: SubjectId, body: RecordIn, archive: ArchiveService, caller: Caller, session: Session
) -> RecordOut:
    """An official's record: an inspection passed, an administrative penalty, a commendation, another
    authority's public list, a complaint found malicious, compensation fraud, or a consumer's honour
    (one of the trustworthy groups that earn benefits). The score is recomputed at once."""
    ref = await archive.refs.visible_subject(subject_id, caller)
    if body.kind == OfficialRecordKind.honour:
        consumer = await session.get(Consumer, ref.id)
        if consumer is None or not body.honour:
            raise RecordNotApplicable("An honour is recorded for a consumer, with the honour's name.")
        consumer.honours = sorted({*consumer.honours, body.honour})
    added = await archive.records.record_and_rescore(
        ref,
        [(body.kind.value, None)],
        by=caller.subject,
        reference=body.reference,
        note=body.note,
        occurred_at=body.occurred_at,
    )
    return record_out(added[0], archive)


@router.post(
    "/credit/{subject_id}/external-scores",
    tags=["credit"],
    status_code=201,
    dependencies=[require_roles(Role.admin, Role.partner, Role.service)],
    responses=problem_responses(SubjectNotFound, UnknownSource, ScoreOffScale),
)
async def push_external_score(
    subject_id: SubjectId, body: ExternalScoreIn, archive: ArchiveService, caller: Caller, session: Session
) -> ExternalScoreOut:
    """The adapter of an outside score (Sesame credit through Alipay, Hainan's 金椰分) pushes a consumer's
    score. It is kept beside the archive's own score, never in it, and never decides a listing; a
    benefit rule may accept it as a second way in while it is at most 90 days old."""
    ref = await archive.refs.visible_subject(subject_id, caller)
    if ref.kind != "consumer":
        raise RecordNotApplicable("Outside scores are kept for consumers only.")
    now = archive.records.clock.now()
    observed = body.observed_at or now
    if observed > now + timedelta(minutes=5):
        raise TimestampInFuture("An outside score cannot be observed in the future.")
    row = await external.record(session, ref.id, body.source, body.score, observed, caller.subject)
    return ExternalScoreOut.model_validate(row, from_attributes=True)
