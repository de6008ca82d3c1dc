"""The assured consumption code (放心消费码): issued when a merchant goes live, scanned by tourists.

A code is ten characters a person can read out (no 0/O, 1/I/L); its QR image encodes
`<public_base_url>/c/<code>`, which the gateway turns into the merchant's public profile. Scanning
it is "code check"; rating through it is "code evaluate"; suspending and reissuing are "code manage".
A suspended or replaced code is refused with a problem that says which (410), never a stale profile.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import timedelta

import segno
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.archive import Records
from services.credit.errors import CodeAlreadySuspended, CodeNotFound, CodeReplaced, CodeSuspended, RatingTooSoon
from services.credit.models import AssuredCode, CreditRecord, CreditScore, Listing, Merchant
from shared.contracts.credit import PublicProfile

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
RATING_INTERVAL = timedelta(days=30)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass
class Codes:
    session: AsyncSession
    records: Records
    public_base_url: str

    def url(self, code: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/c/{code}"

    async def issue(self, merchant: Merchant, by: str, note: str | None = None) -> AssuredCode:
        code = AssuredCode(
            code=new_code(),
            merchant_id=merchant.id,
            state="active",
            issued_at=self.records.clock.now(),
            changed_by=by,
            note=note,
        )
        self.session.add(code)
        await self.session.flush()
        return code

    async def current(self, merchant_id: str) -> AssuredCode | None:
        """The merchant's active or suspended code (a reissue replaces it)."""
        return await self.session.scalar(
            select(AssuredCode)
            .where(AssuredCode.merchant_id == merchant_id, AssuredCode.state != "replaced")
            .order_by(AssuredCode.issued_at.desc())
            .limit(1)
        )

    async def require_current(self, merchant_id: str) -> AssuredCode:
        code = await self.current(merchant_id)
        if code is None:
            raise CodeNotFound(f"Merchant {merchant_id} has no code: codes are issued when a merchant goes live.")
        return code

    async def resolve(self, value: str) -> tuple[AssuredCode, Merchant]:
        """An active code and its merchant, or the problem that says why not."""
        row = (
            await self.session.execute(
                select(AssuredCode, Merchant)
                .join(Merchant, Merchant.id == AssuredCode.merchant_id)
                .where(AssuredCode.code == value.upper())
            )
        ).first()
        if row is None:
            raise CodeNotFound(f"No assured consumption code {value}.")
        code, merchant = row
        self._refuse_unless_active(code.state, merchant.live)
        return code, merchant

    @staticmethod
    def _refuse_unless_active(state: str, merchant_live: bool) -> None:
        if state == "replaced":
            raise CodeReplaced("This code was replaced by a new one: scan the code the merchant shows now.")
        if state == "suspended" or not merchant_live:
            raise CodeSuspended("This merchant's code is suspended: check with the local tourism bureau.")

    async def profile(self, value: str) -> PublicProfile:
        """The public profile behind a code, read in one statement (the most frequent public request): the
        code, its merchant, its score and its lists, one row per list it is on (or one row)."""
        rows = (
            await self.session.execute(
                select(
                    AssuredCode.code,
                    AssuredCode.state,
                    Merchant.id,
                    Merchant.name,
                    Merchant.industry,
                    Merchant.region_code,
                    Merchant.address,
                    Merchant.status,
                    Merchant.in_integrity_alliance,
                    Merchant.in_compensation_program,
                    CreditScore.grade,
                    CreditScore.figures,
                    CreditScore.computed_at,
                    Listing.list_name,
                )
                .join(Merchant, Merchant.id == AssuredCode.merchant_id)
                .outerjoin(CreditScore, CreditScore.subject_id == Merchant.id)
                .outerjoin(Listing, (Listing.subject_id == Merchant.id) & (Listing.state == "listed"))
                .where(AssuredCode.code == value.upper())
            )
        ).all()
        if not rows:
            raise CodeNotFound(f"No assured consumption code {value}.")
        first = rows[0]
        self._refuse_unless_active(first.state, first.status == "live")
        listed = {row.list_name for row in rows if row.list_name is not None}
        badges, warnings = marks(
            listed,
            in_integrity_alliance=first.in_integrity_alliance,
            in_compensation_program=first.in_compensation_program,
        )
        return PublicProfile(
            code=first.code,
            merchant_id=first.id,
            name=first.name,
            industry=first.industry,
            region_code=first.region_code,
            address=first.address,
            grade=first.grade if first.grade is not None else self.records.card.grade_of(self.records.card.base),
            badges=badges,
            warnings=warnings,
            figures=first.figures if first.figures else {"days": self.records.card.figures_days},
            rate={"method": "POST", "path": f"/v1/codes/{first.code}/ratings"},
            complain={
                "method": "POST",
                "path": "/v1/complaints",
                "miniprogram_page": f"pages/complaint/new?merchant_id={first.id}",
                "prefill": {"merchant_id": first.id, "region_code": first.region_code, "industry": first.industry},
            },
            updated_at=first.computed_at,
            grade_scale=dict(self.records.card.grades),
        )

    async def suspend(self, code: AssuredCode, by: str, note: str) -> AssuredCode:
        if code.state != "active":
            raise CodeAlreadySuspended("The code is already suspended.")
        code.state, code.changed_at, code.changed_by, code.note = "suspended", self.records.clock.now(), by, note
        return code

    async def reissue(self, merchant: Merchant, by: str, note: str) -> AssuredCode:
        """A new code for the merchant; the old one (active or suspended) answers code_replaced from now on."""
        old = await self.current(merchant.id)
        if old is not None:
            old.state, old.changed_at, old.changed_by, old.note = "replaced", self.records.clock.now(), by, note
        return await self.issue(merchant, by, note)

    async def rate(self, value: str, consumer_id: str, stars: int, comment: str | None) -> CreditRecord:
        """Code evaluate: a consumer rates the merchant, at most once in RATING_INTERVAL."""
        _, merchant = await self.resolve(value)
        now = self.records.clock.now()
        recent = await self.session.scalar(
            select(CreditRecord.id).where(
                CreditRecord.subject_id == merchant.id,
                CreditRecord.kind == "rating",
                CreditRecord.recorded_by == consumer_id,
                CreditRecord.occurred_at > now - RATING_INTERVAL,
            )
        )
        if recent is not None:
            raise RatingTooSoon("You rated this merchant in the last 30 days.")
        ref = await self.records.refs.subject(merchant.id)
        assert ref is not None
        added = await self.records.record_and_rescore(ref, [("rating", stars)], by=consumer_id, note=comment)
        return added[0]


def marks(
    listed: set[str], *, in_integrity_alliance: bool, in_compensation_program: bool
) -> tuple[list[str], list[str]]:
    """A profile's badges (the integrity alliance, the advance compensation programme, the red list) and its
    warnings (every other list it is on, by name)."""
    badges = [
        name
        for name, held in (
            ("integrity_alliance", in_integrity_alliance),
            ("advance_compensation", in_compensation_program),
            ("red_list", "red" in listed),
        )
        if held
    ]
    return badges, sorted(listed - {"red"})


def qr_image(url: str, kind: str) -> bytes:
    """The QR image of a code's URL: PNG or SVG, error correction level M, a quiet zone of 4."""
    qr = segno.make(url, error="m")
    out = io.BytesIO()
    if kind == "png":
        qr.save(out, kind="png", scale=8, border=4)
    else:
        qr.save(out, kind="svg", scale=8, border=4, xmldecl=True, svgns=True, title="放心消费码")
    return out.getvalue()
