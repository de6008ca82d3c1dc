"""Credit's archive endpoints: scores and records, lists, repair, benefits, and the public code profile."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from sqlalchemy import select

from services.credit import external
from services.credit.archive import (
    LISTINGS_NEWEST,
    DurationOutOfBounds,
    FutureTimestamp,
    ListingNotFound,
    RecordNotApplicable,
    RepairNotFound,
    SubjectNotFound,
)
from services.credit.benefits import AlreadyRedeemed, BenefitNotFound, Benefits, NotEligible, benefit_book
from services.credit.codes import CodeNotFound, CodeReplaced, CodeSuspended, RatingTooSoon
from services.credit.models import Consumer, CreditRecord, CreditScore, Listing, Merchant, Practitioner
from services.credit.router import ArchiveService, CodeService, manages
from services.credit.service import MerchantNotFound
from shared.auth import Caller, require_roles
from shared.contracts.common import ID_PATTERN, Page
from shared.contracts.credit import (
    BenefitRuleOut,
    CreditOut,
    DefenceIn,
    Eligibility,
    ExternalScoreIn,
    ExternalScoreOut,
    Jwks,
    ListingDecisionIn,
    ListingOut,
    ListName,
    NoticeIn,
    OfficialRecordKind,
    PublicProfile,
    RatingIn,
    RatingOut,
    ReasonOut,
    RecordIn,
    RecordOut,
    RedemptionIn,
    RedemptionOut,
    RepairDecisionIn,
    RepairIn,
    RepairOut,
    ScoreChangeOut,
    SigningKey,
)
from shared.contracts.identity import Identity, Role
from shared.db import Session
from shared.errors import Conflict, Forbidden, InvalidTransition, problem_responses
from shared.pagination import CursorParam, Keyset, Limit, key

router = APIRouter(prefix="/v1")
JWT_MEDIA_TYPE = "application/jwt"
SubjectId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_\-]{1,64}$")]
CodeValue = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{6,16}$")]


def listing_out(listing: Listing, names: dict[str, str] | None = None) -> ListingOut:
    out = ListingOut.model_validate(listing, from_attributes=True)
    out.subject_name = (names or {}).get(listing.subject_id)
    return out


async def subject_names(session: Session, listings: list[Listing], caller: Identity) -> dict[str, str]:
    """Merchants by name; practitioners' names masked (张*) for the public; consumers never named."""
    ids = {lst.subject_id for lst in listings}
    names = dict((await session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids)))).all())
    official = caller.role in (Role.admin, Role.official)
    for pid, name in (
        await session.execute(select(Practitioner.id, Practitioner.name).where(Practitioner.id.in_(ids)))
    ).all():
        names[pid] = name if official else name[:1] + "*" * (len(name) - 1)
    return names


def record_out(record: CreditRecord, archive: ArchiveService) -> RecordOut:
    rule = archive.card.records.get(record.kind)
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
    ref = await archive.visible_subject(subject_id, caller)
    row = await session.get(CreditScore, ref.id)
    if row is None:
        row = await archive.rescore(ref, cause="first look")
    listings = await archive.listings_of(ref.id)
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
        history=[ScoreChangeOut.model_validate(c, from_attributes=True) for c in await archive.history(ref.id)],
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
    ref = await archive.visible_subject(subject_id, caller)
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
    responses=problem_responses(SubjectNotFound, RecordNotApplicable, FutureTimestamp),
)
async def add_record(
    subject_id: SubjectId, body: RecordIn, archive: ArchiveService, caller: Caller, session: Session
) -> RecordOut:
    """An official's record: an inspection passed, an administrative penalty, a commendation, another
    authority's public list, a complaint found malicious, compensation fraud, or a consumer's honour
    (one of the trustworthy groups that earn benefits). The score is recomputed at once."""
    ref = await archive.visible_subject(subject_id, caller)
    if body.kind == OfficialRecordKind.honour:
        consumer = await session.get(Consumer, ref.id)
        if consumer is None or not body.honour:
            raise RecordNotApplicable("An honour is recorded for a consumer, with the honour's name.")
        consumer.honours = sorted({*consumer.honours, body.honour})
    added = await archive.record_and_rescore(
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
    responses=problem_responses(SubjectNotFound, external.UnknownSource, external.ScoreOffScale),
)
async def push_external_score(
    subject_id: SubjectId, body: ExternalScoreIn, archive: ArchiveService, caller: Caller, session: Session
) -> ExternalScoreOut:
    """The adapter of an outside score (Sesame credit through Alipay, Hainan's 金椰分) pushes a consumer's
    score. It is kept beside the archive's own score, never in it, and never decides a listing; a
    benefit rule may accept it as a second way in while it is at most 90 days old."""
    ref = await archive.visible_subject(subject_id, caller)
    if ref.kind != "consumer":
        raise RecordNotApplicable("Outside scores are kept for consumers only.")
    now = archive.clock.now()
    observed = body.observed_at or now
    if observed > now + timedelta(minutes=5):
        raise FutureTimestamp("An outside score cannot be observed in the future.")
    row = await external.record(session, ref.id, body.source, body.score, observed, caller.subject)
    return ExternalScoreOut.model_validate(row, from_attributes=True)


# --- lists -----------------------------------------------------------------------------------------
@router.get("/lists/{list_name}", tags=["lists"])
async def get_list(
    list_name: ListName,
    archive: ArchiveService,
    caller: Caller,
    session: Session,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[ListingOut]:
    """Who is on a list now: public for merchants (and practitioners, their names masked); officials
    also see consumers."""
    rows = await archive.listed(list_name, caller, cursor=cursor, limit=limit)
    names = await subject_names(session, rows[:limit], caller)
    return Page[ListingOut](
        items=[listing_out(x, names) for x in rows[:limit]], next_cursor=LISTINGS_NEWEST.next_cursor(rows, limit)
    )


@router.post(
    "/lists/{list_name}/notices",
    tags=["lists"],
    status_code=201,
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(SubjectNotFound, Conflict, DurationOutOfBounds),
)
async def open_notice(list_name: ListName, body: NoticeIn, archive: ArchiveService, caller: Caller) -> ListingOut:
    """Put a subject on notice for the key-supervision or dishonest list: it is told and has the defence
    period to state its case; unanswered, it is listed when the period ends."""
    ref = await archive.visible_subject(body.subject_id, caller)
    listing = await archive.open_notice(
        ref, list_name, reason=body.reason, basis=[], by=caller.subject, duration_days=body.duration_days
    )
    return listing_out(listing, {ref.id: ref.name or ""})


ListingId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("/listings/{listing_id}", tags=["lists"], responses=problem_responses(ListingNotFound))
async def get_listing(listing_id: ListingId, archive: ArchiveService, caller: Caller) -> ListingOut:
    listing, ref = await archive.listing(listing_id, caller)
    return listing_out(listing, {ref.id: ref.name or ""})


@router.post(
    "/listings/{listing_id}/defence",
    tags=["lists"],
    responses=problem_responses(ListingNotFound, InvalidTransition, Conflict),
)
async def state_defence(listing_id: ListingId, body: DefenceIn, archive: ArchiveService, caller: Caller) -> ListingOut:
    """The subject states its case (陈述申辩) within the defence period; an official then decides."""
    listing, ref = await archive.listing(listing_id, caller)
    return listing_out(await archive.defend(listing, ref, caller, body.statement), {ref.id: ref.name or ""})


@router.post(
    "/listings/{listing_id}/decisions",
    tags=["lists"],
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(ListingNotFound, InvalidTransition, Conflict),
)
async def decide_listing(
    listing_id: ListingId, body: ListingDecisionIn, archive: ArchiveService, caller: Caller
) -> ListingOut:
    """List now (the defence does not hold), withdraw the notice (it does), or remove a listing early
    once its minimum publication period is over."""
    listing, ref = await archive.listing(listing_id, caller)
    if not ref.visible_to(caller):
        raise ListingNotFound(f"No listing {listing_id} that you may see.")
    return listing_out(await archive.decide(listing, caller, body.decision, body.note), {ref.id: ref.name or ""})


# --- repair ----------------------------------------------------------------------------------------
@router.post(
    "/credit-repairs",
    tags=["repair"],
    status_code=201,
    responses=problem_responses(ListingNotFound, InvalidTransition, Conflict),
)
async def apply_for_repair(body: RepairIn, archive: ArchiveService, caller: Caller) -> RepairOut:
    """The listed subject applies for credit repair (信用修复) with evidence of rectification, once the
    minimum publication period is over."""
    listing, ref = await archive.listing(body.listing_id, caller)
    repair = await archive.apply_for_repair(listing, ref, caller, body.statement, body.evidence)
    return RepairOut.model_validate(repair, from_attributes=True)


@router.get("/credit-repairs/{repair_id}", tags=["repair"], responses=problem_responses(RepairNotFound))
async def get_repair(
    repair_id: Annotated[str, Path(pattern=ID_PATTERN)], archive: ArchiveService, caller: Caller
) -> RepairOut:
    return RepairOut.model_validate(await archive.repair(repair_id, caller), from_attributes=True)


@router.post(
    "/credit-repairs/{repair_id}/decisions",
    tags=["repair"],
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(RepairNotFound, InvalidTransition),
)
async def decide_repair(
    repair_id: Annotated[str, Path(pattern=ID_PATTERN)], body: RepairDecisionIn, archive: ArchiveService, caller: Caller
) -> RepairOut:
    """Approved: the listing ends, the records behind it stop counting against the score (the history
    keeps both), and the score is recomputed. Rejected: the listing stays."""
    repair = await archive.repair(repair_id, caller)
    ref = await archive.subject(repair.subject_id)
    if ref is None or not ref.visible_to(caller):
        raise RepairNotFound(f"No repair application {repair_id} that you may see.")
    repair = await archive.decide_repair(repair, caller, body.decision == "approve", body.note)
    return RepairOut.model_validate(repair, from_attributes=True)


# --- benefits --------------------------------------------------------------------------------------
async def get_benefits(request: Request, session: Session, archive: ArchiveService) -> Benefits:
    state = request.app.state
    return Benefits(
        session=session,
        archive=archive,
        signer=state.signer,
        valid_seconds=state.settings.eligibility_valid_seconds,
        issuer=state.settings.public_base_url,
    )


BenefitService = Annotated[Benefits, Depends(get_benefits)]


@router.get("/benefits", tags=["benefits"])
async def list_benefits(caller: Caller) -> list[BenefitRuleOut]:
    """The benefit rules in force (信易游): who earns what, where, how often."""
    return [BenefitRuleOut(**rule.model_dump(mode="json")) for rule in benefit_book().benefits]


@router.get("/benefits/signing-key", tags=["benefits"], deprecated=True)
async def signing_key(request: Request, caller: Caller) -> SigningKey:
    """The public key of the older form of eligibility answers (Ed25519 over canonical JSON); kept for one
    release: verify the JWS form with the keys at /v1/benefits/jwks.json instead."""
    return request.app.state.signer.published()


@router.get(
    "/benefits/jwks.json",
    tags=["benefits"],
    response_model=Jwks,
    # The media type the set is sent as, with the schema response_model puts in the components.
    responses={200: {"content": {"application/jwk-set+json": {"schema": {"$ref": "#/components/schemas/Jwks"}}}}},
)
async def benefit_keys(request: Request, caller: Caller) -> Response:
    """The keys that sign eligibility answers, as a JSON Web Key Set (RFC 7517): the current key first, then the
    keys it replaced, each with its `kid`. A gate caches it and fetches it again when an answer names an unknown
    `kid` (PyJWT's PyJWKClient, jose, nimbus and the like do this themselves)."""
    return Response(
        json.dumps(request.app.state.signer.jwks()),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def _benefit_merchant(session: Session, merchant_id: str, caller: Identity) -> Merchant:
    """A live merchant, or one not yet live to those who manage it: others learn nothing of it."""
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None or not (merchant.live or manages(caller, merchant)):
        raise MerchantNotFound(f"Merchant {merchant_id} was not found.")
    return merchant


def _may_ask(caller: Identity, consumer_id: str, merchant: Merchant) -> bool:
    if caller.role == Role.consumer:
        return caller.subject == consumer_id
    return caller.role == Role.partner or manages(caller, merchant)


@router.get(
    "/benefits/eligibility",
    tags=["benefits"],
    response_model=Eligibility,
    responses={
        200: {
            "content": {
                JWT_MEDIA_TYPE: {
                    "schema": {"type": "string", "description": "a compact JWS, EdDSA"},
                    "example": "eyJhbGciOiJFZERTQSIsImtpZCI6IjNmOWMyYTFiOGU0ZDdjNjAiLCJ0eXAiOiJKV1QifQ.eyJpc3Mi...",
                }
            }
        },
        **problem_responses(BenefitNotFound, MerchantNotFound, Forbidden),
    },
)
async def eligibility(
    benefits: BenefitService,
    caller: Caller,
    session: Session,
    consumer: Annotated[str, Query(pattern=r"^[0-9A-Za-z_\-]{1,64}$", description="the consumer's platform id")],
    benefit: Annotated[str, Query(pattern=r"^[a-z_]{2,40}$", examples=["free_first_ticket"])],
    merchant: Annotated[str, Query(pattern=r"^mer_[0-9A-Z]{26}$")],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """May this consumer have this benefit here? A signed answer with the reasons when not. Asked by
    the consumer, the merchant's staff (the ticket gate, the front desk), its officials or a partner.
    With `Accept: application/jwt` the answer is a compact JWS (EdDSA; claims `sub` the consumer, `jti` the
    answer's id, `iat`, `exp`, `iss`, and `benefit`, `merchant_id`, `eligible`, `reasons`, `grade`) that any JOSE
    library verifies with the keys at /v1/benefits/jwks.json. Otherwise the older form (deprecated, kept for
    one release): JSON with an Ed25519 `signature` over its canonical JSON."""
    rule = benefit_book().rule(benefit)
    where = await _benefit_merchant(session, merchant, caller)
    if not _may_ask(caller, consumer, where):
        raise Forbidden("Only the consumer, the merchant or its officials may ask.")
    fields = await benefits.check(rule, consumer, where)
    if accept and JWT_MEDIA_TYPE in accept:
        return Response(benefits.jws(fields), media_type=JWT_MEDIA_TYPE)
    return benefits.signed(fields)


@router.post(
    "/benefits/redemptions",
    tags=["benefits"],
    status_code=201,
    dependencies=[require_roles(Role.admin, Role.official, Role.merchant_staff, Role.partner)],
    responses=problem_responses(BenefitNotFound, MerchantNotFound, NotEligible, AlreadyRedeemed),
)
async def redeem(body: RedemptionIn, benefits: BenefitService, caller: Caller, session: Session) -> RedemptionOut:
    """The merchant records that the consumer used the benefit; within the rule's limit only (a free first
    ticket once per consumer per scenic spot): a second time is benefit_already_redeemed."""
    rule = benefit_book().rule(body.benefit)
    merchant = await _benefit_merchant(session, body.merchant_id, caller)
    if not _may_ask(caller, body.consumer_id, merchant):
        raise Forbidden("Only the merchant or its officials record a redemption.")
    redemption = await benefits.redeem(rule, body.consumer_id, merchant, caller.subject)
    return RedemptionOut.model_validate(redemption, from_attributes=True)


# --- the code, scanned ("code check", "code evaluate") --------------------------------------------
@router.get(
    "/codes/{code}",
    tags=["codes"],
    response_model=PublicProfile,
    responses={
        **problem_responses(CodeNotFound, CodeSuspended, CodeReplaced),
        304: {"description": "Not modified: the profile is still the one whose ETag was sent in If-None-Match"},
    },
)
async def code_profile(code: CodeValue, codes: CodeService, caller: Caller, request: Request) -> Response:
    """What a tourist sees after scanning a merchant's code: name, grade, badges, complaint and response
    figures, and where to rate it or complain about it with the merchant filled in. No personal data.

    The answer carries an `ETag` and a short public `Cache-Control` (CREDIT_CODE_PROFILE_MAX_AGE_SECONDS), so a
    CDN or the ingress may serve repeats: a code suspended or replaced answers 410 within that age at the
    latest, since every cached copy is asked again (If-None-Match, answered 304 while nothing changed) once
    it is older."""
    body = (await codes.profile(code)).model_dump_json().encode()
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    max_age = request.app.state.settings.code_profile_max_age_seconds
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
    asked = {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}
    if tag in asked or "*" in asked:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.post(
    "/codes/{code}/ratings",
    tags=["codes"],
    status_code=201,
    dependencies=[require_roles(Role.consumer)],
    responses=problem_responses(CodeNotFound, CodeSuspended, CodeReplaced, RatingTooSoon),
)
async def rate(code: CodeValue, body: RatingIn, codes: CodeService, caller: Caller) -> RatingOut:
    """Rate the merchant through its code (1-5 stars), once in 30 days; it counts in its credit."""
    record = await codes.rate(code, caller.subject, body.stars, body.comment)
    return RatingOut(id=record.id, merchant_id=record.subject_id, stars=body.stars, occurred_at=record.occurred_at)
