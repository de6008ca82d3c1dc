"""A provider that times out, answers 500, or notifies twice, falsely or wrongly never pays twice or loses one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy.orm.exc import StaleDataError

from services.compensation import payouts
from services.compensation.payouts import run_payouts_once
from shared.auth import service_identity
from shared.testing.fakes.server import ServerThread
from tests.compensation.helpers import (
    claim_of,
    fund_region,
    ledger_check,
    overdue_complaint,
    paying_consumer,
    request_compensation,
    settle_payouts,
)
from tests.conftest import compensation_overrides, gateway_overrides
from tests.support import Stack, running_stack


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Stands where the gateway's /callbacks would: keeps every notification a provider sends."""
    received: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/callbacks/{provider}/{kind}")
    async def keep(provider: str, kind: str, request: Request) -> Response:
        received.append({"provider": provider, "headers": dict(request.headers), "body": await request.body()})
        return Response(status_code=204)

    with ServerThread(app) as server:
        yield server.url, received


@pytest.fixture
async def faulty(databases, providers, tmp_path: Path, recorder) -> AsyncIterator[Stack]:
    """The stack with short provider timeouts and notifications going to the recorder."""
    overrides = {
        "gateway": gateway_overrides(providers),
        "compensation": {
            **compensation_overrides(providers, notify_base_url=recorder[0]),
            "provider_timeout_seconds": 0.5,
        },
    }
    async with running_stack(databases, tmp_path, overrides=overrides) as stack:
        yield stack
    providers.wechatpay.state.faults.set("none", 0)
    providers.alipay.state.faults.set("none", 0)


async def approved_claim(stack: Stack, name: str, via: str = "wechat") -> dict[str, Any]:
    who = await paying_consumer(stack, name, via=via)
    complaint_id = await overdue_complaint(stack, who)
    await request_compensation(stack, who, complaint_id, 20_000)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "approved"
    return claim


def bills_for(fake: Any, out_no: str) -> int:
    return sum(1 for bill in fake.state.bills.values() if bill["out_bill_no"] == out_no)


async def send_notification(stack: Stack, provider: str, note: dict[str, Any]) -> int:
    """Pass a recorded notification to compensation, as the gateway's callback route does."""
    headers = {k: v for k, v in note["headers"].items() if k.startswith("wechatpay-") or k == "content-type"}
    r = await stack.clients["compensation"].post(
        f"/internal/callbacks/{provider}",
        content=note["body"],
        headers={**headers, **stack.as_(service_identity("gateway"))},
    )
    return r.status_code


@pytest.mark.parametrize("mode", ["timeout", "error500", "accept_then_timeout"])
async def test_a_failing_send_is_retried_by_query_first_and_pays_once(faulty: Stack, providers, mode: str) -> None:
    await fund_region(faulty)
    claim = await approved_claim(faulty, f"fault{mode.replace('_', '')}")
    fake = providers.wechatpay
    calls_before = fake.state.transfer_calls
    fake.state.faults.set(mode, 1)
    app = faulty.apps["compensation"]
    await run_payouts_once(app)
    payout = (await claim_of(faulty, claim["complaint_id"]))["payout"]
    assert payout["state"] == ("pending" if mode == "error500" else "unknown")
    faulty.clock.advance(seconds=5)  # past the backoff
    await settle_payouts(faulty)
    paid = await claim_of(faulty, claim["complaint_id"])
    assert paid["state"] == "paid"
    assert bills_for(fake, paid["payout"]["out_no"]) == 1
    if mode == "accept_then_timeout":
        # The first send reached WeChat Pay; the retry asked first and never sent it again.
        assert fake.state.transfer_calls - calls_before == 1
    assert (await ledger_check(faulty))["ok"]


async def test_duplicate_forged_and_tampered_notifications_change_nothing_wrong(
    faulty: Stack, providers, recorder
) -> None:
    _, received = recorder
    fake = providers.wechatpay
    app = faulty.apps["compensation"]

    await fund_region(faulty)
    fake.state.faults.set("duplicate_notification", 1)
    twice = await approved_claim(faulty, "twice")
    await run_payouts_once(app)
    await asyncio.sleep(0.3)
    notes = [n for n in received if n["provider"] == "wechatpay"]
    assert len(notes) == 2 and notes[0]["body"] == notes[1]["body"]
    assert [await send_notification(faulty, "wechat", n) for n in notes] == [204, 204]
    await faulty.deliver_events()
    paid = await claim_of(faulty, twice["complaint_id"])
    assert paid["state"] == "paid"

    received.clear()
    fake.state.faults.set("forged_notification", 1)
    forged = await approved_claim(faulty, "forged")
    await run_payouts_once(app)
    await asyncio.sleep(0.3)
    (note,) = [n for n in received if n["provider"] == "wechatpay"]
    assert await send_notification(faulty, "wechat", note) == 400
    assert (await claim_of(faulty, forged["complaint_id"]))["payout"]["state"] == "processing"

    received.clear()
    fake.state.faults.set("tampered_amount_notification", 1)
    tampered = await approved_claim(faulty, "tampered")
    await run_payouts_once(app)
    await asyncio.sleep(0.3)
    (note,) = [n for n in received if n["provider"] == "wechatpay"]
    assert await send_notification(faulty, "wechat", note) == 400
    assert (await claim_of(faulty, tampered["complaint_id"]))["payout"]["state"] == "processing"

    stale = dict(notes[0], headers={**notes[0]["headers"], "wechatpay-timestamp": "1000000000"})
    assert await send_notification(faulty, "wechat", stale) == 400

    await settle_payouts(faulty)  # the worker asks WeChat Pay and learns the truth
    for claim in (twice, forged, tampered):
        paid = await claim_of(faulty, claim["complaint_id"])
        assert paid["state"] == "paid" and bills_for(fake, paid["payout"]["out_no"]) == 1
    check = await ledger_check(faulty)
    assert check["ok"] and check["total_fen"] == 0, check


async def test_alipay_duplicate_and_forged_notifications(faulty: Stack, providers, recorder) -> None:
    _, received = recorder
    await fund_region(faulty)
    providers.alipay.state.faults.set("duplicate_notification", 1)
    claim = await approved_claim(faulty, "alidup", via="alipay")
    await run_payouts_once(faulty.apps["compensation"])
    await asyncio.sleep(0.3)
    notes = [n for n in received if n["provider"] == "alipay"]
    assert len(notes) == 2
    statuses = [await send_notification(faulty, "alipay", n) for n in notes]
    assert statuses == [200, 200]
    paid = await claim_of(faulty, claim["complaint_id"])
    assert paid["state"] == "paid"
    forged = dict(notes[0], body=notes[0]["body"].replace(b"sign=", b"sign=AAAA"))
    assert await send_notification(faulty, "alipay", forged) == 400
    assert (await ledger_check(faulty))["ok"]


async def test_a_notification_that_meets_a_concurrent_change_of_its_payout_is_applied_again(
    faulty: Stack, providers, recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker may commit what it learned of a transfer between the notification's read of the payout and
    its write (SQLite takes no row lock): the notification is applied again, not answered 409 and lost on
    a provider that does not retry."""
    _, received = recorder
    await fund_region(faulty)
    claim = await approved_claim(faulty, "raced")
    await run_payouts_once(faulty.apps["compensation"])
    await asyncio.sleep(0.3)
    (note,) = [n for n in received if n["provider"] == "wechatpay"]
    apply_once, attempts = payouts._apply_notification, []

    async def raced(*args: Any) -> str:
        attempts.append(args)
        if len(attempts) == 1:
            raise StaleDataError("UPDATE statement on table 'payouts' expected to update 1 row(s); 0 were matched.")
        return await apply_once(*args)

    monkeypatch.setattr(payouts, "_apply_notification", raced)
    assert await send_notification(faulty, "wechat", note) == 204
    assert len(attempts) == 2
    await faulty.deliver_events()
    paid = await claim_of(faulty, claim["complaint_id"])
    assert paid["state"] == "paid" and paid["payout"]["state"] == "succeeded"
    assert (await ledger_check(faulty))["ok"]
