"""The event catalogue: versioned payloads, the envelope, and who subscribes to what.

Commands are imperative, events past tense. Every payload here is part of the contract between
services: add fields with defaults, and bump `version` for anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field, model_validator

from shared.contracts.common import Channel, Fen, Industry


class EventEnvelope(BaseModel):
    id: str = Field(examples=["evt_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    type: str = Field(examples=["complaint.accepted"])
    version: int = 1
    occurred_at: datetime
    producer: str = Field(examples=["intake"])
    payload: dict[str, Any]


class DomainEvent(BaseModel):
    type: ClassVar[str]
    version: ClassVar[int] = 1


# --- intake -------------------------------------------------------------------------------------
class ComplaintEvent(DomainEvent):
    complaint_id: str
    case_number: str | None = Field(None, description="the case number people say on the phone")
    region_code: str
    channel: Channel
    industry: Industry
    merchant_id: str | None = None
    consumer_id: str | None = None
    source_id: str | None = Field(None, description="the partner that pushed the complaint, if one did")
    external_id: str | None = Field(None, description="that partner's own id of the case")
    links: list[dict[str, Any]] = Field(
        default_factory=list,
        description=(
            "the same case received again by other channels: complaint_id, channel, source_id, external_id, consumer_id"
        ),
    )


class ComplaintSubmitted(ComplaintEvent):
    type: ClassVar[str] = "complaint.submitted"
    amount_involved_fen: int = 0


class ComplaintStateChanged(ComplaintEvent):
    """Every transition, for those who follow a complaint's progress (notifications, partners)."""

    type: ClassVar[str] = "complaint.state_changed"
    action: str
    state_from: str | None
    state_to: str
    note: str | None = None
    data: dict[str, Any] | None = Field(
        None, description="what the timeline entry records (a refund offered, the outcome, a callback visit's answers)"
    )
    revision: int | None = Field(
        None,
        description=(
            "counts the complaint's changes: of two events about one complaint, the later change has the higher one, "
            "whichever arrives first"
        ),
    )
    asks_consumer: bool = Field(
        False,
        description=(
            "the tourist is asked for something (the payee's real name): told to them even where the state stays"
        ),
    )


class ComplaintAccepted(ComplaintEvent):
    type: ClassVar[str] = "complaint.accepted"
    assigned_to: str = Field(description="merchant:<id> or unit:<region code>")


class ComplaintResolved(ComplaintEvent):
    type: ClassVar[str] = "complaint.resolved"
    outcome: str
    at_fault: str = Field(description="merchant, consumer, shared, none or undetermined")
    minutes_to_respond: int | None = None
    responded_in_time: bool | None = None
    amount_refunded_fen: Fen = 0


class ComplaintEvaluated(ComplaintEvent):
    """The complainant's satisfaction with how the merchant handled it: it counts in the merchant's credit."""

    type: ClassVar[str] = "complaint.evaluated"
    score: int = Field(ge=1, le=5)


class ComplaintOverdue(ComplaintEvent):
    type: ClassVar[str] = "complaint.overdue"
    deadline: str = Field(description="accept, dispose or settle; reply: a public-opinion notice's report back")
    due_at: datetime


class ComplaintWithdrawn(ComplaintEvent):
    type: ClassVar[str] = "complaint.withdrawn"
    reason: str | None = None


class ComplaintMerged(ComplaintEvent):
    """The complaint was merged into another (a duplicate, or another account's complaint an official confirmed is
    the same case): it is not worked, and what it counted (its acceptance) no longer counts; the other does."""

    type: ClassVar[str] = "complaint.merged"
    merged_into: str = Field(description="the complaint worked for both")


class ComplaintReopened(ComplaintEvent):
    """A concluded complaint is worked again: its resolution and rating no longer stand, and its next
    complaint.resolved (and complaint.evaluated) replace them, so it counts once."""

    type: ClassVar[str] = "complaint.reopened"
    reason: str
    previous_outcome: str | None = None
    previous_at_fault: str | None = None


class CompensationRequested(ComplaintEvent):
    """The complainant (or an official for them) asks the platform to pay first."""

    type: ClassVar[str] = "compensation.requested"
    amount_requested_fen: Fen
    reason: str
    amount_involved_fen: Fen = 0
    evidence_count: int = 0
    liability_clear: bool = Field(False, description="the merchant was found at fault or missed a deadline")
    scenario: str | None = None
    facts: dict[str, int | str | bool] = Field(default_factory=dict)
    requested_by: str = Field("consumer", description="who asked: the consumer, or the official's id")


# --- compensation -------------------------------------------------------------------------------
class ClaimEvent(DomainEvent):
    claim_id: str
    complaint_id: str
    merchant_id: str | None = None


class ClaimApproved(ClaimEvent):
    type: ClassVar[str] = "claim.approved"
    amount_fen: Fen


class ClaimRejected(ClaimEvent):
    type: ClassVar[str] = "claim.rejected"
    reason: str


class PayoutSucceeded(ClaimEvent):
    type: ClassVar[str] = "payout.succeeded"
    payout_id: str
    amount_fen: Fen


class PayoutFailed(ClaimEvent):
    type: ClassVar[str] = "payout.failed"
    payout_id: str
    reason: str


class PayeeNameRequired(ClaimEvent):
    """An approved claim's payout waits: its provider needs the payee's real name for this amount."""

    type: ClassVar[str] = "claim.payee_name_required"
    version: ClassVar[int] = 2  # 1 named the provider `channel`: still read, so events written before are applied
    payout_id: str
    amount_fen: Fen
    provider: str = Field(description="the payout provider: wechat, alipay, ...")

    @model_validator(mode="before")
    @classmethod
    def _read_version_1(cls, data: Any) -> Any:
        """Version 1 named the provider `channel`: an event written before is applied all the same."""
        if isinstance(data, dict) and "provider" not in data and "channel" in data:
            return {**data, "provider": data["channel"]}
        return data


class PayeeNameGiven(ClaimEvent):
    """The payee's real name was given for a claim (never the name itself)."""

    type: ClassVar[str] = "claim.payee_name_given"
    given_by: str = Field(description="consumer, or the official's id")


class RecoverySettled(ClaimEvent):
    type: ClassVar[str] = "recovery.settled"
    recovery_id: str
    amount_fen: Fen


class RecoveryDefaulted(ClaimEvent):
    type: ClassVar[str] = "recovery.defaulted"
    recovery_id: str
    amount_fen: Fen


# --- credit -------------------------------------------------------------------------------------
class SubjectEvent(DomainEvent):
    subject_id: str
    kind: str = Field(description="merchant or practitioner")
    name: str
    region_code: str
    industry: Industry | None = None
    settled: bool = True
    in_compensation_program: bool = False
    uscc: str | None = Field(None, description="a merchant's unified social credit code (channels name it by this)")
    revision: int = Field(1, description="increases with every change; older revisions are ignored")


class SubjectRegistered(SubjectEvent):
    type: ClassVar[str] = "subject.registered"


class SubjectUpdated(SubjectEvent):
    type: ClassVar[str] = "subject.updated"


class SubjectListed(DomainEvent):
    type: ClassVar[str] = "subject.listed"
    subject_id: str
    list_name: str
    until: datetime | None = None


class SubjectDelisted(DomainEvent):
    type: ClassVar[str] = "subject.delisted"
    subject_id: str
    list_name: str


CATALOGUE: dict[str, type[DomainEvent]] = {
    cls.type: cls
    for cls in (
        ComplaintSubmitted,
        ComplaintStateChanged,
        ComplaintAccepted,
        ComplaintResolved,
        ComplaintEvaluated,
        ComplaintOverdue,
        ComplaintWithdrawn,
        ComplaintMerged,
        ComplaintReopened,
        CompensationRequested,
        ClaimApproved,
        ClaimRejected,
        PayoutSucceeded,
        PayoutFailed,
        PayeeNameRequired,
        PayeeNameGiven,
        RecoverySettled,
        RecoveryDefaulted,
        SubjectRegistered,
        SubjectUpdated,
        SubjectListed,
        SubjectDelisted,
    )
}

# Who hears what. A producer writes one outbox row per subscriber listed here; a service is added
# to a line when it applies that event.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "subject.registered": ("intake", "compensation"),
    "subject.updated": ("intake", "compensation"),
    "complaint.state_changed": ("gateway",),
    "complaint.accepted": ("credit",),
    "complaint.resolved": ("credit",),
    "complaint.evaluated": ("credit",),
    "complaint.merged": ("credit",),
    "complaint.reopened": ("credit",),
    "compensation.requested": ("compensation",),
    "claim.approved": ("intake",),
    "claim.rejected": ("intake",),
    "payout.succeeded": ("intake",),
    "payout.failed": ("intake",),
    "claim.payee_name_required": ("intake",),
    "claim.payee_name_given": ("intake",),
    "recovery.settled": ("credit",),
    "recovery.defaulted": ("credit",),
}


# A subscriber that wants only some events of a type says which, by their payload: the gateway hears
# only of complaints someone follows there, a partner that pushed one (its webhooks) or a tourist who
# filed one from a mini-program (their notifications), not every step of every complaint.
WANTS: dict[tuple[str, str], Callable[[dict[str, Any]], bool]] = {
    ("complaint.state_changed", "gateway"): lambda payload: bool(
        payload.get("source_id")
        or payload.get("consumer_id")
        or any(link.get("source_id") or link.get("consumer_id") for link in payload.get("links") or ())
    ),
}


def subscribers_of(event_type: str, payload: dict[str, Any] | None = None) -> tuple[str, ...]:
    everyone = SUBSCRIPTIONS.get(event_type, ())
    if payload is None:
        return everyone
    return tuple(s for s in everyone if WANTS.get((event_type, s), _all)(payload))


def _all(payload: dict[str, Any]) -> bool:
    return True
