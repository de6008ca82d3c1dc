"""Advance compensation: a missed deadline becomes a claim, the rules decide, the money moves once."""

from __future__ import annotations

import asyncio

from shared.auth import service_identity
from shared.contracts.events import SubjectUpdated
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
from tests.factories import HOTEL, merchant_id, settle_merchant, submit, timeline_kinds
from tests.support import Stack


async def test_small_claim_after_a_missed_deadline_is_paid_at_once_and_recovered_from_the_deposit(
    stack: Stack, providers
) -> None:
    await fund_region(stack, fund_fen=10_000_000, deposit_fen=100_000)
    alice = await paying_consumer(stack)
    complaint_id = await overdue_complaint(stack, alice)
    await request_compensation(stack, alice, complaint_id, 30_000)

    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "approved" and claim["approvals_needed"] == 0  # under 500 yuan: small and fast
    assert claim["amount_fen"] == 30_000 and claim["rule_version"] == 1
    assert {r["code"] for r in claim["reasons"] if r["passed"]} >= {
        "merchant_settled",
        "merchant_in_program",
        "evidence_present",
        "liability_clear",
        "within_claim_cap",
    }

    await settle_payouts(stack)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "paid" and claim["payout"]["state"] == "succeeded"
    assert len(providers.wechatpay.state.bills) >= 1
    bill = providers.wechatpay.state.bills[claim["payout"]["out_no"]]
    assert bill["transfer_amount"] == 30_000

    kinds = await timeline_kinds(stack, alice, complaint_id)
    assert kinds[-3:] == ["compensation_requested", "compensation_approved", "advance_compensation_paid"]
    seen = (await stack.clients["intake"].get(f"/v1/complaints/{complaint_id}", headers=stack.as_(alice))).json()
    assert seen["compensation_paid_fen"] == 30_000 and seen["compensation_state"] == "paid"

    comp = stack.clients["compensation"]
    recoveries = (await comp.get("/v1/recoveries", headers=stack.as_(ADMIN))).json()["items"]
    assert [(r["state"], r["recovered_fen"], r["outstanding_fen"]) for r in recoveries] == [("settled", 30_000, 0)]
    deposit = (await comp.get(f"/v1/merchants/{HOTEL}/deposit", headers=stack.as_(merchant_staff(HOTEL)))).json()
    assert deposit == {
        "merchant_id": HOTEL,
        "balance_fen": 70_000,
        "receivable_fen": 0,
        "floor_fen": 0,
        "below_floor": False,
        "top_up_request": None,
    }
    fund = (await comp.get(f"/v1/funds/{SANYA}", headers=stack.as_(official()))).json()
    assert fund["balance_fen"] == 10_000_000  # paid out, then made whole from the deposit
    assert (fund["paid_out_fen"], fund["recovered_fen"]) == (30_000, 30_000)
    check = await ledger_check(stack)
    assert check["ok"] and check["total_fen"] == 0 and check["unbalanced_transactions"] == 0


async def test_alipay_complainant_is_paid_through_alipay(stack: Stack, providers) -> None:
    await fund_region(stack)
    carol = await paying_consumer(stack, "carol", via="alipay")
    complaint_id = await overdue_complaint(stack, carol)
    await request_compensation(stack, carol, complaint_id, 12_345)
    await settle_payouts(stack)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "paid" and claim["payout"]["provider"] == "alipay"
    assert claim["payout"]["out_no"] in providers.alipay.state.orders
    assert (await ledger_check(stack))["ok"]


async def test_large_claims_need_one_or_two_officials_and_each_approves_once(stack: Stack) -> None:
    await fund_region(stack)
    bob = await paying_consumer(stack, "bob")
    complaint_id = await overdue_complaint(stack, bob, amount_involved_fen=800_000)
    await request_compensation(stack, bob, complaint_id, 600_000)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "pending_approval" and claim["approvals_needed"] == 2  # from 5,000 yuan

    comp = stack.clients["compensation"]
    url = f"/v1/claims/{claim['id']}/approvals"
    first = await comp.post(url, headers=stack.as_(official(SANYA, "usr_LI")), json={"note": "属实"})
    assert first.status_code == 200 and first.json()["state"] == "pending_approval"
    twice = await comp.post(url, headers=stack.as_(official(SANYA, "usr_LI")), json={})
    assert twice.status_code == 409 and twice.json()["code"] == "already_approved"
    elsewhere = await comp.post(url, headers=stack.as_(official(HAIKOU, "usr_WANG")), json={})
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "claim_not_found"
    merchant = await comp.post(url, headers=stack.as_(merchant_staff(HOTEL)), json={})
    assert merchant.status_code == 403
    second = await comp.post(url, headers=stack.as_(official("460000", "usr_ZHAO")), json={})
    assert second.status_code == 200 and second.json()["state"] == "approved"
    assert [a["official_id"] for a in second.json()["approvals"]] == ["usr_LI_460200", "usr_ZHAO_460000"]


async def test_claims_the_rules_refuse_are_rejected_with_their_reasons(stack: Stack) -> None:
    await fund_region(stack)
    dora = await paying_consumer(stack, "dora")
    complaint_id = await overdue_complaint(stack, dora, amount_involved_fen=5_000_000)
    await request_compensation(stack, dora, complaint_id, 4_000_000)  # above the 30,000-yuan cap per claim
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "rejected"
    assert [r["code"] for r in claim["reasons"] if not r["passed"]] == ["amount_above_cap"]
    assert claim["rejection_reason"] == "amount_above_cap"  # the failed reasons' codes, for the console to word
    assert (await timeline_kinds(stack, dora, complaint_id))[-1] == "compensation_rejected"
    again = await request_compensation(stack, dora, complaint_id, 10_000, expect=409)
    assert again["code"] == "compensation_already_requested"


async def test_a_complaints_claim_is_found_by_the_complaint_and_says_why_it_was_asked_and_refused(
    stack: Stack,
) -> None:
    await fund_region(stack)
    comp = stack.clients["compensation"]
    ids = []
    for name in ("ella", "finn"):
        who = await paying_consumer(stack, name)
        ids.append(await overdue_complaint(stack, who, amount_involved_fen=80_000))
        await request_compensation(stack, who, ids[-1], 60_000, reason=f"{name}: 酒店超时未处理")
    found = (await comp.get(f"/v1/claims?complaint_id={ids[0]}", headers=stack.as_(official(SANYA)))).json()
    [claim] = found["items"]
    assert claim["complaint_id"] == ids[0] and claim["request_reason"] == "ella: 酒店超时未处理"
    assert claim["rejection_reason"] is None and claim["state"] == "pending_approval"
    elsewhere = await comp.get(f"/v1/claims?complaint_id={ids[0]}", headers=stack.as_(official(HAIKOU)))
    assert elsewhere.json()["items"] == []  # another region's officials do not see it
    rejected = await comp.post(
        f"/v1/claims/{claim['id']}/rejections", headers=stack.as_(official(SANYA)), json={"reason": "证据不足"}
    )
    assert rejected.status_code == 200 and rejected.json()["rejection_reason"] == "证据不足"
    assert (await claim_of(stack, ids[1]))["rejection_reason"] is None


async def test_requests_intake_refuses_change_nothing(stack: Stack) -> None:
    outside = merchant_id("NOPROG1")
    await fund_region(stack)
    await settle_merchant(stack, outside, name="未加入先行赔付的店", region=SANYA)
    eve = await paying_consumer(stack, "eve")
    fresh = await submit(stack, eve)
    early = await request_compensation(stack, eve, fresh["id"], 10_000, expect=409)
    assert early["code"] == "invalid_transition"  # the merchant still has time
    intake = stack.clients["intake"]
    for amount in (0, -100):
        r = await intake.post(
            f"/v1/complaints/{fresh['id']}/compensation-requests",
            headers=stack.as_(eve),
            json={"amount_requested_fen": amount, "reason": "x"},
        )
        assert r.status_code == 422
    complaint_id = await overdue_complaint(
        stack, eve, merchant_id=outside, description="店家超时未处理我的退款要求，已经两天了。"
    )
    # Credit takes the merchant out of the program; intake and compensation hear it.
    envelope = {
        "id": "evt_OUT",
        "type": SubjectUpdated.type,
        "occurred_at": "2026-11-20T02:00:00Z",
        "producer": "credit",
        "payload": SubjectUpdated(
            subject_id=outside,
            kind="merchant",
            name="未加入先行赔付的店",
            region_code=SANYA,
            industry="lodging",
            settled=True,
            in_compensation_program=False,
            revision=2,
        ).model_dump(mode="json"),
    }
    for service in ("intake", "compensation"):
        r = await stack.clients[service].post(
            "/internal/events", headers=stack.as_(service_identity("credit")), json=envelope
        )
        assert r.status_code == 200
    refused = await request_compensation(stack, eve, complaint_id, 10_000, expect=409)
    assert refused["code"] == "merchant_not_in_program"
    claims = (await stack.clients["compensation"].get("/v1/claims", headers=stack.as_(ADMIN))).json()["items"]
    assert claims == []


async def test_ferry_standard_pays_the_share_its_conditions_decide_from_the_facts(stack: Stack) -> None:
    ferry = merchant_id("FERRY")
    await fund_region(stack, merchant_id=ferry, name="南山港轮渡", industry="transport")
    facts = {
        "outbound_queue_minutes": 130,
        "return_queue_minutes": 35,
        "returned_at": stack.clock.now().isoformat(),
        "ticket_price_fen": 16_000,
    }
    fay = await paying_consumer(stack, "fay")
    complaint_id = await overdue_complaint(
        stack,
        fay,
        merchant_id=ferry,
        industry="transport",
        amount_involved_fen=16_000,
        description="去程排队超过规定时限两个小时，要求按标准退票款。",
    )  # 48 hours and a minute later: the request comes too late after the return
    await request_compensation(stack, fay, complaint_id, 16_000, scenario="sanya_ferry_queue", facts=facts)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "rejected" and claim["amount_fen"] == 0
    assert claim["decided_by"] == "sanya_ferry_queue/registered_after_48h"

    gil = await paying_consumer(stack, "gil")
    complaint_id = await overdue_complaint(stack, gil, merchant_id=ferry, industry="transport", amount_involved_fen=1)
    facts["returned_at"] = stack.clock.now().isoformat()  # the request comes within 48 hours of the return
    await request_compensation(stack, gil, complaint_id, 16_000, scenario="sanya_ferry_queue", facts=facts)
    claim = await claim_of(stack, complaint_id)
    assert claim["amount_fen"] == 8_000 and claim["scenario"] == "sanya_ferry_queue"
    assert claim["decided_by"] == "sanya_ferry_queue/one_leg_over_limit" and claim["facts"] == facts
    assert any(r["code"] == "scenario_amount" and "50%" in r["message"] for r in claim["reasons"])

    hal = await paying_consumer(stack, "hal")
    complaint_id = await overdue_complaint(stack, hal, merchant_id=ferry, industry="transport", amount_involved_fen=1)
    await request_compensation(
        stack, hal, complaint_id, 16_000, scenario="sanya_ferry_queue", facts={"outbound_queue_minutes": 130}
    )
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "rejected"
    missing = next(r for r in claim["reasons"] if r["code"] == "scenario_facts")
    assert not missing["passed"] and "ticket_price_fen" in missing["message"]


async def test_fifty_approvals_at_once_pay_exactly_once(stack: Stack, providers) -> None:
    await fund_region(stack)
    gus = await paying_consumer(stack, "gus")
    complaint_id = await overdue_complaint(stack, gus, amount_involved_fen=300_000)
    await request_compensation(stack, gus, complaint_id, 150_000)  # needs one official
    claim = await claim_of(stack, complaint_id)
    comp = stack.clients["compensation"]
    url = f"/v1/claims/{claim['id']}/approvals"
    responses = await asyncio.gather(
        *(comp.post(url, headers=stack.as_(official(SANYA, f"usr_O{n}")), json={}) for n in range(50))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409}, statuses
    await settle_payouts(stack)
    out_no = (await claim_of(stack, complaint_id))["payout"]["out_no"]
    assert sum(1 for bill in providers.wechatpay.state.bills.values() if bill["out_bill_no"] == out_no) == 1
    check = await ledger_check(stack)
    assert check["ok"]
    fund = (await comp.get(f"/v1/funds/{SANYA}", headers=stack.as_(ADMIN))).json()
    assert fund["paid_out_fen"] == 150_000


async def test_a_refused_payout_fails_with_the_reason_and_an_official_retries_it_with_the_same_key(
    stack: Stack, providers
) -> None:
    await fund_region(stack)
    hugo = await paying_consumer(stack, "hugo")
    complaint_id = await overdue_complaint(stack, hugo)
    await request_compensation(stack, hugo, complaint_id, 25_000)
    async with stack.apps["gateway"].state.sessionmaker() as session:
        from sqlalchemy import select

        from services.gateway.models import ProviderIdentity

        openid = (
            await session.execute(
                select(ProviderIdentity.external_id).where(ProviderIdentity.account_id == hugo.subject)
            )
        ).scalar_one()
    providers.wechatpay.state.failing_openids.add(openid)
    try:
        await settle_payouts(stack)
        failed = await claim_of(stack, complaint_id)
        assert failed["state"] == "payout_failed"
        assert failed["payout"]["state"] == "failed" and "PAYEE_ACCOUNT_ABNORMAL" in failed["payout"]["failure_reason"]
        assert (await timeline_kinds(stack, hugo, complaint_id))[-1] == "compensation_payout_failed"
        assert (await ledger_check(stack))["ok"]  # the money went back from clearing to the payable
    finally:
        providers.wechatpay.state.failing_openids.discard(openid)
    comp = stack.clients["compensation"]
    denied = await comp.post(f"/v1/claims/{failed['id']}/payout-retries", headers=stack.as_(merchant_staff(HOTEL)))
    assert denied.status_code == 403
    retried = await comp.post(f"/v1/claims/{failed['id']}/payout-retries", headers=stack.as_(official(SANYA)))
    assert retried.status_code == 200 and retried.json()["state"] == "approved"
    await settle_payouts(stack)
    paid = await claim_of(stack, complaint_id)
    assert paid["state"] == "paid" and paid["payout"]["out_no"] == failed["payout"]["out_no"]  # the same key
    assert sum(1 for b in providers.wechatpay.state.bills.values() if b["out_bill_no"] == paid["payout"]["out_no"]) == 1
    check = await ledger_check(stack)
    assert check["ok"] and check["total_fen"] == 0
