"""The daily reconciliation: the ledger's payouts against the provider's bill, every mismatch listed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from shared.clock import SHANGHAI, system_clock
from tests.compensation.helpers import (
    fund_region,
    overdue_complaint,
    paying_consumer,
    request_compensation,
    settle_payouts,
)
from tests.conftest import ADMIN, official
from tests.support import Stack


@pytest.fixture
def fakes_on_test_time(stack: Stack, providers) -> Iterator[None]:
    """The fakes stamp bills with the test's clock, so they fall on the same days as the ledger."""
    providers.wechatpay.state.clock = providers.alipay.state.clock = stack.clock
    yield
    providers.wechatpay.state.clock = providers.alipay.state.clock = system_clock


async def test_a_day_reconciles_and_each_kind_of_mismatch_is_reported(
    stack: Stack, providers, fakes_on_test_time: None
) -> None:
    await fund_region(stack)
    for name in ("kai", "lin"):
        who = await paying_consumer(stack, name)
        complaint_id = await overdue_complaint(stack, who, description=f"{name}: 酒店加收未告知的费用且拒绝退还。")
        await request_compensation(stack, who, complaint_id, 10_000)
    await settle_payouts(stack)
    day = stack.clock.now().astimezone(SHANGHAI).date().isoformat()
    comp = stack.clients["compensation"]

    report = (await comp.get(f"/v1/reconciliations/{day}", headers=stack.as_(official()))).json()
    assert report["balanced"] and report["mismatches"] == []
    assert (report["ledger_count"], report["provider_count"]) == (2, 2)
    assert report["ledger_total_fen"] == report["provider_total_fen"] == 20_000

    bills = providers.wechatpay.state.bills
    ours = [b for b in bills.values() if b["update_time"][:10] == day]
    ours[0]["transfer_amount"] += 100  # the provider's record disagrees on one amount
    bills["payUNKNOWN0000000000000000001"] = {
        **ours[1],
        "out_bill_no": "payUNKNOWN0000000000000000001",
        "transfer_bill_no": "1330000unknown",
    }
    report = (await comp.get(f"/v1/reconciliations/{day}", headers=stack.as_(ADMIN))).json()
    assert not report["balanced"]
    assert sorted(m["kind"] for m in report["mismatches"]) == ["amount_mismatch", "missing_in_ledger"]
    del bills["payUNKNOWN0000000000000000001"]
    ours[0]["transfer_amount"] -= 100

    alipay = (
        await comp.get(f"/v1/reconciliations/{day}", params={"provider": "alipay"}, headers=stack.as_(ADMIN))
    ).json()
    assert alipay["balanced"] and alipay["ledger_count"] == 0 and alipay["provider"] == "alipay"
    # The parameter's former name, and the answer's field of that name, stay for one release.
    former = await comp.get(f"/v1/reconciliations/{day}", params={"channel": "alipay"}, headers=stack.as_(ADMIN))
    assert (former.json()["provider"], former.json()["channel"]) == ("alipay", "alipay")
    schema = (await comp.get("/openapi.json")).json()
    (deprecated,) = [
        p for p in schema["paths"]["/v1/reconciliations/{day}"]["get"]["parameters"] if p.get("deprecated")
    ]
    assert deprecated["name"] == "channel"
    assert schema["components"]["schemas"]["ReconciliationOut"]["properties"]["channel"]["deprecated"] is True
    consumer = await comp.get(f"/v1/reconciliations/{day}", headers=stack.as_(await paying_consumer(stack, "kai")))
    assert consumer.status_code == 403
    bad_day = await comp.get("/v1/reconciliations/2026-13-40", headers=stack.as_(ADMIN))
    assert bad_day.status_code == 422


async def test_the_scheduled_reconciliation_reports_every_provider_and_fails_on_a_mismatch(
    stack: Stack, providers, fakes_on_test_time: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m services.compensation.cli reconcile`: what a CronJob runs each night."""
    from services.compensation import cli

    await fund_region(stack)
    who = await paying_consumer(stack, "mei")
    complaint_id = await overdue_complaint(stack, who)
    await request_compensation(stack, who, complaint_id, 12_300)
    await settle_payouts(stack)
    config = stack.apps["compensation"].state.settings
    today = stack.clock.now().astimezone(SHANGHAI).date()

    reports = await cli.reconcile_day(config, today)
    assert [(r.provider, r.balanced, r.ledger_count, r.ledger_total_fen) for r in reports] == [
        ("alipay", True, 0, 0),
        ("wechat", True, 1, 12_300),
    ]
    yesterday = await cli.reconcile_day(config, names=["wechat"], clock=stack.clock)  # the default day
    assert [(r.date, r.ledger_count) for r in yesterday] == [(today - timedelta(days=1), 0)]

    bill = next(b for b in providers.wechatpay.state.bills.values() if b["transfer_amount"] == 12_300)
    bill["transfer_amount"] = 12_000
    try:
        reports = await cli.reconcile_day(config, today, ["wechat"])
        assert [(m.kind, m.ledger_amount_fen, m.provider_amount_fen) for m in reports[0].mismatches] == [
            ("amount_mismatch", 12_300, 12_000)
        ]
    finally:
        bill["transfer_amount"] = 12_300
    with pytest.raises(SystemExit, match="no provider is configured for unionpay"):
        await cli.reconcile_day(config, today, ["unionpay"])


async def test_a_provider_without_payouts_or_without_a_bill_is_a_clear_refusal(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was a 500 (KeyError) for a provider the platform does not pay through, found by the contract fuzz."""
    from services.compensation.errors import ProviderError

    comp, day = stack.clients["compensation"], "2026-11-19"
    providers = stack.apps["compensation"].state.providers
    monkeypatch.delitem(providers, "alipay")
    off = await comp.get(f"/v1/reconciliations/{day}", params={"provider": "alipay"}, headers=stack.as_(ADMIN))
    assert off.status_code == 404 and off.json()["code"] == "payout_provider_not_enabled"

    async def no_bill(day: object) -> list[object]:
        raise ProviderError("bill not generated yet")

    monkeypatch.setattr(providers["wechat"], "bill", no_bill)
    failed = await comp.get(f"/v1/reconciliations/{day}", headers=stack.as_(ADMIN))
    assert failed.status_code == 502 and failed.json()["code"] == "provider_bill_unavailable"
    assert failed.headers["content-type"] == "application/problem+json"
