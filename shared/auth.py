"""Short-lived signed identity tokens between the gateway and the services, and between services.

The gateway turns a user's session into a 60-second HS256 token in `X-Internal-Token`; every
service verifies it itself and refuses a request without a valid one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from sqlalchemy import ColumnElement, SQLColumnExpression, false, true

from shared.clock import system_clock
from shared.contracts.identity import Identity, Role, region_covers, region_prefix
from shared.errors import (
    Forbidden,
    InternalTokenExpired,
    InternalTokenInvalid,
    InternalTokenMissing,
    Unauthorized,
    raises,
)

INTERNAL_TOKEN_HEADER = "X-Internal-Token"
INTERNAL_AUDIENCE = "assured-tour-internal"
INTERNAL_TTL = timedelta(seconds=60)
_ALGORITHM = "HS256"


def issue_internal_token(identity: Identity, secret: str) -> str:
    """Tokens live on real time, never on the injectable domain clock: expiry is a security boundary."""
    now = system_clock.now()
    claims = identity.model_dump(mode="json", exclude_none=True)
    claims.update({"aud": INTERNAL_AUDIENCE, "iat": int(now.timestamp()), "exp": int((now + INTERNAL_TTL).timestamp())})
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_internal_token(token: str, secret: str, previous: str = "") -> Identity:
    """The identity a token carries; `previous`: the secret before a rotation, accepted while it rolls out."""
    for key in filter(None, (secret, previous)):
        try:
            claims = jwt.decode(token, key, algorithms=[_ALGORITHM], audience=INTERNAL_AUDIENCE, leeway=5)
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError as exc:
            raise InternalTokenExpired("The internal identity token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise InternalTokenInvalid("The internal identity token is not valid.") from exc
        for name in ("aud", "iat", "exp"):
            claims.pop(name, None)
        return Identity.model_validate(claims)
    raise InternalTokenInvalid("The internal identity token is not valid.")


def visible_to(
    identity: Identity,
    *,
    consumer: SQLColumnExpression[str | None] | None = None,
    merchant: SQLColumnExpression[str | None] | None = None,
    region: SQLColumnExpression[str | None] | None = None,
) -> ColumnElement[bool]:
    """The one visibility rule, as a SQL filter over a resource's owner columns: consumers see their own,
    merchant staff their merchant's, officials their region and its sub-regions, admins and services all."""
    if identity.role in (Role.admin, Role.service):
        return true()
    if identity.role == Role.consumer and consumer is not None:
        return consumer == identity.subject
    if identity.role == Role.merchant_staff and identity.merchant_id and merchant is not None:
        return merchant == identity.merchant_id
    if identity.role == Role.official and identity.region_code and region is not None:
        return region.startswith(region_prefix(identity.region_code))
    return false()


def may_see(
    identity: Identity, *, consumer: str | None = None, merchant: str | None = None, region: str | None = None
) -> bool:
    """`visible_to` for one loaded resource, given the values of its owner columns."""
    if identity.role in (Role.admin, Role.service):
        return True
    if identity.role == Role.consumer:
        return consumer is not None and consumer == identity.subject
    if identity.role == Role.merchant_staff:
        return merchant is not None and merchant == identity.merchant_id
    if identity.role == Role.official:
        return region is not None and identity.region_code is not None and region_covers(identity.region_code, region)
    return False


def service_identity(name: str) -> Identity:
    return Identity(subject=name, role=Role.service)


@raises(Unauthorized)
async def current_identity(request: Request) -> Identity:
    """The verified caller of a service request; 401 when the gateway's token is missing or bad."""
    token = request.headers.get(INTERNAL_TOKEN_HEADER)
    if not token:
        raise InternalTokenMissing("Requests must come through the gateway.")
    settings = request.app.state.settings
    return verify_internal_token(token, settings.internal_secret, settings.internal_previous_secret)


Caller = Annotated[Identity, Depends(current_identity)]


def require_roles(*roles: Role) -> Any:  # what Depends() gives: a parameter default
    @raises(Forbidden)
    async def check(identity: Caller) -> Identity:
        if identity.role not in roles:
            raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}.")
        return identity

    return Depends(check)


@raises(Forbidden)
async def service_caller(identity: Caller) -> Identity:
    if identity.role != Role.service:
        raise Forbidden("Only services may call internal routes.")
    return identity


ServiceCaller = Annotated[Identity, Depends(service_caller)]
