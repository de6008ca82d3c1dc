"""Every answer says `X-Content-Type-Options: nosniff`: a browser takes each for the type it declares, never
for what its bytes look like (an evidence file, a problem, a page of the console, a server error)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import APIRouter

from shared.app import create_service_app
from tests.gateway.test_gateway import bearer, wechat_login
from tests.support import Databases, Stack, service_settings


async def test_api_and_error_answers_through_the_gateway_say_nosniff(stack: Stack) -> None:
    tokens = await wechat_login(stack.gateway, "alice")
    answers = [
        await stack.gateway.get("/v1/me", headers=bearer(tokens)),  # the gateway's own
        await stack.gateway.get("/v1/regions"),  # proxied from intake
        await stack.gateway.get("/v1/complaints/cmp_NOSUCH", headers=bearer(tokens)),  # a service's 404 problem
        await stack.gateway.get("/v1/complaints"),  # the gateway's 401 problem
        await stack.gateway.get("/v1/nowhere", headers=bearer(tokens)),  # no route
        await stack.gateway.post("/v1/auth/wechat/login", json={}),  # 422 validation
        await stack.gateway.get("/health/live"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 401, 404, 422, 200]
    assert all(a.headers.get("x-content-type-options") == "nosniff" for a in answers), [
        (str(a.url), a.headers) for a in answers if a.headers.get("x-content-type-options") != "nosniff"
    ]
    # Said once, not once by the service and again by the gateway.
    assert answers[1].headers.get_list("x-content-type-options") == ["nosniff"]
    for service in ("intake", "compensation", "credit"):
        direct = await stack.clients[service].get("/health/live")
        assert direct.headers["x-content-type-options"] == "nosniff", service


async def test_a_server_error_says_nosniff_too(databases: Databases, tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    app = create_service_app(
        name="intake",
        title="t",
        description="d",
        routers=[router],
        settings=service_settings("intake", databases, tmp_path),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        answer = await client.get("/boom")
    assert answer.status_code == 500 and answer.json()["code"] == "internal_error"
    assert answer.headers["x-content-type-options"] == "nosniff"
