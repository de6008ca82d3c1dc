"""Merchants settle in and are reviewed; practitioners are registered for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from sqlalchemy import select

from services.credit.errors import (
    AlreadyReviewed,
    LicenceTaken,
    MerchantExists,
    MerchantNotFound,
    PractitionerNotFound,
    UsccTaken,
)
from services.credit.models import CreditScore, Licence, Merchant, Practitioner
from services.credit.routes.api import router
from services.credit.routes.dependencies import (
    CodeService,
    MerchantId,
    SubjectService,
    managed_merchant,
    manages,
    visible_merchant,
)
from services.credit.service import MERCHANTS_BY_NAME
from shared.auth import Caller, may_see, require_roles
from shared.contracts.common import ID_PATTERN, TEXT_QUERY_PATTERN, Industry, Page
from shared.contracts.identity import Identity, Role
from shared.contracts.merchants import (
    ContactOut,
    LicenceOut,
    MerchantIn,
    MerchantOut,
    MerchantStatus,
    PractitionerIn,
    PractitionerKind,
    PractitionerOut,
    ReviewIn,
)
from shared.db import Session
from shared.errors import Forbidden, problem_responses
from shared.logging import mask_phone
from shared.pagination import CursorParam, Limit


async def merchant_out(session: Session, merchants: list[Merchant], caller: Identity) -> list[MerchantOut]:
    """Merchants with their licences and grades (two queries for the page); contact phones are masked
    for everyone but the merchant and the officials over it."""
    ids = [m.id for m in merchants]
    licences: dict[str, list[LicenceOut]] = {}
    for lic in await session.scalars(select(Licence).where(Licence.merchant_id.in_(ids)).order_by(Licence.id)):
        licences.setdefault(lic.merchant_id, []).append(
            LicenceOut(kind=lic.kind, number=lic.number, valid_until=lic.valid_until)
        )
    grades = dict(
        (
            await session.execute(
                select(CreditScore.subject_id, CreditScore.grade).where(CreditScore.subject_id.in_(ids))
            )
        ).all()
    )
    out = []
    for m in merchants:
        full = manages(caller, m)
        out.append(
            MerchantOut(
                id=m.id,
                name=m.name,
                uscc=m.uscc,
                region_code=m.region_code,
                industry=Industry(m.industry),
                address=m.address,
                status=MerchantStatus(m.status),
                licences=licences.get(m.id, []),
                contacts=[
                    ContactOut(
                        name=c["name"], phone=c["phone"] if full else mask_phone(c["phone"]) or "", role=c.get("role")
                    )
                    for c in m.contacts or []
                ],
                in_compensation_program=m.in_compensation_program,
                in_integrity_alliance=m.in_integrity_alliance,
                grade=grades.get(m.id),
                reviewed_at=m.reviewed_at,
                review_note=m.review_note if full else None,
                revision=m.revision,
                created_at=m.created_at,
                updated_at=m.updated_at,
            )
        )
    return out


@router.post(
    "/merchants",
    tags=["merchants"],
    status_code=201,
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(Forbidden, MerchantExists, UsccTaken, LicenceTaken),
)
async def settle_in(body: MerchantIn, subjects: SubjectService, caller: Caller, session: Session) -> MerchantOut:
    """Settle a merchant in (入驻). It waits for an official's review before it is live; intake and
    compensation learn of it through subject.registered."""
    if caller.role == Role.official and not may_see(caller, region=body.region_code):
        raise Forbidden("Officials settle merchants in within their own region.")
    return (await merchant_out(session, [await subjects.settle_in(body)], caller))[0]


@router.post(
    "/merchants/{merchant_id}/reviews",
    tags=["merchants"],
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(MerchantNotFound, AlreadyReviewed),
)
async def review_merchant(
    merchant_id: MerchantId,
    body: ReviewIn,
    subjects: SubjectService,
    codes: CodeService,
    caller: Caller,
    session: Session,
) -> MerchantOut:
    """An official approves the merchant (it goes live, gets its assured consumption code, and
    subject.updated tells intake and compensation) or rejects it."""
    merchant = await managed_merchant(subjects, merchant_id, caller)
    await subjects.review(merchant, body, caller)
    if merchant.live:
        await codes.issue(merchant, caller.subject, note="入驻审核通过")
    return (await merchant_out(session, [merchant], caller))[0]


@router.get("/merchants", tags=["merchants"], responses=problem_responses(Forbidden))
async def search_merchants(
    subjects: SubjectService,
    caller: Caller,
    session: Session,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT_QUERY_PATTERN)] = None,
    status: Annotated[
        MerchantStatus, Query(description="pending and rejected: officials and admins only")
    ] = MerchantStatus.live,
    limit: Limit = 20,
    cursor: CursorParam = None,
) -> Page[MerchantOut]:
    """Merchants by region and name: live ones are what a tourist picks from when complaining;
    officials also find those waiting for review."""
    if status != MerchantStatus.live and caller.role not in (Role.admin, Role.official):
        raise Forbidden("Only officials see merchants that are not live.")
    if caller.role == Role.official and status != MerchantStatus.live:
        region_code = region_code if region_code and may_see(caller, region=region_code) else caller.region_code
    rows = await subjects.search(region_code=region_code, name=name, status=status.value, cursor=cursor, limit=limit)
    return Page[MerchantOut](
        items=await merchant_out(session, rows[:limit], caller), next_cursor=MERCHANTS_BY_NAME.next_cursor(rows, limit)
    )


@router.get("/merchants/{merchant_id}", tags=["merchants"], responses=problem_responses(MerchantNotFound))
async def get_merchant(
    merchant_id: MerchantId, subjects: SubjectService, caller: Caller, session: Session
) -> MerchantOut:
    """One merchant's record; contact phones masked for all but the merchant and its officials."""
    return (await merchant_out(session, [await visible_merchant(subjects, merchant_id, caller)], caller))[0]


def practitioner_out(p: Practitioner, caller: Identity, grade: str | None) -> PractitionerOut:
    full = may_see(caller, merchant=p.merchant_id, region=p.region_code) and caller.role != Role.consumer
    return PractitionerOut(
        id=p.id,
        name=p.name,
        kind=PractitionerKind(p.kind),
        licence_number=p.licence_number,
        merchant_id=p.merchant_id,
        region_code=p.region_code,
        phone=p.phone if full else mask_phone(p.phone),
        grade=grade,
        created_at=p.created_at,
    )


@router.post(
    "/practitioners",
    status_code=201,
    tags=["merchants", "practitioners"],
    dependencies=[require_roles(Role.admin, Role.official, Role.merchant_staff)],
    responses=problem_responses(MerchantNotFound, LicenceTaken),
)
async def register_practitioner(body: PractitionerIn, subjects: SubjectService, caller: Caller) -> PractitionerOut:
    """Register a tour guide, driver or tour leader for a merchant: by its staff or its officials."""
    merchant = await managed_merchant(subjects, body.merchant_id, caller)
    return practitioner_out(await subjects.register_practitioner(body, merchant), caller, None)


@router.get(
    "/practitioners/{practitioner_id}",
    tags=["merchants", "practitioners"],
    responses=problem_responses(PractitionerNotFound),
)
async def get_practitioner(
    practitioner_id: Annotated[str, Path(pattern=ID_PATTERN)], session: Session, caller: Caller
) -> PractitionerOut:
    """A practitioner's record: tourists may check a guide's licence; the phone is masked for them."""
    p = await session.get(Practitioner, practitioner_id)
    if p is None:
        raise PractitionerNotFound(f"Practitioner {practitioner_id} was not found.")
    score = await session.get(CreditScore, p.id)
    return practitioner_out(p, caller, score.grade if score else None)
