"""What credit's endpoints are given: the archive, subjects, codes and benefits over the request's session,
path parameters, the merchant lookups that answer 404 alike for "absent" and "not yours", and the shape of a
listing (the lists answer with it, and a subject's credit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from services.credit.archive import Archive
from services.credit.benefits import Benefits
from services.credit.codes import Codes
from services.credit.errors import MerchantNotFound
from services.credit.models import Listing, Merchant
from services.credit.service import Subjects
from shared.auth import may_see
from shared.contracts.common import ID_PATTERN
from shared.contracts.credit import ListingOut
from shared.contracts.identity import Identity, Role
from shared.db import Session

MerchantId = Annotated[str, Path(pattern=ID_PATTERN)]
ListingId = Annotated[str, Path(pattern=ID_PATTERN)]
SubjectId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_\-]{1,64}$")]
CodeValue = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{6,16}$")]


async def get_archive(request: Request, session: Session) -> Archive:
    state = request.app.state
    return Archive.open(session, state.clock, state.outbox, state.settings.defence_days)


async def get_subjects(request: Request, session: Session) -> Subjects:
    return Subjects(session=session, clock=request.app.state.clock, outbox=request.app.state.outbox)


async def get_codes(request: Request, session: Session, archive: Annotated[Archive, Depends(get_archive)]) -> Codes:
    return Codes(session=session, records=archive.records, public_base_url=request.app.state.settings.public_base_url)


async def get_benefits(
    request: Request, session: Session, archive: Annotated[Archive, Depends(get_archive)]
) -> Benefits:
    state = request.app.state
    return Benefits(
        session=session,
        records=archive.records,
        signer=state.signer,
        valid_seconds=state.settings.eligibility_valid_seconds,
        issuer=state.settings.public_base_url,
    )


ArchiveService = Annotated[Archive, Depends(get_archive)]
SubjectService = Annotated[Subjects, Depends(get_subjects)]
CodeService = Annotated[Codes, Depends(get_codes)]
BenefitService = Annotated[Benefits, Depends(get_benefits)]


def manages(caller: Identity, merchant: Merchant) -> bool:
    """Officials of the merchant's region, admins, and the merchant's own staff."""
    return may_see(caller, merchant=merchant.id, region=merchant.region_code) and caller.role != Role.consumer


async def visible_merchant(subjects: Subjects, merchant_id: str, caller: Identity) -> Merchant:
    """A live merchant is public; one pending or rejected only to those who manage it."""
    merchant = await subjects.get(merchant_id)
    if merchant is None or not (merchant.live or manages(caller, merchant)):
        raise MerchantNotFound(f"Merchant {merchant_id} was not found.")
    return merchant


async def managed_merchant(subjects: Subjects, merchant_id: str, caller: Identity) -> Merchant:
    merchant = await subjects.get(merchant_id)
    if merchant is None or not manages(caller, merchant):
        raise MerchantNotFound(f"Merchant {merchant_id} was not found.")
    return merchant


def listing_out(listing: Listing, names: dict[str, str] | None = None) -> ListingOut:
    out = ListingOut.model_validate(listing, from_attributes=True)
    out.subject_name = (names or {}).get(listing.subject_id)
    return out
