"""Complaints: what the gateway, partners and mini-programs send to intake and get back."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import Channel, Fen, Industry, Input, Phone, RegionCode, refused
from shared.contracts.merchants import USCC

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ComplaintState(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    assigned = "assigned"
    # The handler it was dispatched to sent it back (退回) with a reason: with its dispatcher again, to dispatch anew.
    returned = "returned"
    responded = "responded"
    escalated = "escalated"
    resolved = "resolved"
    closed = "closed"
    not_accepted = "not_accepted"
    withdrawn = "withdrawn"
    transferred = "transferred"


# How a state reads to a tourist or an official (each at most 5 characters: a WeChat message's `phrase`).
STATE_LABELS_ZH: dict[str, str] = {
    ComplaintState.submitted: "待受理",
    ComplaintState.accepted: "已受理",
    ComplaintState.assigned: "处理中",
    ComplaintState.returned: "待重新派单",
    ComplaintState.responded: "已答复",
    ComplaintState.escalated: "已升级",
    ComplaintState.resolved: "已办结",
    ComplaintState.closed: "已结案",
    ComplaintState.not_accepted: "不予受理",
    ComplaintState.withdrawn: "已撤销",
    ComplaintState.transferred: "已转办",
}

OPEN_STATES = frozenset(
    {
        ComplaintState.submitted,
        ComplaintState.accepted,
        ComplaintState.assigned,
        ComplaintState.returned,
        ComplaintState.responded,
        ComplaintState.escalated,
        ComplaintState.transferred,
    }
)


class Remedy(StrEnum):
    refund = "refund"
    compensation = "compensation"
    exchange = "exchange"
    apology = "apology"
    other = "other"


class NotAcceptedReason(StrEnum):
    duplicate = "duplicate"
    out_of_scope = "out_of_scope"
    insufficient_information = "insufficient_information"


class AtFault(StrEnum):
    merchant = "merchant"
    consumer = "consumer"
    shared = "shared"
    none = "none"
    undetermined = "undetermined"


class ResolutionOutcome(StrEnum):
    """How an official settled a complaint (办结结果): one of these, so that reports and the channels' centres
    read the same words. The platform records two more itself: `response_accepted` (the tourist accepted the
    merchant's response) and `imported` (a channel's case that arrived settled)."""

    refunded = "refunded"  # 已退款
    compensated = "compensated"  # 已赔偿
    mediated = "mediated"  # 调解成功
    apologized = "apologized"  # 赔礼道歉
    explained = "explained"  # 已解释说明
    merchant_not_liable = "merchant_not_liable"  # 商户无责
    unfounded = "unfounded"  # 投诉不成立
    other = "other"  # 其他 (the note says what)


class DeadlineKind(StrEnum):
    accept = "accept"
    dispose = "dispose"
    settle = "settle"
    reply = "reply"  # a public-opinion notice's report back to the center that sent it (reply_by)


class AssigneeKind(StrEnum):
    merchant = "merchant"
    unit = "unit"


class _In(Input):
    pass


def _in_our_times(at: datetime) -> datetime:
    if not 2000 <= at.year <= 2100:
        raise refused("time_range", "must be a time between the years 2000 and 2100")
    return at


# A time with its offset, within reason (a year-1 time overflows when moved to UTC or compared).
Moment = Annotated[AwareDatetime, AfterValidator(_in_our_times)]


class ComplaintSubmit(_In):
    """A new complaint. Consumers' channel comes from their login; staff say which channel it came by."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "region_code": "460200",
                    "merchant_id": "mer_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                    "industry": "lodging",
                    "description": "Booked a sea-view room, was given a room facing the car park and refused a refund.",
                    "amount_involved_fen": 128000,
                    "remedy": "refund",
                    "occurred_at": "2026-11-20T12:00:00Z",
                    "contact_phone": "13812341234",
                }
            ]
        },
    )

    channel: Channel | None = Field(None, description="staff and partners: the channel the complaint came by")
    external_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_.:\-]{1,64}$")] | None = Field(
        None, description="partners: their own id of the case; the same case pushed again is the same complaint"
    )
    region_code: RegionCode
    merchant_id: str | None = Field(None, max_length=40, description="a registered merchant's id")
    merchant_uscc: USCC | None = Field(
        None,
        description=(
            "channels and partners: the merchant's unified social credit code, when they name it so; a registered "
            "merchant with this code is the one complained about"
        ),
    )
    merchant_name: Text200 | None = Field(None, description="as the tourist gives it, when not registered")
    merchant_address: Text200 | None = None
    industry: Industry
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    amount_involved_fen: Fen = 0
    remedy: Remedy
    occurred_at: Moment = Field(description="with its offset: 2026-11-20T12:00:00Z or ...+08:00")
    contact_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    contact_phone: Phone
    received_at: Moment | None = Field(
        None,
        description=(
            "channels and partners: when the channel received the case (a 12345 call); reports count the handling "
            "time from it. Deadlines count from when it reaches this platform."
        ),
    )
    dispatched_at: Moment | None = Field(
        None, description=("channels and partners: when the channel dispatched the case to this platform")
    )
    reply_by: Moment | None = Field(
        None,
        description=(
            "public_opinion: when the center that sent the notice wants the region's report back (default: received "
            "plus the region's notice_reply_hours)"
        ),
    )
    source_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = Field(
        None,
        examples=["昆明市指挥中心《涉旅信息通报单》"],
        description=(
            "the named platform or center it came through, when not the region's name for the channel (default: "
            "the region's named source for the channel, a partner's display name, else the channel's label)"
        ),
    )


class PossibleLinkState(StrEnum):
    suggested = "suggested"
    confirmed = "confirmed"
    dismissed = "dismissed"


class PossibleLinkOut(BaseModel):
    """Another account's complaint with the same contact phone, merchant and a similar story: perhaps the same
    case. Flagged for the region's officials; nothing is shared or refused until one of them confirms it."""

    id: str = Field(examples=["lnk_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    complaint_id: str = Field(description="the other complaint", examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    case_number: str | None = Field(
        None, description="the other complaint's case number", examples=["460200-20261206-0041"]
    )
    channel: Channel = Field(description="the channel the other complaint came by", examples=["hotline_12345"])
    worked_as: str = Field(
        description=(
            "once confirmed, the complaint that is worked (the earlier one); the other is linked to it, and each "
            "origin hears of its progress through its own channel"
        ),
        examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"],
    )
    state: PossibleLinkState = Field(examples=["suggested"])
    reason: str = Field(
        description="same_phone_similar_text: the same contact phone and merchant, a similar story",
        examples=["same_phone_similar_text"],
    )
    similarity: float = Field(description="how alike the two stories are, 0 to 1", examples=[0.93])
    flagged_at: datetime = Field(examples=["2026-11-20T02:20:00Z"])
    decided_at: datetime | None = Field(None, examples=["2026-11-20T03:05:00Z"])
    decided_by_name: str | None = Field(None, examples=["受理员"])
    note: str | None = Field(None, examples=["电话回访确认为同一游客"])


class NoticeLinkIn(_In):
    """A public-opinion notice repeats a complaint already being handled: it is worked as that complaint."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"complaint_id": "cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K", "note": "与12301平台景怡旅行社投诉件内容一致"}
            ]
        },
    )

    complaint_id: str = Field(pattern=r"^[0-9A-Za-z_]{1,40}$", description="the complaint the notice repeats")
    note: Note | None = None


class NoticeReplyIn(_In):
    """The region's report back to the center that sent a public-opinion notice (上报处理情况)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"note": "已督促旅行社与游客协商一致，游客已撤诉，处理情况已上报市指挥中心。"}]
        },
    )

    note: Note
    replied_at: Moment | None = Field(
        None, description="when it was reported back, if before now (recorded afterwards); default now"
    )


class LinkDecisionIn(_In):
    """An official's decision on a possible link: confirm (the later complaint is then worked as the earlier
    one, and each origin hears of its progress through its own channel) or dismiss (nothing changes)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"link_id": "lnk_01JD3V0W8Q6M4Y2C1B9T7X5N3K", "confirm": True, "note": "电话回访确认为同一游客"}
            ]
        },
    )

    link_id: Annotated[str, StringConstraints(pattern=r"^lnk_[0-9A-Z]{1,40}$")] = Field(
        description="a possible link of this complaint (its `possible_links`)"
    )
    confirm: bool = Field(description="true: the same case; false: not the same case")
    note: Note | None = None


class MissedDeadline(BaseModel):
    """A deadline the complaint missed: which, and when it fell due (how late it is: now minus `due_at`)."""

    kind: DeadlineKind = Field(examples=["dispose"])
    due_at: datetime = Field(examples=["2026-11-20T02:33:00Z"])


class Deadlines(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accept_by": "2026-11-20T02:03:00Z",
                    "dispose_by": "2026-11-20T02:33:00Z",
                    "settle_by": "2026-11-22T02:03:00Z",
                    "next_deadline": "settle",
                    "next_due_at": "2026-11-22T02:03:00Z",
                    "overdue": ["dispose"],
                    "missed": [{"kind": "dispose", "due_at": "2026-11-20T02:33:00Z"}],
                    "late_since": "2026-11-20T02:33:00Z",
                }
            ]
        }
    )

    accept_by: datetime
    dispose_by: datetime | None
    settle_by: datetime | None
    next_deadline: DeadlineKind | None = Field(description="the next deadline still to meet, if any")
    next_due_at: datetime | None
    overdue: list[DeadlineKind] = Field(description="deadlines already missed")
    missed: list[MissedDeadline] = Field(
        default_factory=list,
        description=(
            "the deadlines already missed with when each fell due, earliest first (say 已超时 2小时15分 from it, "
            "never time left)"
        ),
    )
    late_since: datetime | None = Field(
        None,
        description=(
            "while the complaint is open and has missed a deadline: when its first missed deadline fell due. The "
            "staff queue lists these first, the longest late first; null for a complaint on time or concluded"
        ),
    )


class Assignee(BaseModel):
    kind: AssigneeKind
    id: str
    name: str | None = None


# A case number people can say on the phone, 12345-style: the region, the day it was received (Asia/Shanghai)
# and that day's sequence in the region.
CASE_NUMBER_PATTERN = r"^\d{6}-\d{8}-\d{4,6}$"


def case_number_of(region_code: str, day: date, seq: int) -> str:
    return f"{region_code}-{day:%Y%m%d}-{seq:04d}"


def normalise_case_number(text: str) -> str | None:
    """A case number as typed or read out (spaces, full-width digits, no dashes) in its written form; None when
    it cannot be one."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
    if not 18 <= len(digits) <= 20:
        return None
    return f"{digits[:6]}-{digits[6:14]}-{digits[14:]}"


class ComplaintOut(BaseModel):
    id: str = Field(examples=["cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    case_number: str | None = Field(
        None,
        examples=["460200-20261206-0042"],
        description=("the case number to say on the phone: region, day received (Asia/Shanghai), that day's sequence"),
    )
    progress_url: str | None = Field(
        None,
        description=(
            "in the answer to a submission only (set by the gateway): the tourist's progress page, a signed link "
            "that expires; pass it on to the tourist"
        ),
    )
    state: ComplaintState
    channel: Channel
    source_name: str | None = Field(
        None, examples=["智旅通投诉平台"], description="the named platform it came through, as its region names it"
    )
    unit: Assignee | None = Field(
        None, description="the handling unit responsible for it (处理单位), chosen by the region's assignment rules"
    )
    reply_by: datetime | None = Field(
        None, description="a public-opinion notice: when the region must report back to the center that sent it"
    )
    replied_at: datetime | None = Field(None, description="a public-opinion notice: when the region reported back")
    reply_overdue: bool = Field(
        False, description="a public-opinion notice: its reply deadline passed unanswered (marked and escalated once)"
    )
    external_id: str | None = Field(None, description="the partner's own id, for complaints a partner pushed")
    links: list[dict[str, Any]] = Field(
        default_factory=list,
        description=(
            "the same case received again by other channels (complaint_id, channel, source_id, external_id): "
            "those complaints are not worked; this one is, and its progress goes to them too. Only the same "
            "account's repeat is linked by itself; another account's only once an official confirms it"
        ),
    )
    possible_links: list[PossibleLinkOut] = Field(
        default_factory=list,
        description=(
            "officials and admins only: other accounts' complaints with the same contact phone and a similar "
            "story, to confirm or dismiss (POST .../link-decisions); empty for anyone else"
        ),
    )
    region_code: str
    merchant_id: str | None
    merchant_name: str
    merchant_address: str | None
    industry: Industry
    description: str
    amount_involved_fen: int
    remedy: Remedy
    occurred_at: datetime
    contact_name: str | None = Field(description="masked (王*) for anyone but the complainant", examples=["王*"])
    contact_phone: str | None = Field(
        description=(
            "masked (138****1234) for anyone but the complainant; the official handling the case gets it in full "
            "from POST .../contact-reveals, which is recorded"
        ),
        examples=["138****1234"],
    )
    consumer_id: str | None
    not_accepted_reason: NotAcceptedReason | None
    not_accepted_note: str | None
    duplicate_of: str | None
    assignee: Assignee | None
    transferred_from: str | None
    submitted_at: datetime = Field(description="when the case was received: by its channel, if that said when")
    dispatched_at: datetime | None = Field(None, description="when the channel dispatched it to this platform")
    arrived_at: datetime | None = Field(None, description="when it reached this platform, if later than received")
    accepted_at: datetime | None
    assigned_at: datetime | None
    responded_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    deadlines: Deadlines
    response_text: str | None
    offered_refund_fen: int | None
    outcome: str | None
    at_fault: AtFault | None
    amount_refunded_fen: int
    satisfaction: int | None
    evaluation_comment: str | None
    evidence_count: int = 0
    compensation_requested_at: datetime | None = None
    compensation_state: str | None = Field(
        None, description="requested, approved, awaiting_payee_name, rejected, paid or payout_failed"
    )
    compensation_paid_fen: int = Field(0, description="advance compensation (先行赔付) paid to the complainant")
    actions: list[str] = Field(
        default_factory=list,
        examples=[["responses", "dispatch-returns", "extension-requests"]],
        description=(
            "the lifecycle actions (the sub-resources under /v1/complaints/{id}/) the caller may take on the "
            "complaint now, by their part in it and its state; the service checks again when one is taken"
        ),
    )


class ProgressStep(BaseModel):
    """One step of a complaint as its complainant's progress page shows it: no names, no internal notes."""

    at: datetime
    kind: str = Field(examples=["responded"])
    label: str = Field(examples=["商家答复"])
    by: str = Field(examples=["商家"], description="who took the step: 您, 商家, 工作人员 or 系统")
    state_label: str | None = Field(None, examples=["已答复"])


class ProgressOut(BaseModel):
    """A complaint as a tourist follows it outside the mini-program (the progress page): its state, public
    timeline, the merchant's response and the next deadline; no personal data."""

    case_number: str | None = Field(examples=["460200-20261206-0042"])
    state: ComplaintState
    state_label: str = Field(examples=["已答复"])
    merchant_name: str
    industry_label: str = Field(examples=["住宿"])
    submitted_at: datetime
    next_deadline: str | None = Field(None, examples=["settle"], description="accept, dispose or settle")
    next_deadline_label: str | None = Field(None, examples=["办结"])
    next_due_at: datetime | None = None
    overdue: bool = False
    response_text: str | None = None
    offered_refund_fen: int | None = None
    responded_at: datetime | None = None
    outcome_text: str | None = Field(None, examples=["已按商家答复办结"])
    amount_refunded_fen: int = 0
    satisfaction: int | None = None
    may_accept: bool = Field(description="the response can be accepted (it resolves the complaint)")
    may_reject: bool = Field(description="the response can be rejected (officials mediate)")
    may_evaluate: bool = Field(description="the handling can be rated (1-5)")
    timeline: list[ProgressStep]


class ComplaintPage(BaseModel):
    """A page of complaints: pass `next_cursor` back as `cursor` for the next one; null at the end."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [],
                    "next_cursor": "WyJ1cmdlbmN5IixbMCwiMjAyNi0xMS0yMFQwMjozMzowMCswMDowMCIsImNtcF8wMSJdXQ",
                    "total": 137,
                    "total_is_lower_bound": False,
                },
                {
                    "items": [],
                    "next_cursor": "WyJ1cmdlbmN5IixbMCwiMjAyNi0xMS0yMFQwMjozMzowMCswMDowMCIsImNtcF8wMSJdXQ",
                    "total": 10000,
                    "total_is_lower_bound": True,
                },
            ]
        }
    )

    items: list[ComplaintOut]
    next_cursor: str | None = Field(
        None,
        description=(
            "the position after this page's last complaint in the list's order: complaints that arrive meanwhile "
            "never shift the pages"
        ),
    )
    total: int | None = Field(
        None,
        examples=[137, 10000],
        description=(
            "how many complaints the filter finds, counted on the first page (no cursor) up to the service's cap "
            "(INTAKE_QUEUE_TOTAL_CAP, 10000 by default): past it, the cap, with `total_is_lower_bound` true; null on "
            "later pages"
        ),
    )
    total_is_lower_bound: bool | None = Field(
        None,
        examples=[False, True],
        description=(
            "true: the filter finds more complaints than `total` (counting stopped at the cap; show it as "
            '"10000+"); false: `total` is exact; null on later pages'
        ),
    )


class ComplaintCounts(BaseModel):
    """The caller's open complaints: how many, how many late, per state (the console's overdue counter)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "open": 57,
                    "overdue": 12,
                    "by_state": {"submitted": 3, "assigned": 40, "escalated": 14},
                    "overdue_by_state": {"escalated": 12},
                }
            ]
        }
    )

    open: int
    overdue: int = Field(description="open complaints that missed a deadline")
    by_state: dict[ComplaintState, int] = Field(description="open complaints per state (absent: none)")
    overdue_by_state: dict[ComplaintState, int] = Field(description="late open complaints per state")


class ContactRevealIn(_In):
    """Why the full contact is needed (optional): the callback visit (回访), say."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"purpose": "回访"}]})

    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None


class ContactRevealOut(BaseModel):
    """The complainant's contact in full, for the official handling the case; the reveal is recorded."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "complaint_id": "cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                    "contact_name": "王芳",
                    "contact_phone": "13812341234",
                    "revealed_at": "2026-11-20T03:10:00Z",
                    "revealed_by": "usr_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                    "revealed_by_name": "三亚市受理员",
                }
            ]
        }
    )

    complaint_id: str
    contact_name: str | None
    contact_phone: str | None
    revealed_at: datetime
    revealed_by: str
    revealed_by_name: str | None


class ContactRevealRecord(BaseModel):
    """One reveal of a complaint's contact: who, when, why (never the contact itself)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "complaint_id": "cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                    "revealed_at": "2026-11-20T03:10:00Z",
                    "revealed_by": "usr_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                    "revealed_by_name": "三亚市受理员",
                    "revealed_by_role": "official",
                    "revealed_by_region": "460200",
                    "purpose": "回访",
                }
            ]
        }
    )

    complaint_id: str
    revealed_at: datetime
    revealed_by: str | None
    revealed_by_name: str | None
    revealed_by_role: str
    revealed_by_region: str | None = None
    purpose: str | None = None


class TimelineEntryOut(BaseModel):
    at: datetime
    kind: str = Field(
        examples=["responded"],
        description=(
            "the step: an action (submitted, accepted, assigned, responded, escalated, resolved...), or a fact "
            "such as evidence_added, linked, overdue; possible_link, link_confirmed and link_dismissed (shown to "
            "officials and admins only) flag and decide another account's similar complaint; notified or "
            "notification_failed say whether the complainant "
            "was told of a change (data: notification_id, provider, state sent/refused/failed/not_supported, "
            "state_told, error, attempts)"
        ),
    )
    actor_role: str
    actor_id: str | None
    actor_name: str | None
    state_from: ComplaintState | None
    state_to: ComplaintState | None
    note: str | None
    data: dict[str, Any] | None


class EvidenceOut(BaseModel):
    id: str
    complaint_id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


# --- lifecycle actions (each a sub-resource, each a timeline entry) -----------------------------
class IntakeDecisionIn(_In):
    """An official's acceptance decision (受理 / 不予受理) on a complaint waiting for one."""

    accept: bool
    reason: NotAcceptedReason | None = Field(None, description="required when not accepting")
    note: Note | None = None


class AssignmentIn(_In):
    kind: AssigneeKind
    merchant_id: str | None = Field(None, description="for kind=merchant; default the complaint's merchant")
    unit_id: str | None = Field(
        None,
        max_length=40,
        examples=["530103-sbh"],
        description="for kind=unit: a handling unit of the region or above it; default the one its rules chose",
    )
    note: Note | None = None


class ResponseIn(_In):
    """The merchant's or handler's substantive response (处置)."""

    message: Note
    offered_refund_fen: Fen | None = Field(None, description="what the merchant offers to refund")


class ConsumerVerdictIn(_In):
    note: Note | None = None


class EscalationIn(_In):
    reason: Note


class TransferIn(_In):
    region_code: RegionCode
    reason: Note


class WithdrawalIn(_In):
    reason: Note | None = None


class ResolutionIn(_In):
    outcome: ResolutionOutcome = Field(examples=["refunded"])
    at_fault: AtFault
    amount_refunded_fen: Fen = 0
    note: Note | None = None


class ClosureIn(_In):
    note: Note | None = None


class EvaluationIn(_In):
    score: int = Field(ge=1, le=5, strict=True)
    comment: Note | None = None


class CallbackVisitIn(_In):
    """The handler's callback visit (回访) to the complainant."""

    reached: bool
    satisfied: bool | None = None
    note: Note | None = None


class HandlingUnitOut(BaseModel):
    """A unit that handles complaints (处理单位)."""

    id: str = Field(examples=["530103-wlj"])
    name: str = Field(examples=["区文化和旅游局"], description="as the region's own reports write it")
    full_name: str | None = Field(None, examples=["盘龙区文化和旅游局"])
    kind: str = Field(examples=["culture_tourism_bureau"])


class RegionSourceOut(BaseModel):
    """A named source the region's reports count complaints by: a channel kind and the platform's name."""

    channel: Channel = Field(examples=["partner"])
    name: str = Field(examples=["智旅通投诉平台"])


class DispatchReturnIn(_In):
    """The handler it was dispatched to sends the complaint back to its dispatcher (退回): not theirs to handle."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "该店已转让，现经营者另有其人"}]}
    )

    reason: Note


# An extension (延期) adds hours to the settlement deadline (办结时限): at most 30 days at a time.
ExtensionHours = Annotated[int, Field(ge=1, le=720, strict=True, examples=[72])]


class ExtensionRequestIn(_In):
    """The handler asks for more time to settle (延期申请); the supervising official decides."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"extend_hours": 72, "reason": "需等待景区调取监控录像"}]}
    )

    extend_hours: ExtensionHours = Field(description="hours added to the settlement deadline if approved")
    reason: Note


class ExtensionDecisionIn(_In):
    """The supervising official's decision on the complaint's pending extension request."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"approve": True, "note": "同意延期"}]})

    approve: bool
    note: Note | None = None


class ExtensionState(StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    lapsed = "lapsed"  # the complaint was concluded (or moved away) before anyone decided


class ExtensionOut(BaseModel):
    id: str = Field(examples=["ext_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    complaint_id: str
    state: ExtensionState
    extend_hours: int = Field(examples=[72])
    reason: str
    requested_at: datetime
    requested_by_name: str | None = None
    requested_by_role: str
    due_before: datetime | None = Field(None, description="the settlement deadline when it was asked for")
    due_after: datetime | None = Field(None, description="the settlement deadline it moved to, once approved")
    decided_at: datetime | None = None
    decided_by_name: str | None = None
    decision_note: str | None = None


class SupervisionNoticeIn(_In):
    """A province official's supervision notice (督办) to the city handling the complaint, with its own deadline
    for the city's reply."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "请于24小时内核实处理并报送结果", "reply_within_hours": 24}]},
    )

    note: Note
    reply_within_hours: Annotated[int, Field(ge=1, le=720, strict=True, examples=[24])]


class SupervisionReplyIn(_In):
    """The city's reply to the open supervision notice (督办回复)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"message": "已约谈商家，今日办结"}]})

    message: Note


class SupervisionState(StrEnum):
    open = "open"
    answered = "answered"


class SupervisionNoticeOut(BaseModel):
    id: str = Field(examples=["sup_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    complaint_id: str
    state: SupervisionState
    from_region: str | None = Field(examples=["460000"])
    to_region: str = Field(examples=["460200"])
    note: str
    issued_at: datetime
    issued_by_name: str | None = None
    reply_by: datetime = Field(description="the notice's own deadline for the city's reply")
    overdue: bool = Field(description="the reply deadline passed without a reply")
    replied_at: datetime | None = None
    replied_by_name: str | None = None
    reply: str | None = None
    replied_in_time: bool | None = None


class MergeIn(_In):
    """Merge this complaint (a duplicate) into another open one, which is worked for both (合并): this one is not
    worked any more, and its origin hears of the other's progress through its own channel."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"into": "460200-20261206-0042", "reason": "同一游客同一事项重复投诉"}]},
    )

    into: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = Field(
        description="the complaint kept: its id (cmp_...) or its case number"
    )
    reason: Note


class ReopenIn(_In):
    """Reopen a concluded complaint (重新办理): worked again by whoever handled it, with a new settlement deadline."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "回访不满意，商家未按承诺退款"}]}
    )

    reason: Note


class RegionOut(BaseModel):
    """A region of the national catalogue (Ministry of Civil Affairs codes) with its settings as inherited."""

    code: str = Field(examples=["530103"])
    name: str = Field(examples=["盘龙区"])
    name_en: str = Field(examples=["Panlong"])
    parent: str | None = Field(examples=["530100"])
    level: str = Field(examples=["county"], description="province, prefecture or county")
    served: bool = Field(description="takes complaints and return requests on this platform")
    default: bool = Field(
        False,
        examples=[False],
        description=(
            "the platform's default region (Hainan in the shipped data): the one a page opens on when the reader "
            "has no region of their own. GET /v1/regions lists regions by code and marks this one (exactly one, when "
            "the platform names one)"
        ),
    )
    handling_unit: str = Field(examples=["区文化和旅游局"], description="the default handling unit's name")
    units: list[HandlingUnitOut] = Field(
        default_factory=list,
        description="its own handling units, then its parent's (and so on up); the first is the default",
    )
    sources: list[RegionSourceOut] = Field(
        default_factory=list, description="the named sources its reports count: its own in its order, then its parent's"
    )


class AcceptanceRulesOut(BaseModel):
    """The rules that decide whether a region's complaint is accepted: its own, else its nearest ancestor's, else
    the platform's (intake's INTAKE_AUTO_ACCEPT, INTAKE_COMPLAINT_WINDOW_DAYS, INTAKE_DUPLICATE_WINDOW_HOURS and
    INTAKE_MIN_DESCRIPTION_CHARS)."""

    auto_accept: bool = Field(
        examples=[True], description="accepted and assigned at once; false: each waits for an official's decision"
    )
    complaint_window_days: int = Field(
        examples=[90], description="an event older than this many days is not accepted (out_of_scope)"
    )
    duplicate_window_hours: int = Field(
        examples=[24], description="how far back the same account's repeat (duplicate) or a look-alike is looked for"
    )
    min_description_chars: int = Field(
        examples=[10], description="a shorter description is not accepted (insufficient_information)"
    )


class RegionDetailOut(RegionOut):
    chain: list[RegionOut] = Field(description="its parent, then the parent's parent, up to the province")
    acceptance: AcceptanceRulesOut = Field(description="its acceptance rules as it has them (also in `settings`)")
    settings: dict[str, Any] = Field(
        description="every setting as the region has it: its own, else its nearest ancestor's, else the default"
    )


class IndustryOut(BaseModel):
    code: Industry
    label_zh: str
