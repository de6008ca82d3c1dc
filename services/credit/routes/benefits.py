"""Benefits for the trustworthy (信易游): the rules, the signing keys, eligibility and redemption."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Header, Query, Request, Response

from services.credit.benefits import benefit_book
from services.credit.errors import AlreadyRedeemed, BenefitNotFound, MerchantNotFound, NotEligible
from services.credit.models import Merchant
from services.credit.routes.api import router
from services.credit.routes.dependencies import BenefitService, SubjectService, manages, visible_merchant
from services.credit.signing import Signer
from shared.auth import Caller, require_roles
from shared.contracts.credit import BenefitRuleOut, Eligibility, Jwks, RedemptionIn, RedemptionOut, SigningKey
from shared.contracts.identity import Identity, Role
from shared.errors import Forbidden, problem_responses

JWT_MEDIA_TYPE = "application/jwt"


@router.get("/benefits", tags=["benefits"])
async def list_benefits(caller: Caller) -> list[BenefitRuleOut]:
    """The benefit rules in force (信易游): who earns what, where, how often."""
    return [BenefitRuleOut(**rule.model_dump(mode="json")) for rule in benefit_book().benefits]


@router.get("/benefits/signing-key", tags=["benefits"], deprecated=True)
async def signing_key(request: Request, caller: Caller) -> SigningKey:
    """The public key of the older form of eligibility answers (Ed25519 over canonical JSON); kept for one
    release: verify the JWS form with the keys at /v1/benefits/jwks.json instead."""
    signer: Signer = request.app.state.signer
    return signer.published()


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
    subjects: SubjectService,
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
    where = await visible_merchant(subjects, merchant, caller)
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
async def redeem(
    body: RedemptionIn, benefits: BenefitService, caller: Caller, subjects: SubjectService
) -> RedemptionOut:
    """The merchant records that the consumer used the benefit; within the rule's limit only (a free first
    ticket once per consumer per scenic spot): a second time is benefit_already_redeemed."""
    rule = benefit_book().rule(body.benefit)
    merchant = await visible_merchant(subjects, body.merchant_id, caller)
    if not _may_ask(caller, body.consumer_id, merchant):
        raise Forbidden("Only the merchant or its officials record a redemption.")
    redemption = await benefits.redeem(rule, body.consumer_id, merchant, caller.subject)
    return RedemptionOut.model_validate(redemption, from_attributes=True)
