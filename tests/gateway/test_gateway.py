"""The gateway: logins through the real SDKs against the fakes, sessions, routing, failures, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from services.gateway.auth import create_staff
from services.gateway.main import create_app as create_gateway
from services.gateway.models import AuthSession
from services.gateway.models import metadata as gateway_metadata
from shared.clock import system_clock
from shared.contracts.identity import Role
from shared.testing.fakes.server import ServerThread
from tests.conftest import SANYA, gateway_overrides
from tests.factories import complaint_body, settle_merchant
from tests.support import Stack, service_settings, wipe


async def wechat_login(client: httpx.AsyncClient, name: str = "alice") -> dict[str, Any]:
    response = await client.post("/v1/auth/wechat/login", json={"code": f"demo-{name}"})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def add_staff(stack: Stack, username: str, password: str, role: Role, **fields: Any) -> None:
    async with stack.apps["gateway"].state.sessionmaker() as session:
        await create_staff(session, system_clock, username=username, password=password, role=role, **fields)
        await session.commit()


async def test_wechat_code_logs_in_the_same_consumer_every_time(stack: Stack) -> None:
    first = await wechat_login(stack.gateway, "alice")
    again = await wechat_login(stack.gateway, "alice")
    bob = await wechat_login(stack.gateway, "bob")
    assert first["account"]["id"] == again["account"]["id"] != bob["account"]["id"]
    assert first["account"]["role"] == "consumer" and first["account"]["channel"] == "wechat_miniprogram"
    me = await stack.gateway.get("/v1/me", headers=bearer(first))
    assert me.status_code == 200 and me.json()["id"] == first["account"]["id"]


async def test_alipay_auth_code_logs_in_through_the_signed_gateway(stack: Stack) -> None:
    response = await stack.gateway.post("/v1/auth/alipay/login", json={"auth_code": "demo-carol"})
    assert response.status_code == 200, response.text
    assert response.json()["account"]["channel"] == "alipay_miniprogram"


async def test_a_code_the_provider_rejects_is_a_401_problem(stack: Stack) -> None:
    for path, body in (
        ("/v1/auth/wechat/login", {"code": "not-a-demo-code"}),
        ("/v1/auth/alipay/login", {"auth_code": "not-a-demo-code"}),
    ):
        response = await stack.gateway.post(path, json=body)
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "login_code_invalid"


async def test_staff_log_in_with_a_password_and_see_their_scope(stack: Stack) -> None:
    await add_staff(stack, "sanya", "sanya-pass-123", Role.official, region_code=SANYA)
    wrong = await stack.gateway.post("/v1/auth/staff/login", json={"username": "sanya", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    nobody = await stack.gateway.post("/v1/auth/staff/login", json={"username": "ghost", "password": "nope"})
    assert nobody.status_code == 401 and nobody.json()["code"] == "invalid_credentials"
    tokens = (
        await stack.gateway.post("/v1/auth/staff/login", json={"username": "sanya", "password": "sanya-pass-123"})
    ).json()
    me = (await stack.gateway.get("/v1/me", headers=bearer(tokens))).json()
    assert (me["role"], me["region_code"]) == ("official", SANYA) and "complaints:region" in me["scopes"]


async def test_refresh_rotates_the_token_and_logout_ends_the_session(stack: Stack) -> None:
    tokens = await wechat_login(stack.gateway)
    renewed = await stack.gateway.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200
    fresh = renewed.json()
    assert (await stack.gateway.get("/v1/me", headers=bearer(fresh))).status_code == 200
    assert (await stack.gateway.post("/v1/auth/logout", headers=bearer(fresh))).status_code == 204
    after = await stack.gateway.get("/v1/me", headers=bearer(fresh))
    assert after.status_code == 401 and after.json()["code"] == "session_ended"
    again = await stack.gateway.post("/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert again.status_code == 401


async def test_a_session_ended_at_another_replica_is_refused_once_the_check_interval_passes(stack: Stack) -> None:
    tokens, other = await wechat_login(stack.gateway), await wechat_login(stack.gateway, "bob")
    assert (await stack.gateway.get("/v1/me", headers=bearer(tokens))).status_code == 200
    ended = stack.apps["gateway"].state.sessions
    assert ended.current  # the replica asked which sessions ended, rather than reading this one's

    async def logout_elsewhere(account_id: str) -> None:  # a logout that another replica took
        async with stack.apps["gateway"].state.sessionmaker() as session:
            await session.execute(
                update(AuthSession).where(AuthSession.account_id == account_id).values(revoked_at=system_clock.now())
            )
            await session.commit()

    await logout_elsewhere(tokens["account"]["id"])
    assert (await stack.gateway.get("/v1/me", headers=bearer(tokens))).status_code == 200  # not asked again yet
    ended.interval = 0.01
    await asyncio.sleep(0.02)  # the interval has passed
    refused = await stack.gateway.get("/v1/me", headers=bearer(tokens))
    assert refused.status_code == 401 and refused.json()["code"] == "session_ended"
    assert (await stack.gateway.get("/v1/me", headers=bearer(other))).status_code == 200
    ended.interval = 0  # off: every request reads its own session
    await logout_elsewhere(other["account"]["id"])
    refused = await stack.gateway.get("/v1/me", headers=bearer(other))
    assert refused.status_code == 401 and refused.json()["code"] == "session_ended"


async def test_complaints_go_through_the_gateway_and_service_problems_pass_unchanged(stack: Stack) -> None:
    await settle_merchant(stack)
    tokens = await wechat_login(stack.gateway)
    created = await stack.gateway.post("/v1/complaints", headers=bearer(tokens), json=complaint_body())
    assert created.status_code == 201, created.text
    assert created.json()["consumer_id"] == tokens["account"]["id"]
    listed = await stack.gateway.get("/v1/complaints", params={"state": "assigned"}, headers=bearer(tokens))
    assert [c["id"] for c in listed.json()["items"]] == [created.json()["id"]]
    bad = await stack.gateway.post(
        "/v1/complaints",
        headers={**bearer(tokens), "X-Request-ID": "req_mine"},
        json=complaint_body(region_code="460300"),
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["code"] == "unknown_region" and bad.json()["request_id"] == "req_mine"
    assert bad.headers["x-request-id"] == "req_mine"


async def test_catalogues_are_open_but_complaints_need_a_login(stack: Stack) -> None:
    regions = await stack.gateway.get("/v1/regions")
    assert regions.status_code == 200
    codes = {r["code"] for r in regions.json()}
    assert {"460100", "460200", "469028"} <= codes and "460300" not in codes  # Sansha is not served
    assert len([c for c in codes if c.startswith("4690") or c in ("460100", "460200", "460400")]) == 18
    assert (await stack.gateway.get("/v1/industries")).status_code == 200
    anonymous = await stack.gateway.get("/v1/complaints")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "token_missing"
    garbage = await stack.gateway.get("/v1/complaints", headers={"Authorization": "Bearer garbage"})
    assert garbage.status_code == 401 and garbage.json()["code"] == "invalid_token"
    nowhere = await stack.gateway.get("/v1/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "route_not_found"
    internal = await stack.gateway.post("/internal/events", json={})  # for services only (and not routed in)
    assert internal.status_code == 401 and internal.json()["code"] == "internal_token_missing"


async def test_rate_limit_per_identity_answers_429_with_retry_after(stack: Stack) -> None:
    stack.apps["gateway"].state.limits["identity"].__init__(3)
    tokens = await wechat_login(stack.gateway)
    statuses = [(await stack.gateway.get("/v1/complaints", headers=bearer(tokens))) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()["code"] == "rate_limited" and int(statuses[-1].headers["retry-after"]) >= 1


async def test_oversized_upload_is_refused_at_the_gateway(stack: Stack) -> None:
    tokens = await wechat_login(stack.gateway)
    response = await stack.gateway.post(
        "/v1/complaints/cmp_X/evidence",
        headers={**bearer(tokens), "content-length": str(12 * 1024 * 1024), "content-type": "application/octet-stream"},
        content=b"x" * (12 * 1024 * 1024),
    )
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


async def test_openapi_of_the_gateway_covers_every_public_path(stack: Stack) -> None:
    schema = (await stack.gateway.get("/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/v1/auth/wechat/login",
        "/v1/complaints",
        "/v1/complaints/{complaint_id}/responses",
        "/v1/complaints/{complaint_id}/evidence",
        "/v1/regions",
        "/v1/merchants",
    ):
        assert path in paths, path
    assert not any(p.startswith("/internal") for p in paths)
    assert "ProblemDetail" in schema["components"]["schemas"]


@asynccontextmanager
async def lone_gateway(
    databases: Any, tmp_path: Any, providers: Any, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose intake is wherever `overrides` say, over real sockets."""
    settings = service_settings("gateway", databases, tmp_path, **gateway_overrides(providers), **overrides)
    app = create_gateway(settings)
    async with app.router.lifespan_context(app):
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
                yield client
        finally:
            await wipe(app.state.engine, gateway_metadata)


async def test_intake_down_is_a_503_and_intake_slow_is_a_504(databases: Any, tmp_path: Any, providers: Any) -> None:
    async with lone_gateway(databases, tmp_path, providers, intake_url="http://127.0.0.1:9", http_retries=0) as gw:
        tokens = await wechat_login(gw)
        down = await gw.get("/v1/complaints", headers=bearer(tokens))
        assert down.status_code == 503 and down.json()["code"] == "service_unavailable"

    slow = FastAPI()

    @slow.get("/v1/complaints")
    async def _slow() -> dict[str, str]:
        await asyncio.sleep(3)
        return {}

    with ServerThread(slow) as server:
        async with lone_gateway(
            databases, tmp_path, providers, intake_url=server.url, http_timeout_seconds=0.3, http_retries=0
        ) as gw:
            tokens = await wechat_login(gw)
            started = asyncio.get_running_loop().time()
            timed_out = await gw.get("/v1/complaints", headers=bearer(tokens))
            assert timed_out.status_code == 504 and timed_out.json()["code"] == "upstream_timeout"
            assert asyncio.get_running_loop().time() - started < 2.5
