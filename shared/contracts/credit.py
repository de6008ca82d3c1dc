"""Credit as the API shows it: records, scores, lists, repairs, benefits and the assured consumption code."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import Input

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Statement = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
EvidenceRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class OfficialRecordKind(StrEnum):
    """What officials record by hand; the rest comes from intake and compensation as events."""

    inspection_passed = "inspection_passed"
    penalty = "penalty"
    commendation = "commendation"
    public_list = "public_list"
    malicious_complaint = "malicious_complaint"
    compensation_fraud = "compensation_fraud"
    honour = "honour"


class RecordIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "penalty",
                    "note": "价格欺诈，三亚市市场监管局行政处罚决定书 三市监罚〔2026〕88号",
                    "reference": "三市监罚〔2026〕88号",
                },
                {"kind": "honour", "note": "中国好人榜 2026 年 9 月", "honour": "中国好人"},
            ]
        },
    )

    kind: OfficialRecordKind
    note: Reason
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    occurred_at: datetime | None = Field(None, description="when it happened; now if not given, never in the future")
    honour: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)] | None = Field(
        None, description="for kind honour: the trustworthy group (中国好人, 见义勇为...)"
    )


class RecordOut(BaseModel):
    id: str
    subject_id: str
    kind: str
    label: str
    value: int | None
    reference: str | None
    note: str | None
    occurred_at: datetime
    repaired_at: datetime | None
    voided_at: datetime | None = Field(
        None, description="what it counted no longer stands (its complaint was merged or reopened): not scored"
    )
    void_reason: str | None = None


class ReasonOut(BaseModel):
    kind: str = Field(examples=["resolved_at_fault"])
    label: str = Field(examples=["经查有责的投诉"])
    count: int
    points: int = Field(description="what this kind adds to the base score, after decay and cap")
    capped: bool


class ScoreChangeOut(BaseModel):
    at: datetime
    score_before: int | None
    score_after: int
    grade_before: str | None
    grade_after: str
    cause: str = Field(
        description="what changed it: a record, a repair, a batch recompute",
        examples=["record resolved_at_fault rec_01JD3V0W8Q6M4Y2C1B9T7X5N3K"],
    )
    scorecard: str


class ListName(StrEnum):
    red = "red"
    key_supervision = "key_supervision"
    dishonest = "dishonest"


class ListingOut(BaseModel):
    id: str = Field(examples=["lst_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    subject_id: str
    subject_kind: str
    subject_name: str | None = None
    list_name: ListName
    state: str = Field(description="noticed (told; may state its case until defence_until), listed, ended")
    reason: str
    basis: list[str] = Field(description="the credit records behind it")
    duration_days: int | None
    noticed_at: datetime | None
    defence_until: datetime | None
    defence: str | None = None
    listed_at: datetime | None
    removable_from: datetime | None = Field(description="the end of the minimum publication period")
    until: datetime | None
    ended_at: datetime | None
    end_reason: str | None


class ExternalScoreIn(Input):
    """An outside score pushed by its source's adapter, with the consumer's consent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"source": "sesame", "score": 712, "observed_at": "2026-11-20T02:00:00Z"}]},
    )

    source: Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,20}$")] = Field(
        description="sesame (芝麻信用, 350-950) or jinye (金椰分, 0-1000)"
    )
    score: int
    observed_at: datetime | None = Field(None, description="when the source computed it; now if not given")


class ExternalScoreOut(BaseModel):
    source: str
    score: int
    observed_at: datetime


class CreditOut(BaseModel):
    subject_id: str
    subject_kind: str
    name: str | None
    score: int = Field(examples=[712])
    grade: str = Field(examples=["B"])
    scorecard: str = Field(examples=["v1"])
    reasons: list[ReasonOut]
    figures: dict[str, Any]
    listings: list[ListingOut]
    history: list[ScoreChangeOut] = Field(description="the latest changes, newest first")
    external_scores: list[ExternalScoreOut] = Field(
        default_factory=list, description="outside scores on file (consumers): shown, never part of the score"
    )
    computed_at: datetime


class NoticeIn(Input):
    """An official puts a subject on notice for a list: it is told and may state its case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"subject_id": "mer_01JD3V0W8Q6M4Y2C1B9T7X5N3K", "reason": "拒不履行先行赔付追偿", "duration_days": 365}
            ]
        },
    )

    subject_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_]{1,64}$")]
    reason: Reason
    duration_days: int | None = Field(
        None,
        ge=1,
        le=1095,
        description="publication period; the list's default "
        "if not given, within its bounds (3-12 months general, 6-36 serious)",
    )


class DefenceIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"statement": "追偿款已于 11 月 25 日全额缴清，附银行回单。"}]}
    )

    statement: Statement


class ListingDecision(StrEnum):
    list = "list"  # the defence does not hold: list now
    withdraw = "withdraw"  # the defence holds: no listing
    remove = "remove"  # early removal, after the minimum period


class ListingDecisionIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "withdraw", "note": "陈述申辩成立，已全额偿还"}]}
    )

    decision: ListingDecision
    note: Reason


class RepairIn(Input):
    """A listed subject applies for credit repair (信用修复) with evidence of rectification."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "listing_id": "lst_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                    "statement": "已全额偿还先行赔付款并完成整改培训。",
                    "evidence": ["evd_01JD3V0W8Q6M4Y2C1B9T7X5N3K", "银行回单 2026-11-25"],
                }
            ]
        },
    )

    listing_id: Annotated[str, StringConstraints(pattern=r"^lst_[0-9A-Z]{26}$")]
    statement: Statement
    evidence: list[EvidenceRef] = Field(min_length=1, max_length=20)


class RepairDecisionIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "approve", "note": "整改到位，准予修复"}]}
    )

    decision: Annotated[str, StringConstraints(pattern=r"^(approve|reject)$")]
    note: Reason


class RepairOut(BaseModel):
    id: str = Field(examples=["rep_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    listing_id: str
    subject_id: str
    statement: str
    evidence: list[str]
    state: str = Field(description="pending, approved or rejected")
    decided_at: datetime | None
    decision_note: str | None
    created_at: datetime


class BenefitRuleOut(BaseModel):
    code: str = Field(examples=["free_first_ticket"])
    name: str = Field(examples=["七类守信人群首次免费游览"])
    grades: list[str]
    honours: list[str]
    industries: list[str]
    requires_alliance: bool
    external: dict[str, int] = Field(
        description="outside score thresholds that also qualify a consumer of one of external_grades",
        examples=[{"sesame": 650}],
    )
    external_grades: list[str]
    limit: str = Field(description="once_per_merchant, once or unlimited")
    valid_from: str | None
    valid_until: str | None


class Eligibility(BaseModel):
    """A signed answer in the older form (deprecated, kept for one release): the ticket gate or front desk checks
    `signature` with the key at /v1/benefits/signing-key. Ask with `Accept: application/jwt` for the same answer
    as a JWS that any JOSE library verifies against /v1/benefits/jwks.json."""

    answer_id: str = Field(examples=["ans_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    benefit: str
    consumer_id: str
    merchant_id: str
    eligible: bool
    reasons: list[str] = Field(
        description="why not, as stable codes (grade_too_low, already_redeemed, "
        "merchant_not_covered, ...); empty when eligible",
        examples=[["already_redeemed"]],
    )
    grade: str
    checked_at: str = Field(description="UTC, ISO 8601", examples=["2026-11-20T02:00:00.123456Z"])
    valid_until: str = Field(
        description="UTC, ISO 8601: the gate refuses the answer after it", examples=["2026-11-20T02:05:00.123456Z"]
    )
    key_id: str
    signature: str = Field(
        description="Ed25519 over the canonical JSON of every other field (sorted keys, "
        "no spaces, UTF-8), base64url without padding"
    )


class RedemptionIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "benefit": "free_first_ticket",
                    "consumer_id": "wx_o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
                    "merchant_id": "mer_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                }
            ]
        },
    )

    benefit: Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]
    consumer_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_\-]{1,64}$")]
    merchant_id: Annotated[str, StringConstraints(pattern=r"^mer_[0-9A-Z]{26}$")]


class RedemptionOut(BaseModel):
    id: str
    benefit: str
    consumer_id: str
    merchant_id: str
    redeemed_at: datetime


class SigningKey(BaseModel):
    """The key of the older form of eligibility answers (deprecated: use the JWKS)."""

    key_id: str
    algorithm: str = "Ed25519"
    public_key: str = Field(description="raw 32-byte public key, base64url without padding")


class Jwk(BaseModel):
    """An Ed25519 public key as a JSON Web Key (RFC 8037)."""

    kty: str = Field(examples=["OKP"])
    crv: str = Field(examples=["Ed25519"])
    x: str = Field(
        description="the raw public key, base64url", examples=["11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"]
    )
    kid: str = Field(examples=["3f9c2a1b8e4d7c60"])
    use: str = Field(examples=["sig"])
    alg: str = Field(examples=["EdDSA"])


class Jwks(BaseModel):
    """A JSON Web Key Set (RFC 7517): the current signing key first, then the ones it replaced."""

    keys: list[Jwk]


class CodeOut(BaseModel):
    code: str = Field(examples=["K7Q2M9XH4T"])
    merchant_id: str
    state: str = Field(description="active, suspended or replaced")
    url: str = Field(description="what the QR image encodes", examples=["https://tour.example.cn/c/K7Q2M9XH4T"])
    issued_at: datetime
    changed_at: datetime | None
    note: str | None


class CodeActionIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "门店装修暂停营业"}]})

    note: Reason


class PublicProfile(BaseModel):
    """What a tourist sees after scanning a merchant's code: public facts only, no personal data."""

    code: str
    merchant_id: str
    name: str
    industry: str
    region_code: str
    address: str | None
    grade: str | None
    badges: list[str] = Field(
        description="integrity_alliance, advance_compensation, red_list",
        examples=[["integrity_alliance", "advance_compensation"]],
    )
    warnings: list[str] = Field(description="key_supervision or dishonest while listed", examples=[[]])
    figures: dict[str, Any] = Field(
        description="complaints, responses in time and late, at fault, ratings and their average, over the last `days`"
    )
    rate: dict[str, str] = Field(description="where to rate the merchant (code evaluate)")
    complain: dict[str, Any] = Field(description="the complaint form with the merchant filled in")
    updated_at: datetime | None = Field(
        None, description="when the grade and figures were last computed (none before the merchant's first score)"
    )
    grade_scale: dict[str, int] = Field(
        default_factory=dict,
        examples=[{"A": 850, "B": 650, "C": 450, "D": 0}],
        description="each grade's lowest score on the scorecard in force",
    )


class RatingIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"stars": 5, "comment": "明码标价，服务热情"}]}
    )

    stars: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None


class RatingOut(BaseModel):
    id: str
    merchant_id: str
    stars: int
    occurred_at: datetime
