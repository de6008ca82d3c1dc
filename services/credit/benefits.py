"""Benefits for the trustworthy (信易游): rules as data, eligibility answers, redemption once.

The rules live in data/benefits_v*.json: which grades or honours earn a benefit, at which merchants
(industries, integrity alliance), with which limit. A ticket gate or front desk asks whether a
consumer may have a benefit here and gets an answer signed with Ed25519 (signing.py: a JWS that any JOSE
library verifies with the keys at `/v1/benefits/jwks.json`, or the older form kept for one release).
Redemption checks again and is recorded once under the rule's limit (a unique key), so a second use is
refused even in a race.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit import external
from services.credit.archive import Records
from services.credit.errors import AlreadyRedeemed, BenefitNotFound, NotEligible
from services.credit.models import Consumer, Listing, Merchant, Redemption
from services.credit.scorecard import DATA
from services.credit.signing import Signer
from shared.clock import SHANGHAI
from shared.contracts.credit import Eligibility
from shared.ids import new_id


class BenefitRule(BaseModel):
    code: str
    name: str
    grades: list[str]
    honours: list[str]
    industries: list[str]
    requires_alliance: bool
    # A second way in: every outside score here at or above its threshold, for a consumer of one of
    # `external_grades` (never for a lower grade: an outside score alone earns nothing).
    external: dict[str, int] = {}
    external_grades: list[str] = []
    limit: str  # once_per_merchant, once, unlimited
    valid_from: date | None = None
    valid_until: date | None = None

    def limit_key(self, merchant_id: str, redemption_id: str) -> str:
        return {"once_per_merchant": merchant_id, "once": "-"}.get(self.limit, redemption_id)


class BenefitBook(BaseModel):
    version: str
    honour_groups: list[str]
    benefits: list[BenefitRule]

    def rule(self, code: str) -> BenefitRule:
        for rule in self.benefits:
            if rule.code == code:
                return rule
        raise BenefitNotFound(f"There is no benefit {code}; see GET /v1/benefits.")


@cache
def benefit_book() -> BenefitBook:
    newest = max(DATA.glob("benefits_v*.json"), key=lambda p: int(p.stem.removeprefix("benefits_v")))
    return BenefitBook.model_validate(json.loads(newest.read_text(encoding="utf-8")))


@dataclass
class Benefits:
    session: AsyncSession
    records: Records
    signer: Signer
    valid_seconds: int
    issuer: str

    async def reasons_against(self, rule: BenefitRule, consumer_id: str, merchant: Merchant) -> tuple[list[str], str]:
        """Why not (stable codes), and the consumer's grade; no reasons means eligible."""
        now = self.records.clock.now()
        today = now.astimezone(SHANGHAI).date()
        reasons = []
        if (rule.valid_from and today < rule.valid_from) or (rule.valid_until and today > rule.valid_until):
            reasons.append("benefit_not_in_force")
        if not merchant.live:
            reasons.append("merchant_not_live")
        if rule.industries and merchant.industry not in rule.industries:
            reasons.append("merchant_not_covered")
        if rule.requires_alliance and not merchant.in_integrity_alliance:
            reasons.append("merchant_not_in_alliance")
        grade = await self.records.grade_of(consumer_id)
        consumer = await self.session.get(Consumer, consumer_id)
        honours = set(consumer.honours if consumer else ())
        if (
            grade not in rule.grades
            and not honours & set(rule.honours)
            and not (
                rule.external
                and grade in rule.external_grades
                and _meets(await external.fresh(self.session, consumer_id, now), rule.external)
            )
        ):
            reasons.append("grade_too_low")
        if await self.session.scalar(
            select(Listing.id).where(
                Listing.subject_id == consumer_id, Listing.list_name == "dishonest", Listing.state == "listed"
            )
        ):
            reasons.append("consumer_listed_dishonest")
        if rule.limit != "unlimited" and await self.session.scalar(
            select(Redemption.id).where(
                Redemption.benefit == rule.code,
                Redemption.consumer_id == consumer_id,
                Redemption.limit_key == rule.limit_key(merchant.id, ""),
            )
        ):
            reasons.append("already_redeemed")
        return reasons, grade

    async def check(self, rule: BenefitRule, consumer_id: str, merchant: Merchant) -> dict[str, Any]:
        """The answer's fields (who, what, where, eligible or why not, until when), not yet signed."""
        reasons, grade = await self.reasons_against(rule, consumer_id, merchant)
        now = self.records.clock.now()
        return {
            "answer_id": new_id("ans"),
            "benefit": rule.code,
            "consumer_id": consumer_id,
            "merchant_id": merchant.id,
            "eligible": not reasons,
            "reasons": reasons,
            "grade": grade,
            "checked_at": _iso(now),
            "valid_until": _iso(now + timedelta(seconds=self.valid_seconds)),
            "key_id": self.signer.key_id,
        }

    def signed(self, fields: dict[str, Any]) -> Eligibility:
        """The older form: the fields with an Ed25519 signature over their canonical JSON."""
        return Eligibility(**fields, signature=self.signer.sign(fields))

    def jws(self, fields: dict[str, Any]) -> str:
        """The answer as a compact JWS (EdDSA): registered claims for who (`sub`), the answer's id (`jti`), when
        (`iat`) and until when (`exp`, which every JOSE library checks), and the answer itself."""
        claims = {
            "iss": self.issuer,
            "sub": fields["consumer_id"],
            "jti": fields["answer_id"],
            "iat": int(datetime.fromisoformat(fields["checked_at"]).timestamp()),
            "exp": int(datetime.fromisoformat(fields["valid_until"]).timestamp()),
            **{k: fields[k] for k in ("benefit", "merchant_id", "eligible", "reasons", "grade")},
        }
        return self.signer.sign_jws(claims)

    async def redeem(self, rule: BenefitRule, consumer_id: str, merchant: Merchant, by: str) -> Redemption:
        reasons, _ = await self.reasons_against(rule, consumer_id, merchant)
        if "already_redeemed" in reasons:
            raise AlreadyRedeemed(f"{rule.name} has already been used here by this consumer.")
        if reasons:
            raise NotEligible(f"Not eligible for {rule.name}: {', '.join(reasons)}.", reasons=reasons)
        redemption_id = new_id("rdm")
        redemption = Redemption(
            id=redemption_id,
            benefit=rule.code,
            consumer_id=consumer_id,
            merchant_id=merchant.id,
            limit_key=rule.limit_key(merchant.id, redemption_id),
            redeemed_by=by,
            redeemed_at=self.records.clock.now(),
        )
        self.session.add(redemption)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent redemption got the same limit first
            await self.session.rollback()
            raise AlreadyRedeemed(f"{rule.name} has already been used here by this consumer.") from exc
        return redemption


def _meets(scores: dict[str, int], thresholds: dict[str, int]) -> bool:
    return all(scores.get(source, -1) >= least for source, least in thresholds.items())


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
