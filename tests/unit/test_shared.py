"""The schema library's small parts: ids, money, masking, regions, errors, rate limits, similarity."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.ratelimit import InFlightLimit, RateLimiter
from services.intake.deadlines import minutes_between
from services.intake.submission import similarity
from shared.contracts.common import yuan
from shared.contracts.identity import region_covers, region_prefix
from shared.errors import TooManyRequests
from shared.ids import new_id, ulid
from shared.logging import JsonFormatter, mask_phone, mask_text, set_request_id
from shared.outbox import at_batch_end, finish_batch


def test_ids_sort_by_creation_time() -> None:
    earlier, later = ulid(1_700_000_000_000), ulid(1_700_000_000_001)
    assert earlier < later and len(earlier) == 26
    assert new_id("cmp").startswith("cmp_") and len({new_id("x") for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    ("fen", "text"), [(4256500, "42565.00"), (2493630, "24936.30"), (5, "0.05"), (0, "0.00"), (-150, "-1.50")]
)
def test_fen_are_written_as_yuan_with_two_decimals(fen: int, text: str) -> None:
    assert yuan(fen) == text


def test_phone_and_id_numbers_are_masked() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_text("联系人 13812341234，身份证 460100199001011234") == "联系人 138****1234，身份证 460100********1234"
    assert mask_text("订单号 2026112012345678901") == "订单号 2026112012345678901"  # not a phone number


def test_log_lines_are_json_with_request_id_and_masked_phones() -> None:
    set_request_id("req_TEST")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "called back %s", ("13987654321",), None)
    line = json.loads(JsonFormatter("intake").format(record))
    assert line["message"] == "called back 139****4321"
    assert line["request_id"] == "req_TEST" and line["service"] == "intake"


def test_regions_nest_by_code_prefix() -> None:
    assert region_prefix("460000") == "46" and region_prefix("460200") == "4602"
    assert region_covers("460000", "469028") and region_covers("460200", "460203")
    assert not region_covers("460200", "460100") and not region_covers("469001", "469002")


def test_similar_complaint_texts_score_high_and_different_ones_low() -> None:
    a = "预订了海景房，入住时却被安排在面对停车场的房间，前台拒绝退差价。"
    b = "预订了海景房，入住时被安排在对着停车场的房间，前台拒绝退还差价！"
    assert similarity(a, b) > 0.8
    assert similarity(a, "海鲜店缺斤短两，一斤虾只有七两。") < 0.3


def test_handling_minutes_count_started_minutes() -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 8, 1, 0, tzinfo=UTC)
    assert minutes_between(start, start + timedelta(minutes=6)) == 6
    assert minutes_between(start, start + timedelta(minutes=6, seconds=1)) == 7


async def test_rate_limiter_refuses_past_the_limit_with_retry_after() -> None:
    now = [0.0]
    limiter = RateLimiter(3, monotonic=lambda: now[0])
    for _ in range(3):
        await limiter.hit("alice")
    with pytest.raises(TooManyRequests) as refused:
        await limiter.hit("alice")
    assert refused.value.headers["Retry-After"] == "20"
    await limiter.hit("bob")  # others are not affected
    now[0] += 20
    await limiter.hit("alice")


async def test_past_its_cap_the_gateway_refuses_at_once_but_never_a_probe_or_an_event() -> None:
    release = asyncio.Event()

    async def slow(scope: dict, receive: object, send: Any) -> None:  # a request waiting on intake
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limited = InFlightLimit(slow, limit=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limited), base_url="http://gw") as client:
        waiting = [asyncio.create_task(client.get("/v1/complaints")) for _ in range(2)]
        probe = asyncio.create_task(client.get("/health/ready"))
        events = asyncio.create_task(client.post("/internal/event-batches", json={}))
        await asyncio.sleep(0.05)
        refused = await client.post("/v1/complaints", json={})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["code"] == "overloaded"
        # The probe and another service's events wait like any request, but are never refused.
        assert limited.in_flight == 2 and not probe.done() and not events.done()
        release.set()
        assert [r.status_code for r in await asyncio.gather(*waiting, probe, events)] == [200, 200, 200, 200]
        assert limited.in_flight == 0 and (await client.get("/v1/complaints")).status_code == 200
    unlimited = InFlightLimit(slow, limit=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unlimited), base_url="http://gw") as client:
        assert (await client.get("/v1/complaints")).status_code == 200


def test_the_gateway_caps_requests_in_progress_from_its_setting() -> None:
    from services.gateway.config import GatewaySettings
    from services.gateway.main import create_app

    app = create_app(GatewaySettings(max_in_flight=7))
    [cap] = [m for m in app.user_middleware if m.cls is InFlightLimit]
    assert cap.kwargs == {"limit": 7}


async def test_what_handlers_leave_for_the_batch_end_runs_once_a_key_in_the_order_asked() -> None:
    session, ran = AsyncSession(), []

    async def write(session: AsyncSession, gathered: list[str]) -> None:
        ran.append(gathered[0])
        if gathered[0] == "rows":  # a finisher may leave work of its own: it runs in the same call
            at_batch_end(session, "after", write).append("after")

    for _ in range(3):  # three events of one batch, each asking for the same two writes
        at_batch_end(session, "rows", write).append("rows")
        at_batch_end(session, "scores", write).append("scores")
    await finish_batch(session)
    assert ran == ["rows", "scores", "after"]
    await finish_batch(session)  # nothing is left over for the next batch
    assert ran == ["rows", "scores", "after"]


def test_a_payee_name_request_of_version_1_names_its_provider_as_version_2_does() -> None:
    """Version 1 of `claim.payee_name_required` called the payout provider `channel`: one written before the
    rename and still in an outbox is applied all the same."""
    from shared.contracts.events import PayeeNameRequired

    fields = {"claim_id": "clm_1", "complaint_id": "cmp_1", "payout_id": "pay_1", "amount_fen": 300_000}
    assert PayeeNameRequired.model_validate({**fields, "channel": "wechat"}).provider == "wechat"
    current = PayeeNameRequired(**fields, provider="alipay")
    assert (current.version, current.model_dump()["provider"]) == (2, "alipay")
    assert "channel" not in current.model_dump()
