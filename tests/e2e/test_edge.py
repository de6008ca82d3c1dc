"""The edge over real HTTP, as an attacker or a careless partner would meet it: the proxy forwards exactly what
it declares, paths mean one route, bodies are bounded however they are sent, the client's address is the one
the configured proxies vouch for, and staff logins are throttled per username across replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from services.gateway.main import create_app as create_gateway
from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token
from shared.testing.fakes.server import ServerThread
from tests.conftest import consumer
from tests.e2e.conftest import System
from tests.factories import complaint_body
from tests.support import INTERNAL_SECRET

pytestmark = pytest.mark.e2e


async def raw_request(
    url: str, target: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, bytes]:
    """One request written byte for byte (no client normalises its path), answered on a fresh connection."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


@pytest.fixture(scope="module")
def second_gateway(system: System) -> Iterator[str]:
    """Another gateway replica on the same database, behind a proxy at 127.0.0.1 that it trusts, with a
    small login limit per client address."""
    settings = system.settings["gateway"].model_copy(
        update={"trusted_proxies": "127.0.0.1", "rate_limit_logins_per_ip": 3, "run_background_workers": False}
    )
    with ServerThread(create_gateway(settings, clock=system.clock)) as server:
        yield server.url


@pytest.fixture
async def gw(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        yield client


async def streamed(*parts: bytes) -> AsyncIterator[bytes]:
    """A body sent chunked: no length is declared."""
    for part in parts:
        yield part


async def tourist(gw: httpx.AsyncClient, name: str) -> dict[str, str]:
    r = await gw.post("/v1/auth/wechat/login", json={"code": f"demo-{name}"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# --- 1. the proxy forwards exactly what it declares ---------------------------------------------------------
async def test_a_body_on_a_get_or_delete_is_refused_and_the_next_caller_is_served(gw: httpx.AsyncClient) -> None:
    headers = await tourist(gw, "edge-desync")
    for method in ("GET", "DELETE"):
        smuggled = await gw.request(method, "/v1/regions", content=b'{"x": 1}', headers=headers)
        assert smuggled.status_code == 400, smuggled.text
        assert smuggled.json()["code"] == "body_not_allowed"
        # Before: the length went on with no body, and the pooled connection read the next request as it.
        for _ in range(4):
            ordinary = await gw.get("/v1/regions", headers=headers)
            assert ordinary.status_code == 200, ordinary.text
    chunked = await gw.request("GET", "/v1/regions", content=streamed(b"abc"), headers=headers)
    assert chunked.status_code == 400 and chunked.json()["code"] == "body_not_allowed"
    assert (await gw.get("/v1/regions")).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "/v1/complaints/../../metrics",
        "/v1/complaints/%2e%2e/%2e%2e/metrics",
        "/v1/complaints/..%2f..%2fmetrics",
        "/v1/complaints%2f..%2f..%2finternal/events",
        "/v1/codes/..%5c..%5cmetrics",
        "/v1/complaints//x",
        "/v1/complaints/./x",
        "/v1/complaints/%7F",
        "/v1/complaints/%00",
        "/v1/codes/%0d%0aX-Injected:%20yes",
        "/v1/codes/%ff%fe",
    ],
)
async def test_a_path_that_could_mean_another_route_is_refused(system: System, target: str) -> None:
    status, body = await raw_request(system.url, target)
    assert status == 400, body
    assert b'"path_invalid"' in body and b"# HELP" not in body


async def test_a_decoded_question_mark_stays_part_of_the_path(gw: httpx.AsyncClient) -> None:
    headers = await tourist(gw, "edge-query")
    # /v1/complaints/x%3Fstate=assigned is the complaint "x?state=assigned" (none), not the list.
    response = await gw.get("/v1/complaints/x%3Fstate=assigned", headers=headers)
    assert response.status_code in (404, 422), response.text
    assert "items" not in response.json()


async def test_chunked_bodies_are_held_to_the_limit_at_the_gateway_and_at_each_service(
    system: System, gw: httpx.AsyncClient
) -> None:
    headers = await tourist(gw, "edge-chunked")
    limit = system.settings["gateway"].max_request_bytes

    async def chunks(total: int) -> AsyncIterator[bytes]:
        yield b'{"description": "'
        for _ in range(total // 65536):
            yield b"x" * 65536
        yield b'"}'

    huge = await gw.post(
        "/v1/complaints", content=chunks(limit + 1024 * 1024), headers={**headers, "Content-Type": "application/json"}
    )
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
    declared = await gw.post(
        "/v1/complaints", content=b"x" * (limit + 1), headers={**headers, "Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    intake = system.settings["gateway"].intake_url
    direct = {
        INTERNAL_TOKEN_HEADER: issue_internal_token(consumer(), INTERNAL_SECRET),
        "Content-Type": "application/json",
    }
    async with httpx.AsyncClient(base_url=intake, timeout=30) as service:
        at_intake = await service.post("/v1/complaints", content=chunks(50 * 1024 * 1024), headers=direct)
    assert at_intake.status_code == 413 and at_intake.json()["code"] == "payload_too_large"
    ok = await gw.post("/v1/complaints", json=complaint_body(region_code="460300"), headers=headers)
    assert ok.status_code == 422  # an ordinary body still reaches intake whole (an unknown region here)


async def test_provider_callbacks_are_bounded_and_never_a_server_error(system: System, gw: httpx.AsyncClient) -> None:
    limit = system.settings["gateway"].max_callback_bytes
    for path in ("/callbacks/alipay/notify", "/callbacks/wechatpay/transfer", "/callbacks/hotline_12345"):
        big = await gw.post(path, content=b"a=" + b"x" * limit, headers={"Content-Type": "text/plain"})
        assert big.status_code == 413, (path, big.text)
    for path in ("/callbacks/alipay/notify", "/callbacks/wechatpay/transfer"):  # read before any check
        chunked = await gw.post(path, content=streamed(b"a=", b"x" * limit), headers={"Content-Type": "text/plain"})
        assert chunked.status_code == 413, (path, chunked.text)
    garbled = await gw.post(
        "/callbacks/alipay/notify",
        content=b"notify_id=\xff\xfe&sign=\x80\x81",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= garbled.status_code < 500, garbled.text


# --- 2. who is calling ---------------------------------------------------------------------------------------
async def test_wrong_passwords_lock_a_username_across_replicas_until_an_admin_unlocks_it(
    system: System, second_gateway: str
) -> None:
    settings = system.settings["gateway"]
    async with (
        httpx.AsyncClient(base_url=system.url, timeout=30) as one,
        httpx.AsyncClient(base_url=second_gateway, timeout=30) as two,
    ):

        def attempt(client: httpx.AsyncClient, password: str, proxy_seen: str = "198.51.100.20") -> Any:
            return client.post(
                "/v1/auth/staff/login",
                json={"username": "haikou", "password": password},
                headers={"X-Forwarded-For": proxy_seen},
            )

        for i in range(settings.login_free_failures):
            wrong = await attempt(one, f"guess-{i}")
            assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials", wrong.text
        locked = await attempt(two, "haikou-pass-e2e", proxy_seen="198.51.100.21")  # the right one, elsewhere
        assert locked.status_code == 429 and locked.json()["code"] == "login_locked", locked.text
        assert int(locked.headers["retry-after"]) >= 1
        still_locked = [(await attempt(one, "x")).status_code for _ in range(2)]
        ghost = [
            (await one.post("/v1/auth/staff/login", json={"username": "no-such-user", "password": "x"}))
            for _ in range(settings.login_free_failures + 1)
        ]
        assert ghost[-1].status_code == 429  # an unknown username locks alike: a lock tells no one it exists
        assert still_locked == [429, 429]

        admin = (
            await one.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
        ).json()
        as_admin = {"Authorization": f"Bearer {admin['access_token']}"}
        official = (
            await one.post("/v1/auth/staff/login", json={"username": "sanya", "password": "sanya-pass-e2e"})
        ).json()
        refused = await two.post(
            "/v1/staff/haikou/unlock", headers={"Authorization": f"Bearer {official['access_token']}"}
        )
        assert refused.status_code == 403
        assert (await two.post("/v1/staff/haikou/unlock", headers=as_admin)).status_code == 204
        back = await attempt(one, "haikou-pass-e2e")
        assert back.status_code == 200, back.text
        events = (await one.get("/v1/staff/login-events", params={"username": "haikou"}, headers=as_admin)).json()
        kinds = [e["event"] for e in reversed(events)]
        assert kinds.count("failed") == settings.login_free_failures
        assert kinds[-2:] == ["unlocked", "succeeded"] and "locked" in kinds and "refused_locked" in kinds
        assert {e["client_ip"] for e in events if e["event"] == "failed"} == {"127.0.0.1"}
        first_refusal = next(e for e in reversed(events) if e["event"] == "refused_locked")
        assert first_refusal["client_ip"] == "198.51.100.21"  # as the trusted proxy in front of replica two saw
        assert next(e for e in events if e["event"] == "unlocked")["actor_id"] == admin["account"]["id"]


# Last: it spends this client's login budget at the first gateway.
async def test_a_client_cannot_choose_its_address_with_x_forwarded_for(system: System, second_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=second_gateway, timeout=30) as behind_proxy:
        # The trusted proxy (127.0.0.1) appended the client it saw; the client wrote the left-most entries.
        answers = [
            await behind_proxy.post(
                "/v1/auth/wechat/login",
                json={"code": "not-a-demo-code"},
                headers={"X-Forwarded-For": f"10.9.{i}.1, 198.51.100.7"},
            )
            for i in range(5)
        ]
        assert [a.status_code for a in answers[:3]] == [401, 401, 401]
        assert [a.status_code for a in answers[3:]] == [429, 429]
        elsewhere = await behind_proxy.post(
            "/v1/auth/wechat/login", json={"code": "not-a-demo-code"}, headers={"X-Forwarded-For": "198.51.100.8"}
        )
        assert elsewhere.status_code == 401  # another client, another budget
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as direct:
        # The first gateway trusts no proxy: X-Forwarded-For is the client's own words, and ignored.
        limit = system.settings["gateway"].rate_limit_logins_per_ip
        # The bucket refills one a second: on a loaded machine a few more than the limit may pass.
        statuses: list[int] = []
        for i in range(2 * limit):
            answer = await direct.post(
                "/v1/auth/wechat/login",
                json={"code": "not-a-demo-code"},
                headers={"X-Forwarded-For": f"203.0.113.{i % 250}"},
            )
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                break
        assert 429 in statuses, statuses
