"""A tourist's notification of their complaint's progress: what the gateway tells intake of its outcome,
so that the complaint's timeline shows whether the tourist was told (`notified`) or not
(`notification_failed`), and why."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.contracts.common import ID_PATTERN, Input
from shared.contracts.complaints import ComplaintState


class NotificationOutcome(StrEnum):
    sent = "sent"  # the provider accepted the message
    refused = "refused"  # the provider will not deliver it (no subscription left, user blocked): final
    failed = "failed"  # the provider was down for every attempt
    not_supported = "not_supported"  # the tourist's app has no message API here (Douyin, Kuaishou)


# The timeline kind each outcome is recorded as.
NOTIFIED, NOTIFICATION_FAILED = "notified", "notification_failed"


class NotificationOutcomeIn(Input):
    complaint_id: str = Field(
        pattern=ID_PATTERN,
        examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"],
        description="the complaint whose timeline records it",
    )
    notification_id: str = Field(
        pattern=r"^ntf_[0-9A-Z]{26}$",
        examples=["ntf_01JD3V0W8Q6M4Y2C1B9T7X5N3K"],
        description="the gateway's notification: each is recorded once",
    )
    provider: str | None = Field(
        pattern=r"^[a-z]{1,20}$",
        examples=["wechat"],
        description=(
            "the message API: wechat (subscribe message), alipay (mini-program message), douyin, kuaishou; "
            "null when the tourist has no mini-program login"
        ),
    )
    provider_label: str | None = Field(
        None,
        max_length=20,
        examples=["微信"],
        description=(
            "the login's name as the tourist knows it, in Chinese, from the gateway's login module (the timeline "
            "says it); null: the provider's name is said as it is"
        ),
    )
    outcome: NotificationOutcome = Field(examples=["sent"])
    state_told: ComplaintState = Field(examples=["assigned"], description="the state the message announced")
    error: str | None = Field(
        None,
        max_length=300,
        examples=["43101: the tourist has no subscription left"],
        description="why it was not sent",
    )
    attempts: int = Field(ge=0, le=1000, examples=[1])
    at: datetime = Field(examples=["2026-11-20T02:00:05Z"], description="when the outcome was known")


class NotificationOutcomesIn(Input):
    """Outcomes the gateway's notification worker learnt in one pass, recorded in one transaction."""

    outcomes: list[NotificationOutcomeIn] = Field(min_length=1, max_length=100)


class NotificationRecordedOut(BaseModel):
    notification_id: str = Field(examples=["ntf_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    kind: str | None = Field(
        examples=[NOTIFIED],
        description=("the timeline entry's kind: notified or notification_failed; null when the complaint is unknown"),
    )
    recorded: bool = Field(
        examples=[True],
        description=("false: this notification was on the timeline already, or its complaint is unknown (see `error`)"),
    )
    error: str | None = Field(None, examples=["complaint_not_found"], description="why it cannot be recorded")


class NotificationsRecordedOut(BaseModel):
    results: list[NotificationRecordedOut] = Field(description="one per outcome, in the order sent")
