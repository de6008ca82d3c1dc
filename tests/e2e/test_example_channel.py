"""A government channel added by its test alone: `tests/e2e/example_channel.py` (the module: its name,
labels, that it is governmental, its work-order adapter) and this file (its setting and its test). Those
are the two files the example touched; no service, contract, console or CLI file names the channel.

Every service knows it through its `*_CHANNEL_MODULES` and the gateway serves it through
`GATEWAY_GOVERNMENT_CHANNELS` (both set below, by its dotted path; that each service knows it from its own
setting, in a process of its own, is `tests/unit/test_channels.py`'s to show); its center
registers as a partner of the channel and pushes a signed ticket in its own shape; the case is worked
like any other, the center hears of it in its own shape, and what the channel is (its label, that only
its center submits as it) comes from the module wherever it is used: intake's named source, the partner
API's refusal, the console's labels, the API's description."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.e2e.conftest import Receiver, System
from tests.e2e.test_government_channels import Center, beijing, center, login
from tests.factories import complaint_body
from tests.support import eventually

MODULE = "tests.e2e.example_channel"
CHANNELS = f"hotline_12345,platform_12301,odr_12315,{MODULE}"


@pytest.fixture(scope="module", autouse=True)
def the_platform_has_the_example() -> Iterator[None]:
    """The settings, read when this module's `system` starts (autouse: before it)."""
    with pytest.MonkeyPatch.context() as env:
        for service in ("GATEWAY", "INTAKE", "COMPENSATION", "CREDIT"):
            env.setenv(f"{service}_CHANNEL_MODULES", MODULE)
        env.setenv("GATEWAY_GOVERNMENT_CHANNELS", CHANNELS)
        yield


def test_a_channel_from_its_module_alone_takes_tickets_and_hears_back(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    hooks, hook_url = receiver

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.url, timeout=10) as gw:
            admin, sanya = await login(gw, "admin"), await login(gw, "sanya")
            example = await center(gw, system, admin, hook_url, hooks, "示例旅游热线中心", "example_hotline")
            now = system.clock.now()
            ticket = {
                "ticket": "EX-2026-0001",
                "received": beijing(now - timedelta(minutes=5)),
                "region": "460200",
                "phone": "13800001111",
                "merchant": "三亚湾海鲜排档",
                "category": "餐饮",
                "text": "结账时多收了一百二十元，老板拒绝退还。",
                "ask": "退款",
                "amount": "120.00",
            }
            r = await example.push("/callbacks/example_hotline", ticket)
            assert r.status_code == 201, r.text
            case = r.json()
            assert (case["channel"], case["external_id"], case["amount_involved_fen"]) == (
                "example_hotline",
                "EX-2026-0001",
                12000,
            )
            assert case["source_name"] == "示例旅游热线"  # intake's label for it, from the module

            # A bad ticket is refused by the channel's own field names, as for every government channel.
            bad = await example.push("/callbacks/example_hotline", {**ticket, "ticket": None, "amount": "-1"})
            assert bad.status_code == 422 and bad.json()["code"] == "work_order_invalid"
            assert {e["field"] for e in bad.json()["errors"]} == {"ticket", "amount"}

            # Only its own center submits as it: another partner may not claim it.
            ota = Center(
                gw, system.url, (await gw.post("/v1/partners", headers=admin, json={"name": "OTA"})).json(), hooks
            )
            claimed = await ota.push(
                "/partner/v1/complaints", complaint_body(channel="example_hotline", external_id="OTA-EX")
            )
            assert claimed.status_code == 403 and claimed.json()["code"] == "channel_not_allowed"  # known: not a 422

            cid = case["id"]
            r = await gw.post(
                f"/v1/complaints/{cid}/resolutions",
                headers=sanya,
                json={"outcome": "refunded", "at_fault": "merchant", "amount_refunded_fen": 12000, "note": "已退款"},
            )
            assert r.status_code == 200, r.text

            async def heard_all() -> bool:
                return [m["status"] for m in example.heard()] == ["ACCEPTED", "CLOSED"]

            await eventually(heard_all)
            assert all(m["ticket"] == "EX-2026-0001" and m["platform_id"] == cid for m in example.heard())

            # The console's labels and the API's description come from the module too.
            script = (await gw.get("/console/channels.js")).text
            assert '"channel.example_hotline": "示例旅游热线"' in script
            assert '"channel.example_hotline": "example tourism hotline"' in script
            schema = (await gw.get("/openapi.json")).json()
            assert "/callbacks/example_hotline" in schema["paths"]
            assert "example_hotline" in schema["components"]["schemas"]["Channel"]["enum"]
            listed = (await gw.get("/v1/complaints", headers=sanya, params={"channel": "example_hotline"})).json()
            assert [c["id"] for c in listed["items"]] == [cid]

    asyncio.run(scenario())
