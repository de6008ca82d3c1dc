"""A new payout provider, added the way a real one would be: one module, its settings, its tests.

Adding ExamplePay touched exactly these files, and no service's code:
- tests/compensation/example_provider.py: the module (its settings class and its adapter, `PROVIDER`, with its
  name and its label in Chinese and English);
- its settings: COMPENSATION_PAYOUT_PROVIDERS names the module, COMPENSATION_EXAMPLEPAY_SECRET is its
  own, and GATEWAY_PAYOUT_CALLBACKS gets the value compensation's registry gives (`gateway_callbacks()`,
  printed by `python -m services.compensation.cli payout-callbacks`);
- this test.
A real provider would live in services/compensation/providers/; the route, the callback, the payee lookup,
the CLI's choices and the console's label (GET /v1/payout-providers) follow.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.compensation.cli import main as compensation_cli
from services.compensation.config import CompensationSettings
from services.compensation.payouts import run_payouts_once
from services.compensation.providers.registry import load
from tests.compensation import example_provider
from tests.compensation.example_provider import SIGNATURE, sign
from tests.compensation.helpers import (
    claim_of,
    fund_region,
    ledger_check,
    overdue_complaint,
    paying_consumer,
    request_compensation,
)
from tests.conftest import Providers, compensation_overrides, gateway_overrides
from tests.support import Databases, Stack, running_stack

SECRET = "examplepay-test-secret"
PROVIDERS = f"{CompensationSettings().payout_providers},tests.compensation.example_provider"


@pytest.fixture
async def stack(
    databases: Databases, providers: Providers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    monkeypatch.setenv("COMPENSATION_EXAMPLEPAY_SECRET", SECRET)
    overrides = {
        "gateway": {**gateway_overrides(providers), "payout_callbacks": load(PROVIDERS).gateway_callbacks()},
        "compensation": {**compensation_overrides(providers), "payout_providers": PROVIDERS},
    }
    async with running_stack(databases, tmp_path, overrides=overrides) as s:
        yield s


def test_the_gateway_passes_the_callbacks_of_the_default_providers() -> None:
    from services.gateway.config import GatewaySettings

    default = CompensationSettings().payout_providers
    assert GatewaySettings().payout_callbacks == load(default).gateway_callbacks()
    with pytest.raises(ValueError, match="provider:path"):
        GatewaySettings(payout_callbacks="wechat")


def test_the_registry_derives_the_gateway_callbacks_the_routes_and_the_cli_choices() -> None:
    registry = load(PROVIDERS)
    assert registry.names == ["wechat", "alipay", "examplepay"]
    assert registry.provider_for("douyin") == "examplepay"
    assert registry.provider_for("wechat_miniprogram") == "wechat" and registry.provider_for("kuaishou") == "alipay"
    assert registry.gateway_callbacks().endswith(",examplepay:examplepay/notify:examplepay-")
    with pytest.raises(ValueError, match="no module"):
        load("services.compensation.providers.nowhere")
    with pytest.raises(ValueError, match="exactly one provider must pay every channel"):
        load("tests.compensation.example_provider")  # none pays the channels it does not name


async def test_a_douyin_complainant_is_paid_through_the_new_provider_and_its_notification_passes_the_gateway(
    stack: Stack,
) -> None:
    await fund_region(stack)
    dora = await paying_consumer(stack, "dora", via="douyin")
    complaint_id = await overdue_complaint(stack, dora)
    await request_compensation(stack, dora, complaint_id, 23_400)
    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "approved" and claim["payout"]["provider"] == "examplepay"
    listed = (await stack.clients["compensation"].get("/v1/payout-providers", headers=stack.as_(dora))).json()
    assert listed[-1] == {"name": "examplepay", "label_zh": "示例支付", "label_en": "ExamplePay", "enabled": True}
    assert [p["name"] for p in listed] == ["wechat", "alipay", "examplepay"]

    assert await run_payouts_once(stack.apps["compensation"]) == 1  # the real worker: payee from the gateway, sent
    out_no = claim["payout"]["out_no"]
    taken = example_provider.BANK.transfers[out_no]
    assert taken["amount_fen"] == 23_400 and str(taken["payee"]).startswith("dy_")  # the Douyin openid
    assert (await claim_of(stack, complaint_id))["payout"]["state"] == "processing"

    taken["state"] = "succeeded"
    note = json.dumps({"id": "n-1", "out_no": out_no, "state": "succeeded", "amount_fen": 23_400}).encode()
    forged = await stack.gateway.post(
        "/callbacks/examplepay/notify", content=note, headers={SIGNATURE: "0" * 64, "authorization": "x"}
    )
    assert forged.status_code == 400 and forged.json() == {"ok": False, "why": "bad signature"}
    answer = await stack.gateway.post(
        "/callbacks/examplepay/notify",
        content=note,
        headers={SIGNATURE: sign(SECRET, note), "content-type": "application/json"},
    )
    assert answer.status_code == 200 and answer.json() == {"ok": True}  # answered in ExamplePay's words
    await stack.deliver_events()

    claim = await claim_of(stack, complaint_id)
    assert claim["state"] == "paid" and claim["payout"]["state"] == "succeeded"
    assert (await ledger_check(stack))["ok"]
    again = await stack.gateway.post(
        "/callbacks/examplepay/notify", content=note, headers={SIGNATURE: sign(SECRET, note)}
    )
    assert again.status_code == 200  # a duplicate is acknowledged and ignored


def test_the_cli_offers_the_new_provider(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from services.compensation import cli

    monkeypatch.setattr(cli, "settings", CompensationSettings(payout_providers=PROVIDERS))
    with pytest.raises(SystemExit):
        compensation_cli(["reconcile", "--help"])
    assert "--provider {wechat,alipay,examplepay}" in capsys.readouterr().out
    assert compensation_cli(["payout-callbacks"]) == 0  # what the gateway's GATEWAY_PAYOUT_CALLBACKS is set to
    assert capsys.readouterr().out.strip() == load(PROVIDERS).gateway_callbacks()
