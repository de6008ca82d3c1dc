"""Which fund pays a region's claims: the region's own, else the nearest region above it that has one.

A region has a fund once an official tops it up or an admin sets its floor (the `funds` row); a district
that has none draws on its city's fund, a city without one on its province's (shared/divisions.py gives the
parent chain: 460202 海棠区 -> 460200 三亚市 -> 460000 海南省). A claim keeps the fund it was opened
against (`fund_region_code`), so its payout, a cancellation and what is recovered from the merchant all
move the same fund, whatever funds are set up later.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation.models import Fund
from shared.divisions import divisions


def chain(region_code: str) -> list[str]:
    """The region and its ancestors, nearest first (the region alone when the catalogue does not know it)."""
    return [d.code for d in divisions().chain(region_code)] or [region_code]


async def paying_fund(session: AsyncSession, region_code: str) -> str:
    """The region whose fund pays `region_code`'s claims; the region itself when no region of its chain has a
    fund (its balance is then nil, and an approval is refused as `fund_insufficient`)."""
    codes = chain(region_code)
    funded = set(await session.scalars(select(Fund.region_code).where(Fund.region_code.in_(codes))))
    return next((code for code in codes if code in funded), region_code)
