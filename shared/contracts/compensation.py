"""Advance compensation (先行赔付): funds, deposits, rules, claims, payouts, recovery, figures."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import Fen, Industry, Input

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
PositiveFen = Annotated[int, Field(gt=0, le=10_000_000_000, strict=True, examples=[30000])]


class _In(Input):
    pass


class ClaimState(StrEnum):
    pending_approval = "pending_approval"  # an official must approve (amount, fund floor, or liability)
    approved = "approved"  # fully approved; the payout is on its way
    paid = "paid"
    payout_failed = "payout_failed"  # the provider refused; an official may retry with the same key
    rejected = "rejected"


class PayoutState(StrEnum):
    pending = "pending"  # to be sent
    sending = "sending"  # a worker holds it
    processing = "processing"  # the provider accepted it; waiting for its result
    unknown = "unknown"  # the send timed out: query before anything else
    succeeded = "succeeded"
    failed = "failed"


class RecoveryState(StrEnum):
    open = "open"
    contested = "contested"
    settled = "settled"
    written_off = "written_off"
    defaulted = "defaulted"


class PayoutChannel(StrEnum):
    wechat = "wechat"
    alipay = "alipay"


# --- compensation requests (consumer -> intake -> compensation) ----------------------------------
class CompensationRequestIn(_In):
    """The complainant asks the platform to pay first."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"amount_requested_fen": 30000, "reason": "商家超过时限未处理", "scenario": None}]
        },
    )

    amount_requested_fen: PositiveFen
    reason: Note
    scenario: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")] | None = Field(
        None, description="a scenario standard of the rules, e.g. ferry_queue_both_legs"
    )
    facts: dict[str, int | str | bool] = Field(default_factory=dict, description="facts the scenario needs")


# --- rules ----------------------------------------------------------------------------------------
class ScenarioStandard(BaseModel):
    """A standard written as data: pay `percent` of the amount involved when the scenario applies."""

    code: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
    title: str
    industry: Industry | None = None
    percent: int = Field(ge=1, le=100)


class RuleSetIn(_In):
    """A new version of the unified compensation rules."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "auto_approve_below_fen": 50000,
                    "second_approval_from_fen": 500000,
                    "cap_per_claim_fen": 3000000,
                    "caps_per_industry_fen": {"transport": 1000000},
                    "cap_per_consumer_per_year_fen": 5000000,
                    "requires_evidence": True,
                    "scenarios": [
                        {
                            "code": "ferry_queue_both_legs",
                            "title": "往返均超排队时限",
                            "industry": "transport",
                            "percent": 100,
                        },
                        {
                            "code": "ferry_queue_one_leg",
                            "title": "单程超排队时限",
                            "industry": "transport",
                            "percent": 50,
                        },
                    ],
                    "note": "三亚轮渡排队标准",
                }
            ]
        },
    )

    auto_approve_below_fen: Fen = Field(description="claims below this are approved without an official")
    second_approval_from_fen: Fen = Field(description="claims from this amount need a second official")
    cap_per_claim_fen: Fen
    caps_per_industry_fen: dict[Industry, Fen] = Field(default_factory=dict)
    cap_per_consumer_per_year_fen: Fen
    requires_evidence: bool = True
    scenarios: list[ScenarioStandard] = Field(default_factory=list)
    note: str | None = Field(None, max_length=500)


class RuleSetOut(RuleSetIn):
    model_config = ConfigDict(extra="ignore")
    version: int
    created_at: datetime
    created_by: str


# --- claims ---------------------------------------------------------------------------------------
class Reason(BaseModel):
    code: str = Field(examples=["merchant_not_in_program"])
    passed: bool
    message: str


class ApprovalOut(BaseModel):
    official_id: str
    official_name: str | None
    at: datetime
    note: str | None


class PayoutOut(BaseModel):
    id: str
    channel: PayoutChannel
    out_no: str = Field(description="the provider's idempotency key (out_bill_no / out_biz_no)")
    amount_fen: int
    state: PayoutState
    attempts: int
    provider_ref: str | None
    failure_reason: str | None
    succeeded_at: datetime | None


class ClaimOut(BaseModel):
    id: str = Field(examples=["clm_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    complaint_id: str
    region_code: str
    merchant_id: str | None
    industry: Industry
    state: ClaimState
    amount_requested_fen: int
    amount_fen: int = Field(description="the amount the rules allow (what is paid once approved)")
    scenario: str | None
    rule_version: int
    reasons: list[Reason]
    approvals_needed: int
    approvals: list[ApprovalOut]
    liability_clear: bool
    request_reason: str = Field(description="why compensation was asked for", examples=["商家超过时限未处理"])
    rejection_reason: str | None = Field(
        description="an official's reason; where the rules refused the claim, the codes of the failed `reasons`, "
        "joined by `; `",
        examples=["证据不足，无法认定商户责任"],
    )
    payout: PayoutOut | None
    opened_by: str
    created_at: datetime
    decided_at: datetime | None


class ApprovalIn(_In):
    liability_confirmed: bool = Field(
        False, description="the official finds the merchant liable (needed where the record does not show it)"
    )
    note: Note | None = None


class ClaimRejectionIn(_In):
    reason: Note


# --- funds and deposits ---------------------------------------------------------------------------
class TopUpIn(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount_fen": 1000000000, "reference": "琼财预〔2026〕12号"}]}
    )

    amount_fen: PositiveFen
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class FundOut(BaseModel):
    region_code: str
    balance_fen: int
    floor_fen: int = Field(description="below this, every payout needs an official's approval")
    paid_out_fen: int
    recovered_fen: int


class FundFloorIn(_In):
    floor_fen: Fen


class DepositOut(BaseModel):
    merchant_id: str
    balance_fen: int
    receivable_fen: int = Field(description="what the merchant still owes the fund")


# --- recovery -------------------------------------------------------------------------------------
class RecoveryOut(BaseModel):
    id: str
    claim_id: str
    complaint_id: str
    merchant_id: str
    region_code: str
    amount_fen: int
    recovered_fen: int
    outstanding_fen: int
    state: RecoveryState
    due_by: datetime
    contest_reason: str | None
    write_off_reason: str | None
    created_at: datetime
    closed_at: datetime | None


class RecoverySource(StrEnum):
    merchant_transfer = "merchant_transfer"
    private_settlement = "private_settlement"  # the merchant paid the consumer, who returns the advance


class RecoveryPaymentIn(_In):
    amount_fen: PositiveFen
    source: RecoverySource = RecoverySource.merchant_transfer
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ContestIn(_In):
    reason: Note
    evidence_ids: list[Annotated[str, StringConstraints(max_length=40)]] = Field(default_factory=list, max_length=20)


class WriteOffIn(_In):
    reason: Note


# --- reconciliation and figures -------------------------------------------------------------------
class Mismatch(BaseModel):
    kind: str = Field(examples=["missing_at_provider", "missing_in_ledger", "amount_mismatch", "state_mismatch"])
    out_no: str
    ledger_amount_fen: int | None
    provider_amount_fen: int | None
    detail: str


class ReconciliationOut(BaseModel):
    date: date
    channel: PayoutChannel
    ledger_count: int
    ledger_total_fen: int
    provider_count: int
    provider_total_fen: int
    mismatches: list[Mismatch]
    balanced: bool


class LedgerCheck(BaseModel):
    transactions: int
    unbalanced_transactions: int
    total_fen: int = Field(description="the sum of every entry: zero when the books balance")
    negative_accounts: list[str]
    cached_balance_mismatches: list[str]
    ok: bool


class CompensationFigures(BaseModel):
    region_code: str
    period_from: date
    period_to: date
    claims_opened: int
    claims_paid: int
    claims_rejected: int
    paid_fen: int = Field(description="advance compensation activated (paid out)")
    recovered_fen: int
    outstanding_fen: int
