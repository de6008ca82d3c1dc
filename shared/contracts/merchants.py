"""Merchants as credit publishes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import Industry, Input, RegionCode

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class MerchantIn(Input):
    """A merchant settling in (入驻)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "三亚湾海景酒店", "region_code": "460200", "industry": "lodging",
        "address": "三亚市天涯区三亚湾路 88 号", "in_compensation_program": True}]})

    id: Annotated[str, StringConstraints(pattern=r"^mer_[0-9A-Z]{26}$")] | None = Field(
        None, description="only for imports that keep an existing id; normally assigned")
    name: Name
    region_code: RegionCode
    industry: Industry
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    settled: bool = True
    in_compensation_program: bool = False


class MerchantOut(BaseModel):
    id: str = Field(examples=["mer_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    name: str
    region_code: str
    industry: Industry
    address: str | None
    settled: bool
    in_compensation_program: bool
    revision: int
    created_at: datetime
    updated_at: datetime
