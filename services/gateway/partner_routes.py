"""The partner API (`/partner/v1/...`, signed requests) and its administration (`/v1/partners`, admins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy import select

from services.gateway.models import Partner, WebhookDelivery
from services.gateway.partners import HEADERS, DeliveryNotFound, PartnerNotFound, Partners, delivery_out
from services.gateway.routes import Caller
from shared.contracts.complaints import ComplaintOut, ComplaintSubmit
from shared.contracts.identity import Identity, Role
from shared.contracts.partners import DeliveryOut, PartnerCreated, PartnerIn, PartnerKeyOut, PartnerOut, WebhookIn
from shared.db import Session
from shared.errors import Forbidden, Unauthorized, problem_responses

SIGNED = {"parameters": [{"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
                         for h in HEADERS]}


async def get_partners(request: Request, session: Session) -> Partners:
    settings = request.app.state.settings
    return Partners(session, settings.jwt_secret, timedelta(hours=settings.partner_key_overlap_hours))


PartnerBook = Annotated[Partners, Depends(get_partners)]


async def signed_partner(request: Request, partners: PartnerBook) -> Partner:
    return await partners.verify(request)


SignedPartner = Annotated[Partner, Depends(signed_partner)]
partner_router = APIRouter(prefix="/partner/v1", tags=["partner API"],
                           responses=problem_responses(Unauthorized))
ComplaintId = Annotated[str, Path(pattern=r"^cmp_[0-9A-Z]{26}$")]


def _as_partner(partner: Partner) -> Identity:
    return Identity(subject=partner.id, role=Role.partner, display_name=partner.name)


async def _forward(request: Request, partner: Partner, method: str, path: str, **kwargs: Any) -> Response:
    upstream = await request.app.state.clients["intake"].request(method, path, identity=_as_partner(partner),
                                                                 **kwargs)
    return Response(upstream.content, status_code=upstream.status_code,
                    media_type=upstream.headers.get("content-type"))


@partner_router.post("/complaints", status_code=201, response_model=ComplaintOut, openapi_extra=SIGNED)
async def push_complaint(body: ComplaintSubmit, request: Request, partner: SignedPartner) -> Response:
    """Push a complaint received by the partner (an OTA's order, a hotline's work order). With
    `external_id`, the same case pushed again is the same complaint, never a second one."""
    return await _forward(request, partner, "POST", "/v1/complaints", content=await request.body(),
                          headers={"content-type": "application/json"}, retry=bool(body.external_id))


@partner_router.get("/complaints/{complaint_id}", response_model=ComplaintOut, openapi_extra=SIGNED)
async def complaint_status(complaint_id: ComplaintId, request: Request, partner: SignedPartner) -> Response:
    """A complaint the partner pushed, with its state; others answer 404."""
    return await _forward(request, partner, "GET", f"/v1/complaints/{complaint_id}")


@partner_router.get("/webhook-deliveries", openapi_extra=SIGNED)
async def list_deliveries(partner: SignedPartner, session: Session) -> list[DeliveryOut]:
    """The partner's webhook deliveries, newest first: what arrived, what is pending, what failed."""
    rows = await session.scalars(select(WebhookDelivery).where(WebhookDelivery.partner_id == partner.id)
                                 .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(200))
    return [DeliveryOut(**delivery_out(d)) for d in rows]


@partner_router.post("/webhook-deliveries/{delivery_id}/replays", openapi_extra=SIGNED,
                     responses=problem_responses(DeliveryNotFound))
async def replay_delivery(delivery_id: Annotated[str, Path(pattern=r"^whd_[0-9A-Z]{26}$")], request: Request,
                          partner: SignedPartner, session: Session) -> DeliveryOut:
    """Send a delivery again (a failed one, or one the partner lost): it is queued at once."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.partner_id != partner.id:
        raise DeliveryNotFound(f"No webhook delivery {delivery_id} of yours.")
    delivery.state, delivery.attempts = "pending", 0
    delivery.next_attempt_at = request.app.state.clock.now()
    return DeliveryOut(**delivery_out(delivery))


# --- administration ---------------------------------------------------------------------------------
admin_router = APIRouter(prefix="/v1/partners", tags=["partners"], responses=problem_responses(Forbidden))


def _admin(who: Caller) -> Identity:
    identity, _ = who
    if identity.role != Role.admin:
        raise Forbidden("Partners are managed by admins.")
    return identity


Admin = Annotated[Identity, Depends(_admin)]


def _partner_out(partner: Partner) -> PartnerOut:
    return PartnerOut.model_validate(partner, from_attributes=True)


@admin_router.post("", status_code=201)
async def create_partner(body: PartnerIn, admin: Admin, partners: PartnerBook) -> PartnerCreated:
    """Register a partner; its first signing key's secret is in this answer and never again."""
    partner, key, secret = await partners.create(body.name, body.webhook_url)
    return PartnerCreated(partner=_partner_out(partner),
                          key=PartnerKeyOut(key_id=key.id, secret=secret, created_at=key.created_at))


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

