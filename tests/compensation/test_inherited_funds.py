"""A region without a fund of its own draws on the nearest region above it that has one (issue 21)."""

from __future__ import annotations

from typing import Any

from shared.clock import SHANGHAI
from tests.compensation.helpers import (
    claim_of,
    ledger_check,
    overdue_complaint,
    paying_consumer,
    request_compensation,
    settle_payouts,
)
from tests.conftest import ADMIN, SANYA, official
from tests.factories import HOTEL, settle_merchant
from tests.support import Stack

HAITANG, HAINAN = "460202", "460000"  # 海棠区, under 三亚市 460200, under 海南省 460000


async def top_up(stack: Stack, region: str, amount_fen: int) -> None:
    r = await stack.clients["compensation"].post(
        f"/v1/funds/{region}/top-ups", headers=stack.as_(ADMIN), json={"amount_fen": amount_fen, "reference": "拨款"}
    )
    assert r.status_code == 201, r.text


async def deposit(stack: Stack, amount_fen: int) -> None:
    r = await stack.clients["compensation"].post(
        f"/v1/merchants/{HOTEL}/deposit/top-ups",
        headers=stack.as_(ADMIN),
        json={"amount_fen": amount_fen, "reference": "保证金"},
    )
    assert r.status_code == 201, r.text


async def fund(stack: Stack, region: str) -> dict[str, Any]:
    r = await stack.clients["compensation"].get(f"/v1/funds/{region}", headers=stack.as_(ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


async def statement(stack: Stack, region: str) -> dict[str, Any]:
    month = stack.clock.now().astimezone(SHANGHAI).strftime("%Y-%m")
    r = await stack.clients["compensation"].get(
        "/v1/reports/fund-statements", headers=stack.as_(ADMIN), params={"region_code": region, "month": month}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def paid_claim_in_haitang(stack: Stack, amount_fen: int = 30_000) -> dict[str, Any]:
    """A small claim on a Haitang hotel, paid at once and recovered from the merchant's deposit."""
    alice = await paying_consumer(stack)
    complaint_id = await overdue_complaint(stack, alice, region_code=HAITANG)
    await request_compensation(stack, alice, complaint_id, amount_fen)
    await settle_payouts(stack)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "paid", claim
    return claim


async def test_a_district_without_a_fund_pays_from_its_citys_and_the_books_balance(stack: Stack, providers) -> None:
    await settle_merchant(stack, region=HAITANG)
    await top_up(stack, SANYA, 10_000_000)
    await top_up(stack, HAINAN, 50_000_000)
    await deposit(stack, 10_000)  # recovers a third of the payout; the rest stays owed to the city's fund

    claim = await paid_claim_in_haitang(stack)
    assert (claim["region_code"], claim["fund_region_code"]) == (HAITANG, SANYA)

    city = await statement(stack, SANYA)
    assert (city["opening_fen"], city["topped_up_fen"], city["paid_fen"], city["recovered_fen"]) == (
        0,
        10_000_000,
        30_000,
        10_000,
    )
    assert city["closing_fen"] == 10_000_000 - 30_000 + 10_000 == (await fund(stack, SANYA))["balance_fen"]
    assert ((await fund(stack, SANYA))["paid_out_fen"], (await fund(stack, SANYA))["recovered_fen"]) == (30_000, 10_000)
    assert city["owed_by_merchants_fen"] == 20_000
    province = await statement(stack, HAINAN)
    assert (province["paid_fen"], province["closing_fen"], province["owed_by_merchants_fen"]) == (0, 50_000_000, 0)
    # Looking at the district's (absent) fund creates none: the next claim still draws on the city's.
    assert (await fund(stack, HAITANG))["balance_fen"] == 0
    funds = (await stack.clients["compensation"].get("/v1/funds", headers=stack.as_(official(HAINAN)))).json()
    assert [f["region_code"] for f in funds] == [HAINAN, SANYA]
    check = await ledger_check(stack)
    assert check["ok"] and check["total_fen"] == 0 and check["unbalanced_transactions"] == 0


async def test_without_a_city_fund_the_provinces_pays(stack: Stack, providers) -> None:
    await settle_merchant(stack, region=HAITANG)
    await top_up(stack, HAINAN, 50_000_000)
    await deposit(stack, 100_000)

    claim = await paid_claim_in_haitang(stack)
    assert claim["fund_region_code"] == HAINAN
    province = await statement(stack, HAINAN)
    assert (province["paid_fen"], province["recovered_fen"], province["closing_fen"]) == (30_000, 30_000, 50_000_000)
    assert (await fund(stack, SANYA))["balance_fen"] == 0
    check = await ledger_check(stack)
    assert check["ok"] and check["total_fen"] == 0


async def test_a_district_with_its_own_fund_uses_it(stack: Stack, providers) -> None:
    await settle_merchant(stack, region=HAITANG)
    await top_up(stack, HAITANG, 1_000_000)
    await top_up(stack, SANYA, 10_000_000)
    await deposit(stack, 5_000)

    claim = await paid_claim_in_haitang(stack)
    assert claim["fund_region_code"] == HAITANG
    district = await statement(stack, HAITANG)
    assert (district["paid_fen"], district["recovered_fen"], district["owed_by_merchants_fen"]) == (
        30_000,
        5_000,
        25_000,
    )
    assert district["closing_fen"] == 1_000_000 - 25_000 == (await fund(stack, HAITANG))["balance_fen"]
    city = await statement(stack, SANYA)
    assert (city["paid_fen"], city["closing_fen"], city["owed_by_merchants_fen"]) == (0, 10_000_000, 0)
    # Each fund's card counts its own payouts and recoveries, as its statement does: not the district's in the
    # city's, though the district lies in the city.
    assert ((await fund(stack, HAITANG))["paid_out_fen"], (await fund(stack, HAITANG))["recovered_fen"]) == (
        30_000,
        5_000,
    )
    assert ((await fund(stack, SANYA))["paid_out_fen"], (await fund(stack, SANYA))["recovered_fen"]) == (0, 0)
    check = await ledger_check(stack)
    assert check["ok"] and check["total_fen"] == 0 and check["unbalanced_transactions"] == 0
