"""Recovery (追偿): every payout is owed back by the merchant, by deposit, payment, or write-off."""

from __future__ import annotations

from sqlalchemy import select

from services.compensation.service import Compensation
from services.credit.models import inbox as credit_inbox
from tests.compensation.helpers import (
    claim_of,
    fund_region,
    ledger_check,
    overdue_complaint,
    paying_consumer,
    request_compensation,
    settle_payouts,
)
from tests.conftest import ADMIN, HAIKOU, SANYA, merchant_staff, official
from tests.factories import HOTEL
from tests.support import Stack


async def paid_claim(stack: Stack, name: str, amount: int) -> dict:
    who = await paying_consumer(stack, name)
    complaint_id = await overdue_complaint(stack, who, description=f"{name} 的房间与订单不符，商家超时未处理。")
    await request_compensation(stack, who, complaint_id, amount)
    await settle_payouts(stack)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "paid"
    return claim


async def recovery_of(stack: Stack, claim_id: str) -> dict:
    items = (await stack.clients["compensation"].get("/v1/recoveries", headers=stack.as_(ADMIN))).json()["items"]
    return next(r for r in items if r["claim_id"] == claim_id)


async def test_without_a_deposit_the_merchant_pays_back_in_parts_and_credit_hears_it(stack: Stack) -> None:
    await fund_region(stack, deposit_fen=0)
    claim = await paid_claim(stack, "hana", 30_000)
    order = await recovery_of(stack, claim["id"])
    assert (order["state"], order["outstanding_fen"]) == ("open", 30_000)
    comp = stack.clients["compensation"]
    by_complaint = await comp.get(f"/v1/recoveries?complaint_id={claim['complaint_id']}", headers=stack.as_(ADMIN))
    assert [o["id"] for o in by_complaint.json()["items"]] == [order["id"]]
    unrelated = await comp.get("/v1/recoveries?complaint_id=cmp_NONE", headers=stack.as_(ADMIN))
    assert unrelated.json()["items"] == []
    url = f"/v1/recoveries/{order['id']}/payments"
    part = await comp.post(
        url, headers=stack.as_(official(SANYA)), json={"amount_fen": 10_000, "reference": "商户转账 001"}
    )
    assert part.json()["outstanding_fen"] == 20_000 and part.json()["state"] == "open"
    too_much = await comp.post(url, headers=stack.as_(official(SANYA)), json={"amount_fen": 50_000, "reference": "x"})
    assert too_much.status_code == 409 and too_much.json()["code"] == "amount_above_outstanding"
    merchant = await comp.post(url, headers=stack.as_(merchant_staff(HOTEL)), json={"amount_fen": 1, "reference": "x"})
    assert merchant.status_code == 403
    rest = await comp.post(
        url,
        headers=stack.as_(official(SANYA)),
        json={"amount_fen": 20_000, "source": "private_settlement", "reference": "私下和解退回"},
    )
    assert rest.json()["state"] == "settled"
    fund = (await comp.get(f"/v1/funds/{SANYA}", headers=stack.as_(ADMIN))).json()
    assert fund["recovered_fen"] == 30_000 and fund["balance_fen"] == 10_000_000
    await stack.deliver_events()
    async with stack.apps["credit"].state.sessionmaker() as session:
        kinds = (await session.execute(select(credit_inbox.c.event_type))).scalars().all()
    assert "recovery.settled" in kinds
    assert (await ledger_check(stack))["ok"]


async def test_contested_recovery_can_be_written_off_and_an_unpaid_one_defaults(stack: Stack) -> None:
    await fund_region(stack, deposit_fen=0)
    comp = stack.clients["compensation"]
    contested = await recovery_of(stack, (await paid_claim(stack, "ivan", 20_000))["id"])
    r = await comp.post(
        f"/v1/recoveries/{contested['id']}/contests",
        headers=stack.as_(merchant_staff(HOTEL)),
        json={"reason": "顾客入住的正是订单房型，有监控为证", "evidence_ids": ["evd_1"]},
    )
    assert r.json()["state"] == "contested"
    other_region = await comp.post(
        f"/v1/recoveries/{contested['id']}/write-offs", headers=stack.as_(official(HAIKOU)), json={"reason": "x"}
    )
    assert other_region.status_code == 404
    written = await comp.post(
        f"/v1/recoveries/{contested['id']}/write-offs",
        headers=stack.as_(official(SANYA)),
        json={"reason": "商户申辩成立"},
    )
    assert (written.json()["state"], written.json()["outstanding_fen"]) == ("written_off", 0)

    unpaid = await recovery_of(stack, (await paid_claim(stack, "jack", 15_000))["id"])
    stack.clock.advance(days=31)
    async with stack.apps["compensation"].state.sessionmaker() as session:
        state = stack.apps["compensation"].state
        service = Compensation(session=session, clock=state.clock, settings=state.settings, outbox=state.outbox)
        assert await service.recovery.default_overdue_recoveries() == 1
        await session.commit()
    assert (await recovery_of(stack, unpaid["claim_id"]))["state"] == "defaulted"
    await stack.deliver_events()
    async with stack.apps["credit"].state.sessionmaker() as session:
        kinds = (await session.execute(select(credit_inbox.c.event_type))).scalars().all()
    assert "recovery.defaulted" in kinds
    deposit = (await comp.get(f"/v1/merchants/{HOTEL}/deposit", headers=stack.as_(ADMIN))).json()
    assert deposit["receivable_fen"] == 15_000
    figures = (
        await comp.get("/v1/compensation/figures", params={"region_code": SANYA}, headers=stack.as_(ADMIN))
    ).json()
    assert (figures["claims_paid"], figures["paid_fen"], figures["outstanding_fen"]) == (2, 35_000, 15_000)
    assert (await ledger_check(stack))["ok"]
