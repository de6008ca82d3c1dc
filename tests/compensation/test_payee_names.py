"""The payee's real name inside compensation: encrypted per field and rotated, withdrawn by the tourist,
deleted when its claim never opened, handed over by intake only, and never half-recorded.
(End to end through the gateway, with the providers' checks: tests/e2e/test_payee_name_journey.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import select

from services.compensation.cli import rotate_payee_names
from services.compensation.models import Claim, PayeeName, Payout
from services.compensation.payee_names import PayeeNames, payee_name_cipher, unseal
from services.compensation.payouts import run_payouts_once
from shared.auth import service_identity
from shared.errors import ServiceUnavailable
from tests.compensation.helpers import (
    claim_of,
    fund_region,
    overdue_complaint,
    paying_consumer,
    request_compensation,
    settle_payouts,
)
from tests.conftest import ADMIN, official
from tests.support import Stack

AMOUNT = 249_363  # ¥2,493.63: above the 2,000 yuan from which WeChat Pay wants the name


async def held(stack: Stack, complaint_id: str) -> PayeeName | None:
    async with stack.apps["compensation"].state.sessionmaker() as session:
        return await session.get(PayeeName, complaint_id)


async def approved_claim(stack: Stack, name: str, **request: Any) -> tuple[Any, str, dict[str, Any]]:
    await fund_region(stack)
    who = await paying_consumer(stack, name)
    complaint_id = await overdue_complaint(
        stack, who, amount_involved_fen=AMOUNT, description=f"{name}: 酒店加收未告知的费用且拒绝退还。"
    )
    await request_compensation(stack, who, complaint_id, AMOUNT, **request)
    claim = await claim_of(stack, complaint_id)
    r = await stack.clients["compensation"].post(
        f"/v1/claims/{claim['id']}/approvals", headers=stack.as_(official()), json={"liability_confirmed": True}
    )
    assert r.status_code == 200, r.text
    return who, complaint_id, r.json()


async def test_a_withdrawn_name_is_deleted_at_once_and_the_payout_waits_for_another(stack: Stack) -> None:
    who, complaint_id, claim = await approved_claim(stack, "wanda", payee_name="王小明", payee_name_consent=True)
    assert claim["state"] == "approved" and claim["payee_name"] == "王小明"  # the paying official sees it
    comp = stack.clients["compensation"]
    r = await comp.delete(f"/v1/claims/{claim['id']}/payee-name", headers=stack.as_(who))
    assert r.status_code == 200 and r.json()["payee_name"] is None, r.text
    assert await held(stack, complaint_id) is None

    await run_payouts_once(stack.apps["compensation"])
    await stack.deliver_events()
    waiting = (await comp.get(f"/v1/claims/{claim['id']}", headers=stack.as_(who))).json()
    assert waiting["state"] == waiting["payout"]["state"] == "awaiting_payee_name"
    timeline = (
        await stack.clients["intake"].get(f"/v1/complaints/{complaint_id}/timeline", headers=stack.as_(who))
    ).json()
    asked = [e for e in timeline if e["kind"] == "payee_name_required"]
    assert len(asked) == 1 and asked[0]["data"]["amount_fen"] == AMOUNT


async def test_names_are_sealed_per_field_and_a_rotation_keeps_them_readable(stack: Stack) -> None:
    app = stack.apps["compensation"]
    old = app.state.settings
    async with app.state.sessionmaker() as session:
        names = PayeeNames.of(session, old)
        await names.keep("cmp_ROTATE1", "usr_A", "王小明", "consumer", stack.clock.now())
        await names.keep("cmp_ROTATE2", "usr_B", "王小明", "consumer", stack.clock.now())
        await session.commit()
    first, second = await held(stack, "cmp_ROTATE1"), await held(stack, "cmp_ROTATE2")
    assert first is not None and second is not None
    assert first.name_encrypted != second.name_encrypted  # each its own token, nothing to compare by
    with pytest.raises(InvalidToken):  # a token copied onto another row does not read as that row's name
        unseal(payee_name_cipher(old), "cmp_ROTATE2", first.name_encrypted)

    rotated = old.model_copy(
        update={"payee_name_secret": "n" * 40, "payee_name_previous_secret": old.payee_name_secret}
    )
    assert await rotate_payee_names(rotated) >= 2
    after = await held(stack, "cmp_ROTATE1")
    assert after is not None and after.name_encrypted != first.name_encrypted
    new_only = rotated.model_copy(update={"payee_name_previous_secret": ""})
    assert unseal(payee_name_cipher(new_only), "cmp_ROTATE1", after.name_encrypted) == "王小明"
    with pytest.raises(InvalidToken):
        unseal(payee_name_cipher(old), "cmp_ROTATE1", after.name_encrypted)


async def test_a_name_whose_claim_never_opened_is_deleted_after_a_day(stack: Stack) -> None:
    _, complaint_id, _ = await approved_claim(stack, "opal", payee_name="韩梅梅", payee_name_consent=True)
    comp = stack.clients["compensation"]
    body = {"consumer_id": "usr_ORPHAN", "name": "李雷", "consent": True, "given_by": "consumer"}
    r = await comp.put("/internal/payee-names/cmp_ORPHAN", headers=stack.as_(service_identity("intake")), json=body)
    assert r.status_code == 204, r.text
    app = stack.apps["compensation"]
    async with app.state.sessionmaker() as session:
        names = PayeeNames.of(session, app.state.settings)
        assert await names.purge_unclaimed(stack.clock.now() + timedelta(hours=23), 24) == 0
        assert await names.purge_unclaimed(stack.clock.now() + timedelta(hours=25), 24) == 1
        await session.commit()
    assert await held(stack, "cmp_ORPHAN") is None
    assert await held(stack, complaint_id) is not None  # its claim opened: kept until the claim is finished


async def test_only_a_service_hands_a_name_over(stack: Stack) -> None:
    comp = stack.clients["compensation"]
    body = {"consumer_id": "usr_ALICE", "name": "李雷", "consent": True, "given_by": "consumer"}
    for who in (official(), ADMIN):
        r = await comp.put("/internal/payee-names/cmp_X", headers=stack.as_(who), json=body)
        assert r.status_code in (401, 403), r.text
    assert await held(stack, "cmp_X") is None


async def test_a_request_is_not_recorded_when_its_name_cannot_be_kept(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fund_region(stack)
    who = await paying_consumer(stack, "nora")
    complaint_id = await overdue_complaint(stack, who, amount_involved_fen=AMOUNT)
    client = stack.apps["intake"].state.clients["compensation"]

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable("The compensation service cannot be reached.")

    monkeypatch.setattr(client, "request", down)
    refused = await request_compensation(
        stack, who, complaint_id, AMOUNT, expect=503, payee_name="王小明", payee_name_consent=True
    )
    assert refused["code"] == "payee_name_not_stored"
    intake = stack.clients["intake"]
    seen = (await intake.get(f"/v1/complaints/{complaint_id}", headers=stack.as_(who))).json()
    assert seen["compensation_state"] is None
    timeline = (await intake.get(f"/v1/complaints/{complaint_id}/timeline", headers=stack.as_(who))).json()
    assert "compensation_requested" not in [e["kind"] for e in timeline]
    monkeypatch.undo()
    await request_compensation(stack, who, complaint_id, AMOUNT, payee_name="王小明", payee_name_consent=True)
    assert (await claim_of(stack, complaint_id))["payee_name"] == "王**"  # admin: masked
    assert await held(stack, complaint_id) is not None


async def test_a_payout_below_the_limit_needs_no_name(stack: Stack) -> None:
    await fund_region(stack)
    who = await paying_consumer(stack, "pia")
    complaint_id = await overdue_complaint(stack, who, amount_involved_fen=199_999)
    await request_compensation(stack, who, complaint_id, 199_999)  # ¥1,999.99
    claim = await claim_of(stack, complaint_id)
    r = await stack.clients["compensation"].post(
        f"/v1/claims/{claim['id']}/approvals", headers=stack.as_(official()), json={"liability_confirmed": True}
    )
    assert r.status_code == 200, r.text
    await run_payouts_once(stack.apps["compensation"])
    async with stack.apps["compensation"].state.sessionmaker() as session:
        payout = (await session.execute(select(Payout).where(Payout.claim_id == claim["id"]))).scalar_one()
    assert payout.state in ("processing", "succeeded")  # sent, without a name


async def test_a_claim_waiting_for_the_name_may_be_rejected_and_its_money_returns(stack: Stack) -> None:
    who, complaint_id, claim = await approved_claim(stack, "rita")
    comp, app = stack.clients["compensation"], stack.apps["compensation"]
    fund_before = (await comp.get("/v1/funds/460200", headers=stack.as_(ADMIN))).json()["balance_fen"]
    await run_payouts_once(app)
    assert (await comp.get(f"/v1/claims/{claim['id']}", headers=stack.as_(who))).json()["state"] == (
        "awaiting_payee_name"
    )
    r = await comp.post(
        f"/v1/claims/{claim['id']}/rejections", headers=stack.as_(official()), json={"reason": "游客未提供姓名"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "rejected" and r.json()["payout"]["state"] == "failed"
    fund_after = (await comp.get("/v1/funds/460200", headers=stack.as_(ADMIN))).json()["balance_fen"]
    assert fund_after == fund_before + AMOUNT
    check = (await comp.get("/v1/ledger/check", headers=stack.as_(ADMIN))).json()
    assert check["ok"]


async def test_a_name_given_while_the_payout_was_going_out_without_it_sends_it_again(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, complaint_id, claim = await approved_claim(stack, "sana", payee_name="孙娜", payee_name_consent=True)

    async def not_yet(self: PayeeNames, payout_ids: Any) -> dict[str, str]:
        return {}  # as if the name came in just after the worker took the payout

    monkeypatch.setattr(PayeeNames, "for_payouts", not_yet)
    await run_payouts_once(stack.apps["compensation"])
    async with stack.apps["compensation"].state.sessionmaker() as session:
        payout = (await session.execute(select(Payout).where(Payout.claim_id == claim["id"]))).scalar_one()
    assert payout.state == "pending"  # not left waiting for a name that is there
    monkeypatch.undo()
    await run_payouts_once(stack.apps["compensation"])
    async with stack.apps["compensation"].state.sessionmaker() as session:
        payout = (await session.execute(select(Payout).where(Payout.claim_id == claim["id"]))).scalar_one()
    assert payout.state in ("processing", "succeeded")


async def test_a_claim_that_failed_for_want_of_the_name_waits_for_it_when_retried(stack: Stack) -> None:
    """Before this release such a payout failed with `payee_name_required`, and its retry failed the same way."""
    who, complaint_id, claim = await approved_claim(stack, "tara")
    app, comp = stack.apps["compensation"], stack.clients["compensation"]
    async with app.state.sessionmaker() as session:  # as the earlier release left it
        payout = (await session.execute(select(Payout).where(Payout.claim_id == claim["id"]))).scalar_one()
        payout.state, payout.failure_reason = "failed", "payee_name_required: WeChat Pay needs the payee's real name"
        row = await session.get(Claim, claim["id"])
        assert row is not None
        row.state = "payout_failed"
        await session.commit()
    r = await comp.post(f"/v1/claims/{claim['id']}/payout-retries", headers=stack.as_(official()))
    assert r.status_code == 200, r.text
    await run_payouts_once(app)
    waiting = (await comp.get(f"/v1/claims/{claim['id']}", headers=stack.as_(who))).json()
    assert waiting["state"] == "awaiting_payee_name"
    r = await comp.put(
        f"/v1/claims/{claim['id']}/payee-name", headers=stack.as_(who), json={"name": "唐娜", "consent": True}
    )
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    await settle_payouts(stack)
    paid = (await comp.get(f"/v1/claims/{claim['id']}", headers=stack.as_(who))).json()
    assert paid["state"] == "paid" and paid["payee_name"] is None
    assert await held(stack, complaint_id) is None
