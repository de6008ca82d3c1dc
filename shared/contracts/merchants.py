"""Merchants as credit publishes them."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints, WithJsonSchema

from shared.contracts.common import Industry, Input, Phone, RegionCode, refused

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# GB 32100-2015, the unified social credit code (统一社会信用代码): 18 characters of this set (no I, O,
# S, V, Z): registration authority, organisation type, the 6-digit administrative division, the 9-character
# organisation code, and a check character. Each character's value is its index here; position i
# (0-based) weighs 3**i mod 31, and the check character makes the weighted sum divisible by 31.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def uscc_check_char(first17: str) -> str:
    """The 18th character that completes `first17` (which must use USCC_CHARSET only)."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


USCC_PATTERN = rf"^[{USCC_CHARSET}]{{2}}[0-9]{{6}}[{USCC_CHARSET}]{{10}}$"


def _valid_uscc(value: object) -> str:
    """Trimmed and upper-cased, then the shape and the check character, each with a reason a person can act on."""
    if not isinstance(value, str):
        raise refused("uscc_type", "a unified social credit code is a string of 18 characters")
    code = value.strip().upper()
    if not re.fullmatch(USCC_PATTERN, code):
        raise refused(
            "uscc_format",
            "a unified social credit code is 18 characters: digits and capital letters except I, O, "
            "S, V and Z, with the 6-digit division code in places 3 to 8",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise refused(
            "uscc_check",
            "{code} is not a valid unified social credit code: its check character should be {expected}, not {given}",
            code=code,
            expected=uscc_check_char(code[:17]),
            given=code[17],
        )
    return code


USCC = Annotated[
    str,
    PlainValidator(_valid_uscc, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "pattern": USCC_PATTERN, "minLength": 18, "maxLength": 18}),
]


class LicenceIn(Input):
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,30}$")] = Field(
        description="business_licence, travel_agency_permit, food_permit, guide_licence...",
        examples=["travel_agency_permit"],
    )
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60)] = Field(
        examples=["L-HN-00123"]
    )
    valid_until: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None


class LicenceOut(BaseModel):
    kind: str
    number: str
    valid_until: str | None = None


class ContactIn(Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    phone: Phone
    role: Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)] | None = Field(
        None, examples=["complaints"]
    )


class ContactOut(BaseModel):
    name: str
    phone: str = Field(description="masked (138****1234) for everyone but the merchant and officials")
    role: str | None = None


class MerchantIn(Input):
    """A merchant settling in (入驻): it goes live once an official approves it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "三亚湾海景酒店",
                    "uscc": "91460200MA5T00001R",
                    "region_code": "460200",
                    "industry": "lodging",
                    "address": "三亚市天涯区三亚湾路 88 号",
                    "in_compensation_program": True,
                    "in_integrity_alliance": True,
                    "licences": [{"kind": "business_licence", "number": "91460200MA5T00001R"}],
                    "contacts": [{"name": "王经理", "phone": "13800001111", "role": "complaints"}],
                }
            ]
        },
    )

    id: Annotated[str, StringConstraints(pattern=r"^mer_[0-9A-Z]{26}$")] | None = Field(
        None, description="only for imports that keep an existing id; normally assigned"
    )
    name: Name
    uscc: USCC = Field(
        description="unified social credit code (统一社会信用代码, GB 32100), check character verified",
        examples=["91460200MA5T00001R"],
    )
    region_code: RegionCode
    industry: Industry
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    licences: list[LicenceIn] = Field(default_factory=list, max_length=10)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=5)
    in_compensation_program: bool = Field(False, description="enrolled in advance compensation (先行赔付)")
    in_integrity_alliance: bool = Field(False, description="member of the integrity alliance (诚信商家联盟)")


class ReviewDecision(StrEnum):
    approve = "approve"
    reject = "reject"


class ReviewIn(Input):
    """An official's review of a merchant that settled in: approved, it goes live and gets its code."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "approve", "note": "证照齐全，现场核验通过"}]}
    )

    decision: ReviewDecision
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None


class MerchantStatus(StrEnum):
    pending = "pending"
    live = "live"
    rejected = "rejected"


class MerchantOut(BaseModel):
    id: str = Field(examples=["mer_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    name: str
    uscc: str | None = Field(
        examples=["91460200MA5T00001R"], description="None only for merchants settled in before the code was required"
    )
    region_code: str
    industry: Industry
    address: str | None
    status: MerchantStatus = Field(description="pending review, live, or rejected")
    licences: list[LicenceOut] = Field(default_factory=list)
    contacts: list[ContactOut] = Field(default_factory=list)
    in_compensation_program: bool
    in_integrity_alliance: bool
    grade: str | None = Field(None, description="credit grade (A-D); None until first scored")
    reviewed_at: datetime | None = None
    review_note: str | None = None
    revision: int
    created_at: datetime
    updated_at: datetime


class PractitionerKind(StrEnum):
    tour_guide = "tour_guide"
    driver = "driver"
    tour_leader = "tour_leader"
    other = "other"


class PractitionerIn(Input):
    """A tour guide, driver or tour leader, with their licence, working for a merchant."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "李导游",
                    "kind": "tour_guide",
                    "licence_number": "D-4602-001234",
                    "merchant_id": "mer_01JD3V0W8Q6M4Y2C1B9T7X5N3K",
                    "phone": "13900002222",
                }
            ]
        },
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    kind: PractitionerKind
    licence_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60)] = Field(
        description="the guide's (or driver's) licence number: one practitioner per number"
    )
    merchant_id: Annotated[str, StringConstraints(pattern=r"^mer_[0-9A-Z]{26}$")]
    phone: Phone | None = None


class PractitionerOut(BaseModel):
    id: str = Field(examples=["prc_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    name: str
    kind: PractitionerKind
    licence_number: str
    merchant_id: str
    region_code: str
    phone: str | None = Field(None, description="masked for everyone but the merchant and officials")
    grade: str | None = None
    created_at: datetime
