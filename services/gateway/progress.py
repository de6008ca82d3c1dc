"""A progress page for every tourist (`/p/`), outside the mini-program: from 12345, a partner, a walk-in
desk, WeChat's in-app browser or after a Douyin/Kuaishou login (no message API there).

Two ways in, both ending in a progress token:

- a signed link, `{GATEWAY_PUBLIC_URL}/p/#<token>`, in every notification, in the answer to a submission
  and in partners' webhooks. The token is `<complaint id>.<expiry, Unix seconds>.<HMAC-SHA256>`, signed with
  a key derived for this purpose from `GATEWAY_PROGRESS_LINK_SECRET` (never the JWT secret), and lives
  `GATEWAY_PROGRESS_LINK_DAYS`. It rides in the fragment: browsers never send it to a server, so it stays
  out of access logs and Referer headers.
- the case number and the phone given with the complaint (`POST /v1/progress/lookups`), limited per client IP
  and per case number; a wrong phone answers exactly as an unknown case number. The token it gives lives
  `GATEWAY_PROGRESS_LOOKUP_MINUTES`.

With the token (header `X-Progress-Token`) the gateway acts for the tourist on that one complaint, as a
`complaint_holder` identity that intake checks itself: it reads the progress view and accepts or rejects
the merchant's response or rates the handling. Nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.gateway.config import GatewaySettings
from services.gateway.errors import (
    LookupUnavailable,
    ProgressLinkExpired,
    ProgressLinkInvalid,
    ProgressLinkMissing,
    ProgressLinkNotAllowed,
)
from services.gateway.routes import Caller
from shared.clock import system_clock
from shared.contracts.common import Input
from shared.contracts.complaints import ConsumerVerdictIn, EvaluationIn, ProgressOut
from shared.contracts.identity import Identity, Role
from shared.errors import (
    AlreadyEvaluated,
    CaseNotFound,
    ComplaintNotFound,
    Forbidden,
    InvalidTransition,
    Problem,
    TooManyRequests,
    problem_responses,
)

TOKEN_HEADER = "X-Progress-Token"
LOOKUP_SERVICE = Identity(subject="gateway", role=Role.service)


def _key(settings: GatewaySettings, secret: str | None = None) -> bytes:
    """This purpose's own key, derived from the progress-link secret."""
    return hashlib.sha256(
        b"assured-tour progress-link v1:" + (secret or settings.progress_link_secret).encode()
    ).digest()


def _signature(key: bytes, body: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, body.encode(), "sha256").digest()).rstrip(b"=").decode()


def issue_token(
    settings: GatewaySettings, complaint_id: str, lifetime: timedelta, now: datetime | None = None
) -> tuple[str, datetime]:
    """A token for one complaint's progress page, and when it expires. Real time, never the domain clock."""
    expires = (now or system_clock.now()) + lifetime
    body = f"{complaint_id}.{int(expires.timestamp())}"
    return f"{body}.{_signature(_key(settings), body)}", expires


def verify_token(settings: GatewaySettings, token: str | None) -> str:
    """The complaint a token opens; 401 progress_link_missing, progress_link_invalid (altered, not ours) or
    progress_link_expired."""
    if not token:
        raise ProgressLinkMissing(f"Send the progress link's token as {TOKEN_HEADER}.")
    complaint_id, _, rest = token.strip().partition(".")
    expiry, _, signature = rest.partition(".")
    body = f"{complaint_id}.{expiry}"
    if not (
        complaint_id.startswith("cmp_")
        and expiry.isdigit()
        and signature
        and hmac.compare_digest(_signature(_key(settings), body), signature)
    ):
        raise ProgressLinkInvalid(
            "This progress link is not valid: open the link you were sent, or look the case "
            "up by its case number and phone."
        )
    if int(expiry) <= system_clock.now().timestamp():
        raise ProgressLinkExpired("This progress link has expired: look the case up by its case number and phone.")
    return complaint_id


def progress_url(settings: GatewaySettings, complaint_id: str) -> str:
    """The link to give a tourist: the page, the token in its fragment."""
    token, _ = issue_token(settings, complaint_id, timedelta(days=settings.progress_link_days))
    return f"{settings.public_url.rstrip('/')}/p/#{token}"


def with_progress_url(settings: GatewaySettings, content: bytes) -> bytes:
    """A submission's answer (a complaint) with the link for its tourist added."""
    try:
        complaint = json.loads(content)
    except ValueError:
        return content
    if not isinstance(complaint, dict) or not str(complaint.get("id", "")).startswith("cmp_"):
        return content
    complaint["progress_url"] = progress_url(settings, complaint["id"])
    return json.dumps(complaint, ensure_ascii=False, separators=(",", ":")).encode()


def page_link(settings: GatewaySettings, complaint_id: str) -> str:
    """The mini-program page a message opens: `{complaint_id}`, and `{progress_url}` (URL-encoded) for a
    web-view page that shows the progress page itself."""
    page = settings.progress_page.replace("{complaint_id}", complaint_id)
    if "{progress_url}" in page:
        page = page.replace("{progress_url}", quote(progress_url(settings, complaint_id), safe=""))
    return page


# --- the page's API ---------------------------------------------------------------------------------
router = APIRouter(prefix="/v1/progress", tags=["progress"])
Token = Annotated[
    str | None,
    Header(alias=TOKEN_HEADER, max_length=200, description="the token of the progress link (the part after /p/#)"),
]


class LookupIn(Input):
    case_number: str = Field(min_length=1, max_length=40, examples=["460200-20261206-0042"])
    phone: str = Field(
        min_length=1, max_length=20, examples=["13800001234"], description="the phone number given with the complaint"
    )


class LookupOut(BaseModel):
    token: str = Field(description=f"send it as {TOKEN_HEADER}")
    expires_at: datetime


def _as_holder(complaint_id: str) -> Identity:
    return Identity(
        subject=f"link:{complaint_id}",
        role=Role.complaint_holder,
        complaint_id=complaint_id,
        display_name="投诉人（进度页）",
    )


def _client(request: Request) -> str:
    """The client's address, as `routes.client_ip` reads it (behind trusted proxies: what they vouch for)."""
    return request.client.host if request.client else "unknown"


def _passed(upstream: Any) -> Response:
    return Response(upstream.content, status_code=upstream.status_code, media_type=upstream.headers.get("content-type"))


async def _progress(request: Request, complaint_id: str) -> Response:
    upstream = await request.app.state.clients["intake"].request(
        "GET", f"/v1/complaints/{complaint_id}/progress", identity=_as_holder(complaint_id)
    )
    response = _passed(upstream)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/lookups", responses=problem_responses(CaseNotFound, LookupUnavailable, TooManyRequests))
async def look_up(body: LookupIn, request: Request) -> LookupOut:
    """Open a complaint's progress page with its case number and the phone given with it. A wrong phone answers
    404 case_not_found, as an unknown case number does; look-ups are limited per client IP and per case."""
    limits = request.app.state.limits
    await limits["progress_ip"].hit(_client(request))
    await limits["progress_case"].hit("".join(ch for ch in body.case_number if ch.isdigit()) or body.case_number)
    upstream = await request.app.state.clients["intake"].request(
        "POST", "/internal/progress-lookups", identity=LOOKUP_SERVICE, json=body.model_dump()
    )
    if upstream.status_code == 404:
        raise CaseNotFound("No complaint has this case number and phone.")
    if upstream.status_code != 200:
        raise LookupUnavailable("The case cannot be looked up now; try again later.", status=upstream.status_code)
    settings: GatewaySettings = request.app.state.settings
    token, expires = issue_token(
        settings, upstream.json()["complaint_id"], timedelta(minutes=settings.progress_lookup_minutes)
    )
    return LookupOut(token=token, expires_at=expires)


async def held_complaint(request: Request, token: Token = None) -> str:
    """The complaint the request's progress token opens (401 before anything else is looked at)."""
    await request.app.state.limits["ip"].hit(_client(request))
    return verify_token(request.app.state.settings, token)


HeldComplaint = Annotated[str, Depends(held_complaint)]


@router.get("", response_model=ProgressOut, responses=problem_responses(ProgressLinkInvalid, ProgressLinkExpired))
async def read_progress(request: Request, complaint_id: HeldComplaint) -> Response:
    """The complaint's progress as its tourist sees it: state, public steps, the merchant's response, the next
    deadline, and whether the response can be accepted or rejected or the handling rated now."""
    return await _progress(request, complaint_id)


async def _act(request: Request, complaint_id: str, action: str, body: BaseModel) -> Response:
    """Act as the complainant on the link's complaint (intake checks the state and the scope); answer with the
    progress view, never the complaint itself."""
    upstream = await request.app.state.clients["intake"].request(
        "POST",
        f"/v1/complaints/{complaint_id}/{action}",
        identity=_as_holder(complaint_id),
        json=body.model_dump(mode="json", exclude_none=True),
        retry=False,
    )
    if upstream.status_code >= 300:
        return _passed(upstream)
    return await _progress(request, complaint_id)


@router.post(
    "/acceptances",
    response_model=ProgressOut,
    responses=problem_responses(ProgressLinkInvalid, ProgressLinkExpired, InvalidTransition),
)
async def accept_response(body: ConsumerVerdictIn, request: Request, complaint_id: HeldComplaint) -> Response:
    """The tourist accepts the merchant's response: the complaint is resolved on its terms."""
    return await _act(request, complaint_id, "acceptances", body)


@router.post(
    "/rejections",
    response_model=ProgressOut,
    responses=problem_responses(ProgressLinkInvalid, ProgressLinkExpired, InvalidTransition),
)
async def reject_response(body: ConsumerVerdictIn, request: Request, complaint_id: HeldComplaint) -> Response:
    """The tourist rejects the merchant's response: officials mediate."""
    return await _act(request, complaint_id, "rejections", body)


@router.post(
    "/evaluations",
    response_model=ProgressOut,
    responses=problem_responses(ProgressLinkInvalid, ProgressLinkExpired, InvalidTransition, AlreadyEvaluated),
)
async def evaluate(body: EvaluationIn, request: Request, complaint_id: HeldComplaint) -> Response:
    """The tourist rates the handling (1-5), with a comment if they like."""
    return await _act(request, complaint_id, "evaluations", body)


# --- links for those who pass them on --------------------------------------------------------------------
links_router = APIRouter(prefix="/v1/complaints", tags=["progress"])
# Who may ask for a complaint's link: its complainant, and the officials who give it to a caller or a walk-in.
# Never merchant staff: the link lets its holder accept the merchant's own response.
MAY_LINK = (Role.consumer, Role.official, Role.admin)


class ProgressLinkOut(BaseModel):
    url: str = Field(examples=["https://tour.example.com/p/#cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K.1767225600.Zm9v"])
    expires_at: datetime


@links_router.post(
    "/{complaint_id}/progress-links", status_code=201, responses=problem_responses(Forbidden, ComplaintNotFound)
)
async def new_progress_link(
    complaint_id: Annotated[str, Path(pattern=r"^cmp_[0-9A-Z]{26}$")], request: Request, who: Caller
) -> ProgressLinkOut:
    """A fresh progress link for a complaint the caller may read (its complainant, or an official of its region
    giving it to a caller of 12345 or a walk-in tourist); merchant staff may not."""
    identity = who[0]
    if identity.role not in MAY_LINK:
        raise ProgressLinkNotAllowed("Only the complainant and officials may hand out a complaint's progress link.")
    upstream = await request.app.state.clients["intake"].request(
        "GET", f"/v1/complaints/{complaint_id}", identity=identity
    )
    if upstream.status_code == 404:  # absent or not theirs: the same answer
        raise ComplaintNotFound(f"Complaint {complaint_id} was not found.")
    if upstream.status_code != 200:
        problem = upstream.json() if upstream.headers.get("content-type", "").endswith("json") else {}
        raise Problem(
            problem.get("detail"), status=upstream.status_code, code=problem.get("code"), title=problem.get("title")
        )
    settings: GatewaySettings = request.app.state.settings
    token, expires = issue_token(settings, complaint_id, timedelta(days=settings.progress_link_days))
    return ProgressLinkOut(url=f"{settings.public_url.rstrip('/')}/p/#{token}", expires_at=expires)
