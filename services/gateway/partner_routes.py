"""The partner API (`/partner/v1/...`, signed requests) and its administration (`/v1/partners`, admins)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from services.gateway.errors import ChannelMismatch, ChannelNotServed, DeliveryNotFound, PartnerNotFound
from services.gateway.models import Partner, WebhookDelivery
from services.gateway.partners import HEADERS, Partners, delivery_out
from services.gateway.progress import with_progress_url
from services.gateway.routes import Admin
from shared.channels.government import GovernmentChannel, UnknownChannel, WorkOrderInvalid
from shared.contracts.common import Channel
from shared.contracts.complaints import ComplaintOut, ComplaintSubmit
from shared.contracts.identity import Identity, Role
from shared.contracts.partners import DeliveryOut, PartnerCreated, PartnerIn, PartnerKeyOut, PartnerOut, WebhookIn
from shared.db import Session
from shared.errors import Forbidden, PayloadTooLarge, Unauthorized, problem_responses

SIGNED = {"parameters": [{"name": h, "in": "header", "required": True, "schema": {"type": "string"}} for h in HEADERS]}


async def get_partners(request: Request, session: Session) -> Partners:
    return Partners.of(session, request.app.state.settings)


PartnerBook = Annotated[Partners, Depends(get_partners)]


async def signed_partner(request: Request, partners: PartnerBook) -> Partner:
    return await partners.verify(request)


SignedPartner = Annotated[Partner, Depends(signed_partner)]
partner_router = APIRouter(prefix="/partner/v1", tags=["partner API"], responses=problem_responses(Unauthorized))
ComplaintId = Annotated[str, Path(pattern=r"^cmp_[0-9A-Z]{26}$")]


def _as_partner(partner: Partner) -> Identity:
    """The partner as intake sees it; a government channel's center carries its channel (intake lets only it
    submit as that channel)."""
    return Identity(
        subject=partner.id,
        role=Role.partner,
        display_name=partner.name,
        channel=Channel(partner.channel) if partner.channel else None,
    )


async def _forward(
    request: Request,
    partner: Partner,
    method: str,
    path: str,
    *,
    channel_fields: dict[str, str] | None = None,
    **kwargs: Any,
) -> Response:
    """Intake's answer to the partner; with `channel_fields`, a refusal names the fields as the channel does."""
    upstream = await request.app.state.clients["intake"].request(method, path, identity=_as_partner(partner), **kwargs)
    content = upstream.content
    if channel_fields is not None and upstream.status_code == 422:
        content = _problem_fields(content, channel_fields)
    if upstream.status_code in (200, 201) and path.startswith("/v1/complaints"):  # the link to pass on to the tourist
        content = with_progress_url(request.app.state.settings, content)
    return Response(content, status_code=upstream.status_code, media_type=upstream.headers.get("content-type"))


@partner_router.post("/complaints", status_code=201, response_model=ComplaintOut, openapi_extra=SIGNED)
async def push_complaint(body: ComplaintSubmit, request: Request, partner: SignedPartner) -> Response:
    """Push a complaint received by the partner (an OTA's order, a hotline's work order). With
    `external_id`, the same case pushed again is the same complaint, never a second one."""
    return await _forward(
        request,
        partner,
        "POST",
        "/v1/complaints",
        content=await request.body(),
        headers={"content-type": "application/json"},
        retry=bool(body.external_id),
    )


@partner_router.get("/complaints/{complaint_id}", response_model=ComplaintOut, openapi_extra=SIGNED)
async def complaint_status(complaint_id: ComplaintId, request: Request, partner: SignedPartner) -> Response:
    """A complaint the partner pushed, with its state; others answer 404."""
    return await _forward(request, partner, "GET", f"/v1/complaints/{complaint_id}")


@partner_router.get("/webhook-deliveries", openapi_extra=SIGNED)
async def list_deliveries(partner: SignedPartner, session: Session) -> list[DeliveryOut]:
    """The partner's webhook deliveries, newest first: what arrived, what is pending, what failed."""
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.partner_id == partner.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(200)
    )
    return [DeliveryOut(**delivery_out(d)) for d in rows]


@partner_router.post(
    "/webhook-deliveries/{delivery_id}/replays", openapi_extra=SIGNED, responses=problem_responses(DeliveryNotFound)
)
async def replay_delivery(
    delivery_id: Annotated[str, Path(pattern=r"^whd_[0-9A-Z]{26}$")],
    request: Request,
    partner: SignedPartner,
    session: Session,
) -> DeliveryOut:
    """Send a delivery again (a failed one, or one the partner lost): it is queued at once."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.partner_id != partner.id:
        raise DeliveryNotFound(f"No webhook delivery {delivery_id} of yours.")
    delivery.state, delivery.attempts = "pending", 0
    delivery.next_attempt_at = request.app.state.clock.now()
    return DeliveryOut(**delivery_out(delivery))


# --- government channels: each its own work orders at /callbacks/{channel} ---------------------------
def _problem_fields(content: bytes, fields: dict[str, str]) -> bytes:
    """Intake's refusal of a work order, its field names put back into the channel's."""
    try:
        problem = json.loads(content)
    except ValueError:
        return content
    if not isinstance(problem, dict):
        return content
    for error in problem.get("errors") or []:
        if isinstance(error, dict) and isinstance(error.get("field"), str):
            error["field"] = _channel_name(fields, error["field"])
    if isinstance(problem.get("field"), str):
        problem["field"] = _channel_name(fields, problem["field"])
    return json.dumps(problem, ensure_ascii=False).encode()


def _channel_name(fields: dict[str, str], field: str) -> str:
    """`body.contact_phone` or `contact_phone` as the channel calls it (`caller_phone`)."""
    name = field.removeprefix("body.")
    return fields.get(name, name)


def _work_order_route(adapter: GovernmentChannel) -> Any:
    async def receive_work_order(request: Request, partners: PartnerBook) -> Response:
        partner = await partners.verify(request)
        if partner.channel != adapter.info.name:
            raise ChannelMismatch(f"Partner {partner.id} is not the {adapter.title}'s center.")
        try:
            payload = json.loads(await request.body())
        except (ValueError, RecursionError) as exc:
            raise WorkOrderInvalid("The body is not JSON (or is nested too deep).") from exc
        fields = adapter.work_order(payload)
        try:
            body = ComplaintSubmit(channel=Channel(adapter.info.name), **fields)
        except ValidationError as exc:
            raise WorkOrderInvalid(
                f"This {adapter.title} work order has invalid fields.",
                errors=[
                    {
                        "field": _channel_name(adapter.fields, str(e["loc"][0])) if e["loc"] else "body",
                        "message": e["msg"],
                    }
                    for e in exc.errors()
                ],
            ) from exc
        return await _forward(
            request,
            partner,
            "POST",
            "/v1/complaints",
            channel_fields=adapter.fields,
            content=body.model_dump_json(exclude_none=True),
            headers={"content-type": "application/json"},
            retry=True,
        )

    receive_work_order.__doc__ = (
        f"A work order pushed by the {adapter.title}, in its own format (the example), signed as partner requests "
        "are by the channel center's key. The same order pushed again is the same complaint; every change of it "
        "goes back to the center's webhook URL in the channel's format."
    )
    return receive_work_order


async def _unknown_channel(channel: str) -> None:
    raise UnknownChannel(f"This platform takes no work orders from a channel {channel}.")


def install_government_channels(app: FastAPI) -> None:
    """`POST /callbacks/{channel}` for each government channel served, documented with its own work order."""
    for channel, adapter in app.state.government_channels.items():
        app.add_api_route(
            f"/callbacks/{channel}",
            _work_order_route(adapter),
            methods=["POST"],
            status_code=201,
            response_model=ComplaintOut,
            tags=["government channels"],
            name=f"work_order_{channel}",
            summary=f"Work order from the {adapter.title}",
            responses=problem_responses(Unauthorized, Forbidden, UnknownChannel, WorkOrderInvalid, PayloadTooLarge),
            openapi_extra={
                **SIGNED,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}, "example": adapter.example}},
                },
            },
        )
    app.add_api_route("/callbacks/{channel}", _unknown_channel, methods=["POST"], include_in_schema=False)


# --- administration ---------------------------------------------------------------------------------
admin_router = APIRouter(prefix="/v1/partners", tags=["partners"], responses=problem_responses(Forbidden))


def _partner_out(partner: Partner) -> PartnerOut:
    return PartnerOut.model_validate(partner, from_attributes=True)


@admin_router.post("", status_code=201, responses=problem_responses(ChannelNotServed))
async def create_partner(body: PartnerIn, request: Request, admin: Admin, partners: PartnerBook) -> PartnerCreated:
    """Register a partner; its first signing key's secret is in this answer and never again."""
    partner, key, secret = await partners.create(
        body.name, body.webhook_url, body.channel, served=request.app.state.government_channels
    )
    return PartnerCreated(
        partner=_partner_out(partner), key=PartnerKeyOut(key_id=key.id, secret=secret, created_at=key.created_at)
    )


@admin_router.get("")
async def list_partners(admin: Admin, session: Session) -> list[PartnerOut]:
    return [_partner_out(p) for p in await session.scalars(select(Partner).order_by(Partner.created_at))]


@admin_router.post("/{partner_id}/keys", status_code=201, responses=problem_responses(PartnerNotFound))
async def rotate_key(partner_id: str, admin: Admin, partners: PartnerBook) -> PartnerKeyOut:
    """A new signing key; the older ones keep working for `GATEWAY_PARTNER_KEY_OVERLAP_HOURS`, then stop."""
    key, secret = await partners.new_key(await partners.get(partner_id))
    return PartnerKeyOut(key_id=key.id, secret=secret, created_at=key.created_at)


@admin_router.put("/{partner_id}/webhook", responses=problem_responses(PartnerNotFound))
async def set_webhook(partner_id: str, body: WebhookIn, admin: Admin, partners: PartnerBook) -> PartnerOut:
    partner = await partners.get(partner_id)
    partner.webhook_url = body.url
    return _partner_out(partner)
