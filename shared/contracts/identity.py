"""Who is calling: the identity the gateway establishes and forwards, signed, to every service."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from shared.contracts.common import Channel
from shared.divisions import divisions


class Role(StrEnum):
    consumer = "consumer"
    merchant_staff = "merchant_staff"
    official = "official"
    admin = "admin"
    partner = "partner"
    service = "service"
    public = "public"  # not logged in: catalogues only
    # Whoever holds a complaint's progress link (or its case number and phone): the gateway acts for them on
    # that one complaint only, and only to read its progress and give the complainant's verdict and rating.
    complaint_holder = "complaint_holder"


class Identity(BaseModel):
    """The caller as the gateway authenticated it."""

    subject: str = Field(
        description="account id, partner id or service name", examples=["usr_01JD3V0W8Q6M4Y2C1B9T7X5N3K"]
    )
    role: Role
    region_code: str | None = Field(None, description="an official's region; sees it and its sub-regions")
    merchant_id: str | None = Field(None, description="merchant staff's merchant")
    channel: Channel | None = Field(None, description="the channel a consumer logged in through")
    display_name: str | None = None
    complaint_id: str | None = Field(None, description="a complaint_holder's one complaint")


def region_prefix(region_code: str) -> str:
    """GB/T 2260 codes nest by prefix: 460000 covers 46xxxx, 460100 covers 4601xx, 460105 only itself. SQL
    filters use it (an indexable LIKE); tests check that it agrees with the catalogue's parent chains."""
    code = region_code
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


def region_covers(scope: str, region_code: str) -> bool:
    """Whether an official of `scope` oversees `region_code`: it is the region or one of its ancestors in the
    national catalogue (a province its cities and counties); by the code's prefix for a code not in it."""
    covered = divisions().covers(scope, region_code)
    return region_code.startswith(region_prefix(scope)) if covered is None else covered


def region_above(scope: str, region_code: str) -> bool:
    """`scope` is strictly above `region_code`: Hainan (460000) above Sanya (460200), Sanya not above itself.
    An official of a region above a complaint's is its supervising official (上级主管)."""
    return region_prefix(scope) != region_prefix(region_code) and region_covers(scope, region_code)


def is_province(region_code: str) -> bool:
    """A province-level region (460000): its officials are the province's (省级), above every city in it."""
    return len(region_prefix(region_code)) == 2
