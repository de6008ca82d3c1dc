"""What the gateway's replicas share: one WeChat access token (in the database, or in Redis where configured),
and, with Redis, rate limits; login throttling is in the database either way. Two gateway apps on the same
database (and the same Redis) stand for two replicas.

The Redis cases run against the Redis on this machine (TEST_REDIS_URL, default redis://127.0.0.1:6379/0) under
a key prefix of their own, and are skipped when none answers: the embedded default never needs Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.gateway.auth import create_staff
from services.gateway.logins.wechat import WeChatMiniProgramLogin
from services.gateway.main import create_app as create_gateway
from shared.clock import system_clock
from shared.contracts.identity import Role
from shared.testing.fakes.wechat import expire_tokens
from tests.conftest import Providers, gateway_overrides
from tests.support import SERVICES, Databases, Stack, running_stack

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEMPLATE = "tmpl-progress"


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); the embedded default does not use one")
    return client


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the machine's Redis, its keys deleted afterwards."""
    client = _redis_or_skip()
    prefix = f"test-gateway-{secrets.token_hex(4)}:"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@asynccontextmanager
async def two_gateways(
    databases: Databases, providers: Providers, tmp: Path, **settings: Any
) -> AsyncIterator[tuple[Stack, Any, httpx.AsyncClient]]:
    """The stack (its gateway is replica one) and a second gateway app on the same database and settings."""
    overrides = {"gateway": {**gateway_overrides(providers), **settings}}
    async with running_stack(databases, tmp, overrides=overrides) as stack, AsyncExitStack() as exits:
        transports = {name: httpx.ASGITransport(app=stack.apps[name]) for name in SERVICES if name != "gateway"}
        second = create_gateway(stack.apps["gateway"].state.settings, clock=stack.clock, transports=transports)
        await exits.enter_async_context(second.router.lifespan_context(second))
        client = await exits.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://gateway-2")
        )
        yield stack, second, client


def _wechat(app: Any) -> WeChatMiniProgramLogin:
    return app.state.logins["wechat"]


async def _token_of(app: Any) -> str:
    return await asyncio.to_thread(lambda: _wechat(app).client.access_token)


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_two_gateways_share_one_wechat_access_token_and_see_each_others_refresh(
    store: str, databases: Databases, providers: Providers, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    shared = {}
    if store == "redis":
        shared = {"redis_url": REDIS_URL, "redis_prefix": request.getfixturevalue("redis_prefix")}
    fake = providers.wechat.state
    expire_tokens(providers.wechat)  # WeChat holds no token for the app: the first call must fetch one
    async with two_gateways(databases, providers, tmp_path, **shared) as (stack, second, second_client):
        one, two = stack.apps["gateway"], second
        fetches = fake.token_fetches

        # Replica one logs a tourist in: one fetch. Replica two logs another in with the same token: none.
        first = await stack.gateway.post("/v1/auth/wechat/login", json={"code": "demo-share-one"})
        assert first.status_code == 200, first.text
        assert fake.token_fetches == fetches + 1
        again = await second_client.post("/v1/auth/wechat/login", json={"code": "demo-share-two"})
        assert again.status_code == 200, again.text
        assert fake.token_fetches == fetches + 1
        assert await _token_of(one) == await _token_of(two)
        if store == "redis":
            keys = redis.Redis.from_url(REDIS_URL).keys(f"{shared['redis_prefix']}token:*")
            assert len(keys) == 1  # in Redis, not in the database

        # The token runs out. Replica one meets the rejection first and refreshes: one fetch ...
        openid = (await _wechat(one).identify("demo-share-one")).external_id
        expire_tokens(providers.wechat)
        sent = len(fake.sent_messages)
        await _wechat(one).send_subscribe_message(openid, TEMPLATE, {"thing4": {"value": "已受理"}})
        assert fake.token_fetches == fetches + 2
        # ... and replica two, whose copy WeChat now rejects too, takes the refreshed one without a fetch.
        await _wechat(two).send_subscribe_message(openid, TEMPLATE, {"thing4": {"value": "已办结"}})
        assert fake.token_fetches == fetches + 2
        assert [m["data"]["thing4"]["value"] for m in fake.sent_messages[sent:]] == ["已受理", "已办结"]
        assert await _token_of(one) == await _token_of(two) in fake.tokens


async def test_an_adapter_on_its_own_keeps_its_token_in_memory_and_fetches_from_the_stable_endpoint(
    providers: Providers,
) -> None:
    """Without the gateway's store (a script, a test), two adapters fetch a token each; the stable-token
    endpoint hands both the same one, so neither ends the other's."""
    fake = providers.wechat.state
    expire_tokens(providers.wechat)
    a, b = (WeChatMiniProgramLogin(*gateway_overrides_wechat(providers)) for _ in range(2))
    fetches = fake.token_fetches
    await a.identify("demo-alone-a")
    await b.identify("demo-alone-b")
    assert fake.token_fetches == fetches + 2
    assert await asyncio.to_thread(lambda: a.client.access_token) == await asyncio.to_thread(
        lambda: b.client.access_token
    )


def gateway_overrides_wechat(providers: Providers) -> tuple[str, str, str]:
    o = gateway_overrides(providers)
    return o["wechat_appid"], o["wechat_secret"], o["wechat_api_base"]


async def test_with_redis_the_rate_limits_hold_across_two_gateways(
    databases: Databases, providers: Providers, tmp_path: Path, redis_prefix: str
) -> None:
    limits = {"rate_limit_logins_per_ip": 3, "rate_limit_per_identity": 4}
    async with two_gateways(
        databases, providers, tmp_path, redis_url=REDIS_URL, redis_prefix=redis_prefix, **limits
    ) as (stack, _, second):
        # Logins per client address: 3 a minute, whichever replica takes them (a tourist's is one of them).
        login = await second.post("/v1/auth/wechat/login", json={"code": "demo-limited"})
        assert login.status_code == 200, login.text
        wrong = {"username": "nobody", "password": "wrong-password"}
        answers = [await gw.post("/v1/auth/staff/login", json=wrong) for gw in (stack.gateway, second)]
        assert [a.status_code for a in answers] == [401, 401]
        refused = await stack.gateway.post("/v1/auth/staff/login", json=wrong)
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1

        # Requests per identity: 4 a minute, two on each replica, the fifth refused by either.
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        statuses = [(await gw.get("/v1/complaints", headers=bearer)).status_code for gw in (stack.gateway, second) * 2]
        assert statuses == [200, 200, 200, 200]
        assert (await stack.gateway.get("/v1/complaints", headers=bearer)).status_code == 429
        assert (await second.get("/v1/complaints", headers=bearer)).status_code == 429


async def test_without_redis_each_gateway_limits_on_its_own(
    databases: Databases, providers: Providers, tmp_path: Path
) -> None:
    async with two_gateways(databases, providers, tmp_path, rate_limit_logins_per_ip=2) as (stack, _, second):
        wrong = {"username": "nobody", "password": "wrong-password"}
        statuses = [(await gw.post("/v1/auth/staff/login", json=wrong)).status_code for gw in (stack.gateway, second)]
        statuses += [(await gw.post("/v1/auth/staff/login", json=wrong)).status_code for gw in (stack.gateway, second)]
        assert statuses == [401, 401, 401, 401]  # two a replica: the embedded default, no Redis asked
        assert (await second.post("/v1/auth/staff/login", json=wrong)).status_code == 429


async def test_a_gateway_whose_redis_is_gone_still_limits_on_its_own(
    databases: Databases, providers: Providers, tmp_path: Path
) -> None:
    nowhere = "redis://127.0.0.1:9/0"  # the discard port: nothing answers
    async with two_gateways(databases, providers, tmp_path, redis_url=nowhere, rate_limit_logins_per_ip=2) as (
        stack,
        _,
        _second,
    ):
        login = await stack.gateway.post("/v1/auth/wechat/login", json={"code": "demo-no-redis"})
        assert login.status_code == 200, login.text  # the WeChat token is kept in this replica's copy meanwhile
        wrong = {"username": "nobody", "password": "wrong-password"}
        statuses = [(await stack.gateway.post("/v1/auth/staff/login", json=wrong)).status_code for _ in range(2)]
        assert statuses == [401, 429]  # the login above was the first of two


@pytest.mark.parametrize("with_redis", [False, True], ids=["database", "database-with-redis"])
async def test_wrong_passwords_lock_a_username_across_two_gateways(
    with_redis: bool, databases: Databases, providers: Providers, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    shared = {"redis_url": REDIS_URL, "redis_prefix": request.getfixturevalue("redis_prefix")} if with_redis else {}
    async with two_gateways(databases, providers, tmp_path, login_free_failures=3, **shared) as (stack, _, second):
        async with stack.apps["gateway"].state.sessionmaker() as session:
            await create_staff(session, system_clock, username="clerk", password="right-pass-123", role=Role.admin)
            await session.commit()
        wrong = {"username": "clerk", "password": "wrong-password"}
        statuses = [(await gw.post("/v1/auth/staff/login", json=wrong)).status_code for gw in (stack.gateway, second)]
        statuses.append((await stack.gateway.post("/v1/auth/staff/login", json=wrong)).status_code)
        assert statuses == [401, 401, 401]  # the third failure, counted from both, locks it
        right = {"username": "clerk", "password": "right-pass-123"}
        locked = await second.post("/v1/auth/staff/login", json=right)
        assert locked.status_code == 429 and locked.json()["code"] == "login_locked"
