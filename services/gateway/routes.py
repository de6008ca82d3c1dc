"""The gateway's own endpoints (logins, sessions, me) and the proxy to the services behind it."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from services.gateway.auth import Authenticator, unlock_staff
from services.gateway.errors import (
    BodyNotAllowed,
    InvalidCredentials,
    InvalidToken,
    LoginCodeInvalid,
    LoginLocked,
    LoginNotEnabled,
    ProviderCredentialsRejected,
    ProviderSignatureInvalid,
    ProviderUnavailable,
    RouteNotFound,
    TokenMissing,
)
from services.gateway.models import LoginAudit
from shared.clock import system_clock
from shared.contracts.auth import (
    AlipayLoginIn,
    LoginEventOut,
    Me,
    MiniProgramLoginIn,
    RefreshIn,
    StaffLoginIn,
    TokenPair,
    WeChatLoginIn,
)
from shared.contracts.common import TEXT_QUERY_PATTERN
from shared.contracts.identity import Identity, Role
from shared.db import Session
from shared.errors import Forbidden, TooManyRequests, problem_responses

log = logging.getLogger("gateway.routes")

# Public paths and the service that serves them; the first match wins ("*" is one path segment,
# and a route covers everything below it).
ROUTES: tuple[tuple[str, str], ...] = (
    ("/v1/complaints", "intake"),
    ("/v1/regions", "intake"),
    ("/v1/industries", "intake"),
    ("/v1/returns", "intake"),
    ("/v1/imports", "intake"),
    ("/v1/reports/complaints", "intake"),
    ("/v1/reports/fund-statements", "compensation"),
    ("/v1/public/figures", "intake"),
    ("/v1/merchants/*/deposit", "compensation"),
    ("/v1/merchants", "credit"),
    ("/v1/practitioners", "credit"),
    ("/v1/credit", "credit"),
    ("/v1/credit-repairs", "credit"),
    ("/v1/lists", "credit"),
    ("/v1/listings", "credit"),
    ("/v1/benefits", "credit"),
    ("/v1/codes", "credit"),
    ("/v1/funds", "compensation"),
    ("/v1/claims", "compensation"),
    ("/v1/recoveries", "compensation"),
    ("/v1/compensation-rules", "compensation"),
    ("/v1/reconciliations", "compensation"),
    ("/v1/payout-providers", "compensation"),
    ("/v1/compensation", "compensation"),
    ("/v1/ledger", "compensation"),
)
# Served without a login: catalogues a mini-program shows before the user signs in, the public lists,
# and the profile behind a scanned assured consumption code ("*" is exactly one path segment here).
ANONYMOUS = frozenset(
    {
        ("GET", "/v1/regions"),
        ("GET", "/v1/regions/*"),
        ("GET", "/v1/industries"),
        ("GET", "/v1/public/figures"),
        ("GET", "/v1/codes/*"),
        ("GET", "/v1/lists/*"),
        ("GET", "/v1/benefits"),
        ("GET", "/v1/benefits/signing-key"),
        ("GET", "/v1/benefits/jwks.json"),
    }
)
PUBLIC_IDENTITY = Identity(subject="anonymous", role=Role.public)
GATEWAY_IDENTITY = Identity(subject="gateway", role=Role.service)
_FORWARD_REQUEST = ("content-type", "content-length", "accept", "accept-language", "idempotency-key", "if-none-match")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_FORWARD_RESPONSE = (
    "content-type",
    "content-disposition",
    "idempotent-replay",
    "retry-after",
    "location",
    "etag",
    "content-language",
    "cache-control",
)

auth_router = APIRouter(prefix="/v1", tags=["auth"])
proxy_router = APIRouter()


def _matches(route: str, path: str) -> bool:
    want, have = route.strip("/").split("/"), path.strip("/").split("/")
    return len(have) >= len(want) and all(w in ("*", h) for w, h in zip(want, have, strict=False))


def anonymous(method: str, path: str) -> bool:
    segments = path.strip("/").count("/")
    return any(m == method and p.strip("/").count("/") == segments and _matches(p, path) for m, p in ANONYMOUS)


def route_for(path: str) -> str | None:
    for route, service in ROUTES:
        if _matches(route, path):
            return service
    return None


def client_ip(request: Request) -> str:
    """The peer's address; behind a configured proxy (`GATEWAY_TRUSTED_PROXIES`), the right-most address in
    X-Forwarded-For that is not one of those proxies, as uvicorn's proxy-headers middleware sets it."""
    return request.client.host if request.client else "unknown"


async def get_authenticator(request: Request, session: Session) -> Authenticator:
    # Sessions and tokens run on real time: the injectable clock is for complaints' deadlines.
    return Authenticator(
        session=session, settings=request.app.state.settings, clock=system_clock, sessions=request.app.state.sessions
    )


Auth = Annotated[Authenticator, Depends(get_authenticator)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def caller(request: Request, auth: Auth) -> tuple[Identity, str]:
    token = _bearer(request)
    if token is None:
        raise TokenMissing("Log in and send the access token as 'Authorization: Bearer <token>'.")
    identity, session_id = await auth.authenticate(token)
    await request.app.state.limits["identity"].hit(identity.subject)
    return identity, session_id


Caller = Annotated[tuple[Identity, str], Depends(caller)]


async def _login_limit(request: Request) -> None:
    await request.app.state.limits["login"].hit(client_ip(request))


LOGIN_ERRORS = problem_responses(
    LoginCodeInvalid, ProviderUnavailable, ProviderSignatureInvalid, ProviderCredentialsRejected, TooManyRequests
)


@auth_router.post("/auth/wechat/login", dependencies=[Depends(_login_limit)], responses=LOGIN_ERRORS)
async def wechat_login(body: WeChatLoginIn, request: Request, auth: Auth) -> TokenPair:
    """Log in from the WeChat mini-program with the code of wx.login()."""
    login = await request.app.state.logins["wechat"].identify(body.code)
    return await auth.login_consumer(login)


@auth_router.post("/auth/douyin/login", dependencies=[Depends(_login_limit)], responses=LOGIN_ERRORS)
async def douyin_login(body: MiniProgramLoginIn, request: Request, auth: Auth) -> TokenPair:
    """Log in from the Douyin mini-program with the code of tt.login()."""
    return await auth.login_consumer(await _login_with(request, "douyin").identify(body.code))


@auth_router.post("/auth/kuaishou/login", dependencies=[Depends(_login_limit)], responses=LOGIN_ERRORS)
async def kuaishou_login(body: MiniProgramLoginIn, request: Request, auth: Auth) -> TokenPair:
    """Log in from the Kuaishou mini-program with the code of ks.login()."""
    return await auth.login_consumer(await _login_with(request, "kuaishou").identify(body.code))


def _login_with(request: Request, provider: str) -> Any:
    login = request.app.state.logins.get(provider)
    if login is None:
        raise LoginNotEnabled(f"{provider} login is not enabled on this platform.")
    return login


@auth_router.post("/auth/alipay/login", dependencies=[Depends(_login_limit)], responses=LOGIN_ERRORS)
async def alipay_login(body: AlipayLoginIn, request: Request, auth: Auth) -> TokenPair:
    """Log in from the Alipay mini-program with the authCode of my.getAuthCode()."""
    adapter = request.app.state.logins.get("alipay")
    if adapter is None:
        raise ProviderUnavailable("Alipay login is not configured on this platform.")
    return await auth.login_consumer(await adapter.identify(body.auth_code))


@auth_router.post(
    "/auth/staff/login",
    dependencies=[Depends(_login_limit)],
    responses=problem_responses(InvalidCredentials, TooManyRequests, LoginLocked),
)
async def staff_login(body: StaffLoginIn, request: Request, auth: Auth) -> TokenPair:
    """Log in as staff (an official, merchant staff or an admin) with a username and password. After
    repeated wrong passwords the username is locked for a growing time (429 `login_locked`, Retry-After)."""
    return await auth.login_staff(body.username, body.password, client_ip(request))


def _admin(who: Caller) -> Identity:
    if who[0].role != Role.admin:
        raise Forbidden("Only an administrator may do this.")
    return who[0]


Admin = Annotated[Identity, Depends(_admin)]


@auth_router.post("/staff/{username}/unlock", status_code=204, responses=problem_responses(InvalidToken, Forbidden))
async def unlock_staff_login(
    username: Annotated[str, Path(max_length=64, examples=["sanya"])], admin: Admin, session: Session
) -> Response:
    """Lift a staff username's login lock and clear its failed attempts (admins)."""
    await unlock_staff(session, system_clock, username, by=admin.subject)
    return Response(status_code=204)


@auth_router.get("/staff/login-events", responses=problem_responses(InvalidToken, Forbidden))
async def staff_login_events(
    admin: Admin,
    session: Session,
    username: Annotated[str | None, Query(max_length=64, pattern=TEXT_QUERY_PATTERN, examples=["sanya"])] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[LoginEventOut]:
    """The staff login audit, newest first: failures, refusals while locked, locks, successes, unlocks."""
    query = select(LoginAudit).order_by(LoginAudit.at.desc(), LoginAudit.id.desc()).limit(limit)
    if username is not None:
        query = query.where(LoginAudit.username == username)
    return [LoginEventOut.model_validate(row, from_attributes=True) for row in (await session.scalars(query)).all()]


@auth_router.post("/auth/refresh", dependencies=[Depends(_login_limit)], responses=problem_responses(InvalidToken))
async def refresh(body: RefreshIn, auth: Auth) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    return await auth.refresh(body.refresh_token)


@auth_router.post("/auth/logout", status_code=204, responses=problem_responses(InvalidToken))
async def logout(who: Caller, auth: Auth) -> Response:
    """End this session: its access and refresh tokens stop working at once."""
    await auth.logout(who[1])
    return Response(status_code=204)


@auth_router.get("/me", responses=problem_responses(InvalidToken))
async def me(who: Caller, auth: Auth) -> Me:
    """Who am I: role, region or merchant, and scopes."""
    return await auth.me(who[0].subject)


# --- the proxy ---------------------------------------------------------------------------------------
@proxy_router.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def proxy(path: str, request: Request, auth: Auth) -> Response:
    """Forward a public request to the service that owns it, with the caller's identity signed in."""
    service = route_for(request.url.path)
    if service is None:
        raise RouteNotFound(f"There is no endpoint {request.url.path}.")
    state = request.app.state
    await state.limits["ip"].hit(client_ip(request))
    token = _bearer(request)
    if token is None and anonymous(request.method, request.url.path):
        identity = PUBLIC_IDENTITY
    else:
        identity, _ = await caller(request, auth)
    headers = {k: v for k, v in request.headers.items() if k in _FORWARD_REQUEST}
    content = None
    if request.method in _WITH_BODY:
        content = request.stream()  # as it arrives: its declared length, or chunked, bounded by BodyLimit
    elif "transfer-encoding" in request.headers or request.headers.get("content-length", "0") != "0":
        # What is forwarded is exactly what is declared: a length with no body would leave the pooled
        # connection to the service out of step, and the next caller's request read as this one's body.
        raise BodyNotAllowed(f"A {request.method} request carries no body.")
    else:
        headers.pop("content-length", None)
    client = state.clients[service]
    # The path as routed (PathGuard refused dot-segments, encoded slashes and control characters), encoded
    # again so that a decoded '?', '#' or '%' stays part of the path.
    target = quote(request.url.path, safe=_PATH_SAFE)
    query = request.url.query
    upstream = client.build_request(
        request.method, target + (f"?{query}" if query else ""), identity=identity, headers=headers, content=content
    )
    response = await client.send_stream(upstream)
    out_headers = {k: v for k, v in response.headers.items() if k in _FORWARD_RESPONSE}
    body = response.content
    if request.method == "POST" and response.status_code == 201 and request.url.path.rstrip("/") == "/v1/complaints":
        from services.gateway.progress import with_progress_url  # progress.py builds on this module's Caller

        body = with_progress_url(state.settings, body)  # the tourist's progress link, with the submission's answer
    return Response(body, status_code=response.status_code, headers=out_headers)


@proxy_router.post("/callbacks/{provider}/{kind}", include_in_schema=False)
async def provider_callback(provider: str, kind: str, request: Request) -> Response:
    """A payment provider's notification, passed whole (its headers and raw body) to compensation, which verifies it
    with the provider's own scheme; the providers and their headers are in GATEWAY_PAYOUT_CALLBACKS."""
    target = request.app.state.settings.payout_callback_routes.get(f"{provider}/{kind}")
    if target is None:
        raise RouteNotFound(f"There is no callback {provider}/{kind}.")
    payout_provider, prefixes = target
    headers = {
        k: v for k, v in request.headers.items() if k.startswith(prefixes) or k in ("content-type", "content-length")
    }
    response = await request.app.state.clients["compensation"].request(
        "POST",
        f"/internal/callbacks/{payout_provider}",
        identity=GATEWAY_IDENTITY,
        headers=headers,
        content=await request.body(),
        retry=False,
    )
    out_headers = {k: v for k, v in response.headers.items() if k in _FORWARD_RESPONSE}
    return Response(response.content, status_code=response.status_code, headers=out_headers)
