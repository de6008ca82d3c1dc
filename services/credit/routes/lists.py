"""The lists: who is on them, notices, the subject's defence and the official's decision."""

from __future__ import annotations

from sqlalchemy import select

from services.credit.errors import (
    AlreadyOnList,
    DefenceAlreadyStated,
    DefencePeriodOver,
    DurationOutOfBounds,
    ListingNotFound,
    ListIsAutomatic,
    MinimumPeriodNotOver,
    NotOnNotice,
    NotRemovable,
    RecordNotApplicable,
    SubjectNotFound,
)
from services.credit.lists import LISTINGS_NEWEST
from services.credit.models import Listing, Merchant, Practitioner
from services.credit.routes.api import router
from services.credit.routes.dependencies import ArchiveService, ListingId, listing_out
from shared.auth import Caller, require_roles
from shared.contracts.common import Page
from shared.contracts.credit import DefenceIn, ListingDecisionIn, ListingOut, ListName, NoticeIn
from shared.contracts.identity import Identity, Role
from shared.db import Session
from shared.errors import problem_responses
from shared.pagination import CursorParam, Limit


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
    rows = await archive.lists.listed(list_name, caller, cursor=cursor, limit=limit)
    names = await subject_names(session, rows[:limit], caller)
    return Page[ListingOut](
        items=[listing_out(x, names) for x in rows[:limit]], next_cursor=LISTINGS_NEWEST.next_cursor(rows, limit)
    )


@router.post(
    "/lists/{list_name}/notices",
    tags=["lists"],
    status_code=201,
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(
        SubjectNotFound, ListIsAutomatic, AlreadyOnList, RecordNotApplicable, DurationOutOfBounds
    ),
)
async def open_notice(list_name: ListName, body: NoticeIn, archive: ArchiveService, caller: Caller) -> ListingOut:
    """Put a subject on notice for the key-supervision or dishonest list: it is told and has the defence
    period to state its case; unanswered, it is listed when the period ends."""
    ref = await archive.refs.visible_subject(body.subject_id, caller)
    listing = await archive.lists.open_notice(
        ref, list_name, reason=body.reason, basis=[], by=caller.subject, duration_days=body.duration_days
    )
    return listing_out(listing, {ref.id: ref.name or ""})


@router.get("/listings/{listing_id}", tags=["lists"], responses=problem_responses(ListingNotFound))
async def get_listing(listing_id: ListingId, archive: ArchiveService, caller: Caller) -> ListingOut:
    listing, ref = await archive.lists.listing(listing_id, caller)
    return listing_out(listing, {ref.id: ref.name or ""})


@router.post(
    "/listings/{listing_id}/defence",
    tags=["lists"],
    responses=problem_responses(ListingNotFound, NotOnNotice, DefenceAlreadyStated, DefencePeriodOver),
)
async def state_defence(listing_id: ListingId, body: DefenceIn, archive: ArchiveService, caller: Caller) -> ListingOut:
    """The subject states its case (陈述申辩) within the defence period; an official then decides."""
    listing, ref = await archive.lists.listing(listing_id, caller)
    return listing_out(await archive.lists.defend(listing, ref, caller, body.statement), {ref.id: ref.name or ""})


@router.post(
    "/listings/{listing_id}/decisions",
    tags=["lists"],
    dependencies=[require_roles(Role.admin, Role.official)],
    responses=problem_responses(ListingNotFound, NotOnNotice, NotRemovable, MinimumPeriodNotOver),
)
async def decide_listing(
    listing_id: ListingId, body: ListingDecisionIn, archive: ArchiveService, caller: Caller
) -> ListingOut:
    """List now (the defence does not hold), withdraw the notice (it does), or remove a listing early
    once its minimum publication period is over."""
    listing, ref = await archive.lists.listing(listing_id, caller)
    if not ref.visible_to(caller):
        raise ListingNotFound(f"No listing {listing_id} that you may see.")
    return listing_out(await archive.lists.decide(listing, caller, body.decision, body.note), {ref.id: ref.name or ""})
