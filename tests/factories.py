"""Small async helpers that put the system in a state a test starts from."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

from PIL import Image

from shared.contracts.identity import Identity
from shared.contracts.merchants import USCC_CHARSET, uscc_check_char
from tests.conftest import ADMIN, SANYA
from tests.support import Stack


def merchant_id(tag: str) -> str:
    """A well-formed merchant id that says what it is in a test: mer_01DEMQ0…0<TAG>."""
    return "mer_01DEMQ" + tag.upper().rjust(20, "0")


HOTEL = merchant_id("HOTEL")


def uscc(seed: str, region: str = SANYA) -> str:
    """A valid unified social credit code of its own for each seed (a merchant id, say)."""
    digest = hashlib.sha256(seed.encode()).digest()
    first17 = "91" + region + "".join(USCC_CHARSET[b % 31] for b in digest[:9])
    return first17 + uscc_check_char(first17)


async def settle_merchant(
    stack: Stack,
    merchant_id: str = HOTEL,
    *,
    name: str = "三亚湾海景酒店",
    region: str = SANYA,
    industry: str = "lodging",
    settled: bool = True,
) -> dict[str, Any]:
    """Settle a merchant in at credit, approve it (unless `settled` is False), and let intake hear of it."""
    credit = stack.clients["credit"]
    response = await credit.post(
        "/v1/merchants",
        headers=stack.as_(ADMIN),
        json={
            "id": merchant_id,
            "name": name,
            "uscc": uscc(merchant_id, region),
            "region_code": region,
            "industry": industry,
            "in_compensation_program": True,
            "in_integrity_alliance": True,
        },
    )
    assert response.status_code == 201, response.text
    if settled:
        response = await credit.post(
            f"/v1/merchants/{merchant_id}/reviews", headers=stack.as_(ADMIN), json={"decision": "approve"}
        )
        assert response.status_code == 200, response.text
    await stack.deliver_events()
    return response.json()


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "region_code": SANYA,
        "merchant_id": HOTEL,
        "industry": "lodging",
        "description": "预订了海景房，入住时却被安排在面对停车场的房间，前台拒绝退差价。",
        "amount_involved_fen": 128000,
        "remedy": "refund",
        "occurred_at": "2026-11-19T12:00:00Z",
        "contact_phone": "13812341234",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def photo_png(size: tuple[int, int] = (24, 16), color: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    """A small real PNG: evidence is decoded and re-encoded, so a file that only starts like a PNG is refused."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def phone_of(subject: str) -> str:
    """A phone number of each tourist's own: the same phone is the same person (a repeat of the case)."""
    return "138" + str(int(hashlib.sha256(subject.encode()).hexdigest(), 16) % 10**8).zfill(8)


async def submit(stack: Stack, who: Identity, expect: int = 201, **overrides: Any) -> dict[str, Any]:
    overrides.setdefault("contact_phone", phone_of(who.subject))
    response = await stack.clients["intake"].post(
        "/v1/complaints", headers=stack.as_(who), json=complaint_body(**overrides)
    )
    assert response.status_code == expect, response.text
    return response.json()


async def act(
    stack: Stack, who: Identity, complaint_id: str, action: str, body: dict[str, Any] | None = None, expect: int = 200
) -> dict[str, Any]:
    response = await stack.clients["intake"].post(
        f"/v1/complaints/{complaint_id}/{action}", headers=stack.as_(who), json=body or {}
    )
    assert response.status_code == expect, response.text
    return response.json()


async def timeline_kinds(stack: Stack, who: Identity, complaint_id: str) -> list[str]:
    response = await stack.clients["intake"].get(f"/v1/complaints/{complaint_id}/timeline", headers=stack.as_(who))
    assert response.status_code == 200, response.text
    return [e["kind"] for e in response.json()]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
