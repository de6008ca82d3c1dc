"""Advance compensation (先行赔付): funds, deposits, rules, claims, payouts, recovery, figures."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.common import Fen, Industry, Input

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
PositiveFen = Annotated[int, Field(gt=0, le=10_000_000_000, strict=True, examples=[30000])]


class _In(Input):
    pass


class ClaimState(StrEnum):
    pending_approval = "pending_approval"  # an official must approve (amount, fund floor, or liability)
    approved = "approved"  # fully approved; the payout is on its way
    awaiting_payee_name = "awaiting_payee_name"  # approved, but the provider needs the payee's real name first
    paid = "paid"
    payout_failed = "payout_failed"  # the provider refused; an official may retry with the same key
    rejected = "rejected"


class PayoutState(StrEnum):
    pending = "pending"  # to be sent
    awaiting_payee_name = "awaiting_payee_name"  # not sent: the provider needs the payee's real name for it
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


# --- the payee's real name -----------------------------------------------------------------------
def _real_name(value: str) -> str:
    """A person's name as the payment provider holds it: letters (any script), with the separators names use."""
    if not any(ch.isalpha() for ch in value) or not all(ch.isalpha() or ch in " ·•.-'" for ch in value):
        raise ValueError("a real name is letters, with spaces, middle dots, dots, hyphens or apostrophes between")
    return value


PayeeRealName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    AfterValidator(_real_name),
    Field(
        description=(
            "the payee's real name, as registered with WeChat Pay or Alipay (they check it): needed for a WeChat Pay "
            "transfer from 2,000 yuan"
        ),
        examples=["王小明"],
    ),
]


class PayeeNameIn(_In):
    """The payee's real name for a claim's payout, given with the tourist's explicit consent."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "王小明", "consent": True}]})

    name: PayeeRealName
    consent: Literal[True] = Field(
        description=(
            "the tourist agrees that the name is kept, encrypted, until the claim is paid or rejected, and sent to the "
            "payment provider, which checks it against the account"
        )
    )


class PayeeNameHandover(_In):
    """Intake hands compensation the name given with a compensation request (`PUT /internal/payee-names/{id}`),
    before it records the request: the name never rides an event. Intake checked who asks, for which complaint."""

    consumer_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_]{1,40}$")]
    name: PayeeRealName
    consent: Literal[True]
    given_by: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="consumer, or the official's id"
    )


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
    payee_name: PayeeRealName | None = None
    payee_name_consent: bool = Field(
        False,
        description=(
            "must be true with payee_name: the tourist agrees that the name is kept, encrypted, until the claim is "
            "paid or rejected, and sent to the payment provider (an official asking for the tourist records the "
            "tourist's consent)"
        ),
    )

    @model_validator(mode="after")
    def _consent_with_name(self) -> CompensationRequestIn:
        if self.payee_name is not None and not self.payee_name_consent:
            raise ValueError("payee_name is kept only with the tourist's consent: set payee_name_consent to true")
        return self


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
    payout: PayoutOut | None
    opened_by: str
    created_at: datetime
    decided_at: datetime | None
    payee_name: str | None = Field(
        None,
        description=(
            "the payee's real name while the claim holds one: in full for the tourist and the officials who pay the "
            "claim, masked (王**) for everyone else; gone once the claim is paid or rejected"
        ),
    )
    payee_name_given_at: datetime | None = Field(None, description="when the name was given, with consent")


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
