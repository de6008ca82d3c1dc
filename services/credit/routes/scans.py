"""The code, scanned ("code check", "code evaluate"): the public profile and ratings."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response

from services.credit.errors import CodeNotFound, CodeReplaced, CodeSuspended, RatingTooSoon
from services.credit.routes.api import router
from services.credit.routes.dependencies import CodeService, CodeValue
from shared.auth import Caller, require_roles
from shared.contracts.credit import PublicProfile, RatingIn, RatingOut
from shared.contracts.identity import Role
from shared.errors import problem_responses


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
