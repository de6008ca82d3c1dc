"""Advance compensation (先行赔付): funds, deposits, rules, claims, payouts, recovery, figures."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from shared.contracts.common import Fen, Industry, Input, refused

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


# A payout provider's name, as compensation loads them (COMPENSATION_PAYOUT_PROVIDERS): no fixed list here.
# At most 32 characters: the width of the payouts' `provider` column.
PAYOUT_PROVIDER_PATTERN = r"^[a-z0-9_]{1,32}$"
PayoutProviderName = Annotated[
    str, Field(pattern=PAYOUT_PROVIDER_PATTERN, examples=["wechat", "alipay"], description="the payout provider")
]


class PayoutProviderOut(BaseModel):
    """A payout provider this platform pays through, with its name as people read it (from its module)."""

    name: PayoutProviderName
    label_zh: str = Field(examples=["微信支付（零钱）"])
    label_en: str = Field(examples=["WeChat Pay"])
    enabled: bool = Field(description="whether its keys are configured: a payout through it waits while not")


# --- the payee's real name -----------------------------------------------------------------------
def _real_name(value: str) -> str:
    """A person's name as the payment provider holds it: letters (any script), with the separators names use."""
    if not any(ch.isalpha() for ch in value) or not all(ch.isalpha() or ch in " ·•.-'" for ch in value):
        raise refused(
            "real_name_format", "a real name is letters, with spaces, middle dots, dots, hyphens or apostrophes between"
        )
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
            "examples": [
                {"amount_requested_fen": 30000, "reason": "商家超过时限未处理", "scenario": None},
                {
                    "amount_requested_fen": 16000,
                    "reason": "轮渡往返排队均超时",
                    "scenario": "sanya_ferry_queue",
                    "facts": {
                        "outbound_queue_minutes": 95,
                        "return_queue_minutes": 80,
                        "returned_at": "2026-11-20T18:30:00+08:00",
                        "ticket_price_fen": 16000,
                    },
                },
            ]
        },
    )

    amount_requested_fen: PositiveFen
    reason: Note
    scenario: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")] | None = Field(
        None, description="a scenario standard of the rules, e.g. sanya_ferry_queue"
    )
    facts: dict[str, int | str | bool] = Field(
        default_factory=dict,
        description="the facts the standard declares, by name (datetimes as RFC 3339 with an offset)",
    )
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
            raise refused(
                "payee_name_consent",
                "payee_name is kept only with the tourist's consent: set payee_name_consent to true",
            )
        return self


# --- rules ----------------------------------------------------------------------------------------
FactName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
StandardCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Rule(BaseModel):
    """A part of a rule body: a field the rules cannot hold is refused (422), never dropped."""

    model_config = ConfigDict(extra="forbid")


class FactType(StrEnum):
    integer = "integer"  # a count, minutes, or an amount in fen
    datetime = "datetime"  # RFC 3339 with an offset, e.g. 2026-11-20T18:30:00+08:00
    boolean = "boolean"
    text = "text"


class FactDeclaration(_Rule):
    """A fact a standard needs from the claim: its name, type and unit."""

    name: FactName = Field(examples=["outbound_queue_minutes"])
    type: FactType
    unit: str | None = Field(None, max_length=20, examples=["minutes", "fen"])
    label: Title = Field(examples=["去程排队时长"])


# Facts every claim has without the requester giving them.
BUILTIN_FACTS: dict[str, FactDeclaration] = {
    "registered_at": FactDeclaration(name="registered_at", type=FactType.datetime, label="申请登记时间"),
    "amount_involved_fen": FactDeclaration(
        name="amount_involved_fen", type=FactType.integer, unit="fen", label="投诉涉及金额"
    ),
}


class CompareOp(StrEnum):
    lt = "lt"
    le = "le"
    eq = "eq"
    ne = "ne"
    ge = "ge"
    gt = "gt"


class Comparison(_Rule):
    """`fact op value`, or `fact op other_fact (+ plus_hours)` for two facts of the same type."""

    fact: FactName
    op: CompareOp
    value: int | bool | str | None = Field(None, description="a constant of the fact's type")
    other_fact: FactName | None = Field(None, description="compare with another fact instead of a constant")
    plus_hours: int = Field(0, ge=-8760, le=8760, description="added to a datetime other_fact")

    @model_validator(mode="after")
    def _one_right_side(self) -> Comparison:
        if (self.value is None) == (self.other_fact is None):
            raise ValueError("a comparison has either a value or an other_fact")
        if self.plus_hours and self.other_fact is None:
            raise ValueError("plus_hours goes with other_fact")
        return self


class AllOf(_Rule):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Rule):
    any: list[Condition] = Field(min_length=1)


def _condition_kind(value: Any) -> str:
    keys = set(value) if isinstance(value, dict) else {k for k in ("all", "any") if hasattr(value, k)}
    return "all" if "all" in keys else "any" if "any" in keys else "compare"


Condition = Annotated[
    Annotated[AllOf, Tag("all")] | Annotated[AnyOf, Tag("any")] | Annotated[Comparison, Tag("compare")],
    Discriminator(_condition_kind),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()


class Refusal(_Rule):
    """When `when` holds, the standard refuses the claim; `code` is recorded as what decided."""

    code: StandardCode
    title: Title
    when: Condition


class Outcome(_Rule):
    """When `when` holds (always, without one), the claim gets `percent` of the standard's base fact."""

    code: StandardCode
    title: Title
    percent: int = Field(ge=0, le=100)
    when: Condition | None = None


def _conditions(condition: Any) -> list[Comparison]:
    if isinstance(condition, Comparison):
        return [condition]
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        return [c for part in parts for c in _conditions(part)]
    return []


class ScenarioStandard(_Rule):
    """A scenario standard as data: the facts it needs, the refusals, then the outcomes in order.

    The first refusal that holds refuses the claim; otherwise the first outcome that holds sets the share
    of `base_fact`; none holding refuses it too. The decision names the condition that decided.
    """

    code: StandardCode
    title: Title
    industry: Industry | None = None
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = Field(
        None, description="the region (and those below it) the standard applies in; none: everywhere"
    )
    facts: list[FactDeclaration] = Field(default_factory=list, description="what a claim must supply")
    base_fact: FactName = Field("amount_involved_fen", description="the amount in fen the share is of")
    refusals: list[Refusal] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(min_length=1)

    def declared(self) -> dict[str, FactDeclaration]:
        return {**BUILTIN_FACTS, **{f.name: f for f in self.facts}}

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioStandard:
        names = [f.name for f in self.facts]
        if len(set(names)) != len(names) or set(names) & set(BUILTIN_FACTS):
            raise ValueError(f"facts are declared once each, and not as {sorted(BUILTIN_FACTS)}")
        codes = [r.code for r in self.refusals] + [o.code for o in self.outcomes]
        if len(set(codes)) != len(codes):
            raise ValueError("refusal and outcome codes are unique within a standard")
        facts = self.declared()
        base = facts.get(self.base_fact)
        if base is None or base.type != FactType.integer:
            raise ValueError(f"base_fact {self.base_fact} is not a declared integer fact")
        kinds = {FactType.integer: int, FactType.boolean: bool, FactType.text: str, FactType.datetime: str}
        for condition in [r.when for r in self.refusals] + [o.when for o in self.outcomes]:
            for c in _conditions(condition):
                left = facts.get(c.fact)
                if left is None:
                    raise ValueError(f"condition on undeclared fact {c.fact}")
                if c.other_fact is not None:
                    right = facts.get(c.other_fact)
                    if right is None or right.type != left.type:
                        raise ValueError(f"{c.fact} and {c.other_fact} are not facts of one type")
                    if c.plus_hours and left.type != FactType.datetime:
                        raise ValueError("plus_hours compares datetime facts")
                elif left.type == FactType.datetime:
                    raise ValueError(f"datetime fact {c.fact} is compared with another fact")
                elif type(c.value) is not kinds[left.type]:
                    raise ValueError(f"{c.fact} is {left.type.value}; {c.value!r} is not")
                if left.type in (FactType.boolean, FactType.text) and c.op not in (CompareOp.eq, CompareOp.ne):
                    raise ValueError(f"{c.fact} is {left.type.value}: only eq and ne compare it")
        return self


SANYA_FERRY_EXAMPLE: dict[str, Any] = {
    "code": "sanya_ferry_queue",
    "title": "三亚轮渡排队超时赔付标准",
    "industry": "transport",
    "region_code": "460200",
    "facts": [
        {"name": "outbound_queue_minutes", "type": "integer", "unit": "minutes", "label": "去程排队时长"},
        {"name": "return_queue_minutes", "type": "integer", "unit": "minutes", "label": "返程排队时长"},
        {"name": "returned_at", "type": "datetime", "label": "返程时间"},
        {"name": "ticket_price_fen", "type": "integer", "unit": "fen", "label": "船票价格"},
    ],
    "base_fact": "ticket_price_fen",
    "refusals": [
        {
            "code": "registered_after_48h",
            "title": "返程后超过48小时登记，不予赔付",
            "when": {"fact": "registered_at", "op": "gt", "other_fact": "returned_at", "plus_hours": 48},
        }
    ],
    "outcomes": [
        {
            "code": "both_legs_over_limit",
            "title": "往返均超过排队时限：全额退还船票",
            "percent": 100,
            "when": {
                "all": [
                    {"fact": "outbound_queue_minutes", "op": "gt", "value": 60},
                    {"fact": "return_queue_minutes", "op": "gt", "value": 60},
                ]
            },
        },
        {
            "code": "one_leg_over_limit",
            "title": "单程超过排队时限：退还船票的50%",
            "percent": 50,
            "when": {
                "any": [
                    {"fact": "outbound_queue_minutes", "op": "gt", "value": 60},
                    {"fact": "return_queue_minutes", "op": "gt", "value": 60},
                ]
            },
        },
    ],
}


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
                    "scenarios": [SANYA_FERRY_EXAMPLE],
                    "note": "海南先行赔付统一限额与三亚轮渡排队标准",
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

    @model_validator(mode="after")
    def _codes_unique(self) -> RuleSetIn:
        codes = [s.code for s in self.scenarios]
        if len(set(codes)) != len(codes):
            raise ValueError("scenario codes are unique")
        return self


class RuleSetOut(RuleSetIn):
    model_config = ConfigDict(extra="ignore")
    version: int
    created_at: datetime
    created_by: str


FactValue = int | bool | str


class DryRunIn(_In):
    """A claim as it might come: what would the rules of one version decide for it?"""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "industry": "transport",
                    "region_code": "460200",
                    "scenario": "sanya_ferry_queue",
                    "facts": {
                        "outbound_queue_minutes": 95,
                        "return_queue_minutes": 20,
                        "returned_at": "2026-11-20T18:30:00+08:00",
                        "ticket_price_fen": 16000,
                    },
                    "amount_requested_fen": 16000,
                    "registered_at": "2026-11-21T09:00:00+08:00",
                }
            ]
        },
    )

    industry: Industry
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    scenario: StandardCode | None = None
    facts: dict[FactName, FactValue] = Field(default_factory=dict)
    amount_involved_fen: Fen = 0
    amount_requested_fen: PositiveFen
    registered_at: AwareDatetime | None = Field(None, description="when the claim is registered; default now")
    paid_this_year_fen: Fen = Field(0, description="what the consumer was already paid this year")


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
    provider: PayoutProviderName
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
    fund_region_code: str = Field(
        examples=["460200"],
        description="the fund that pays: the region's own, else the nearest region above it with one",
    )
    merchant_id: str | None
    industry: Industry
    state: ClaimState
    amount_requested_fen: int
    amount_fen: int = Field(description="the amount the rules allow (what is paid once approved)")
    scenario: str | None
    rule_version: int
    facts: dict[str, int | str | bool] = Field(default_factory=dict, description="the facts the requester gave")
    decided_by: str | None = Field(
        None,
        description="the standard's condition that decided the share or the refusal (`standard/condition`)",
        examples=["sanya_ferry_queue/both_legs_over_limit"],
    )
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
    payee_name: str | None = Field(
        None,
        description=(
            "the payee's real name while the claim holds one: in full for the tourist and the officials who pay the "
            "claim, masked (王**) for everyone else; gone once the claim is paid or rejected"
        ),
    )
    payee_name_given_at: datetime | None = Field(None, description="when the name was given, with consent")


class DryRunOut(BaseModel):
    rule_version: int
    eligible: bool = Field(description="whether the claim would pass every check of these rules")
    amount_fen: int
    approvals_needed: int
    decided_by: str | None = Field(None, examples=["sanya_ferry_queue/one_leg_over_limit"])
    reasons: list[Reason]
    assumed: str = Field(
        description="what a dry run takes for granted: the merchant enrolled, evidence attached, liability clear, "
        "a fund that can pay"
    )


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
    floor_fen: int = Field(0, description="below this, officials may ask the merchant to top the deposit up")
    below_floor: bool = False
    top_up_request: DepositTopUpRequestOut | None = Field(None, description="the open request to top up, if any")


class DepositFloorIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"floor_fen": 200000}]})

    floor_fen: Fen


class DepositTopUpRequestIn(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "保证金已低于最低限额，请于7日内补足", "due_days": 7}]}
    )

    note: Note | None = None
    due_days: int = Field(7, ge=1, le=90, strict=True, description="days the merchant has to top up")


class DepositTopUpRequestOut(BaseModel):
    id: str
    merchant_id: str
    balance_fen: int = Field(description="the deposit when asked")
    floor_fen: int
    amount_fen: int = Field(description="what brings the deposit back to its floor")
    due_by: datetime
    note: str | None
    requested_by: str
    created_at: datetime
    met_at: datetime | None = Field(description="when a top-up brought the deposit back to its floor")


class DepositDrawIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount_fen": 30000}, {}]})

    amount_fen: PositiveFen | None = Field(None, description="default: all the deposit can cover of what is owed")


DepositOut.model_rebuild()


# --- monthly statements (from the ledger) ---------------------------------------------------------
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$"), Field(examples=["2026-11"])]


class StatementLine(BaseModel):
    transaction_id: str
    at: datetime
    kind: str = Field(examples=["claim_approved", "deposit_drawn", "fund_top_up"])
    reference: str = Field(description="the claim, payout, recovery order or top-up reference")
    amount_fen: int = Field(description="into the account (+) or out of it (-)")


class FundStatement(BaseModel):
    """A fund's calendar month (Asia/Shanghai): opening + topped_up - paid + recovered + other = closing."""

    region_code: str
    month: str
    opening_fen: int
    paid_fen: int = Field(description="advance compensation paid out of the fund for approved claims, less cancelled")
    recovered_fen: int = Field(description="recovered into the fund: deposits drawn, merchants' transfers, returns")
    written_off_fen: int = Field(description="merchants' debts the fund gave up (no money moves: it was paid already)")
    topped_up_fen: int
    other_fen: int = Field(description="any other movement of the fund (none in the usual course)")
    closing_fen: int
    owed_by_merchants_fen: int = Field(description="what the region's merchants still owe the fund at month end")
    lines: list[StatementLine]


class DepositStatement(BaseModel):
    """A deposit's calendar month (Asia/Shanghai): opening - drawn + topped_up + other = closing."""

    merchant_id: str
    month: str
    opening_fen: int
    drawn_fen: int = Field(description="drawn for recovery orders")
    topped_up_fen: int
    other_fen: int
    closing_fen: int
    lines: list[StatementLine]


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
    provider: PayoutProviderName
    channel: PayoutProviderName = Field(
        deprecated=True,
        description="the same as `provider`, its former name: kept for one release, then removed",
    )
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
