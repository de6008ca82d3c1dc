"""Partner platforms and their webhooks, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import Channel, Input

WebhookUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{3,490}$")]


class PartnerIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "海南省12345政务服务便民热线",
                    "webhook_url": "https://hotline.example.cn/assured-tour/webhook",
                    "channel": "hotline_12345",
                },
                {"name": "某在线旅游平台", "webhook_url": "https://ota.example.com/hooks/complaints"},
            ]
        },
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    webhook_url: WebhookUrl | None = None
    channel: Channel | None = Field(
        None,
        description=(
            "a government channel's center (one this gateway serves, GATEWAY_GOVERNMENT_CHANNELS): it pushes work "
            "orders in its own format to /callbacks/{channel} and hears back in that format; none: the partner API"
        ),
    )


class WebhookIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"url": "https://ota.example.com/hooks/complaints"}]}
    )

    url: WebhookUrl | None = Field(description="None stops the webhooks")


class PartnerOut(BaseModel):
    id: str = Field(examples=["ptn_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    name: str
    webhook_url: str | None
    channel: str | None = None
    disabled: bool
    created_at: datetime


class PartnerKeyOut(BaseModel):
    key_id: str = Field(examples=["pky_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    secret: str = Field(description="shown this once: keep it in the partner's secret store")
    created_at: datetime


class PartnerCreated(BaseModel):
    partner: PartnerOut
    key: PartnerKeyOut


class DeliveryOut(BaseModel):
    id: str = Field(examples=["whd_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    event_id: str
    event_type: str
    complaint_id: str
    state: str = Field(description="pending, delivered, or failed (given up; replay it)")
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    payload: dict[str, Any]
