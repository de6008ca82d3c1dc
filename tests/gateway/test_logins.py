"""The login adapters through the real SDKs (wechatpy, python-alipay-sdk) against the fakes on loopback ports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI

from services.gateway.errors import (
    LoginCodeInvalid,
    ProviderCredentialsRejected,
    ProviderSignatureInvalid,
    ProviderUnavailable,
)
from services.gateway.logins import registry as logins
from services.gateway.logins.alipay import AlipayMiniProgramLogin
from services.gateway.logins.base import LoginAdapter, MessageRefused, ProgressSender
from services.gateway.logins.wechat import WeChatMiniProgramLogin
from shared.testing.fakes.alipay import create_alipay_fake
from shared.testing.fakes.keys import ensure_keypair, generate_rsa_keypair
from shared.testing.fakes.server import ServerThread, free_port
from shared.testing.fakes.wechat import create_wechat_fake

WECHAT_APPID, WECHAT_SECRET = "wx-channels-test", "channels-test-secret"
ALIPAY_APPID = "2021000000000042"
SHORT = 0.5  # the adapters' timeout in the tests that make the fakes hang
# A hanging fake holds its answer 30 s (shared/testing/fakes/faults.py): a call back well before that was cut off
# by the adapter's timeout, however loaded the machine (a bound near SHORT failed under load, not for want of one).
CUT_OFF = 15


@dataclass(frozen=True)
class Keys:
    app_private: str
    app_public: str
    platform_private: str
    platform_public: str
    stranger_private: str
    stranger_public: str


@dataclass(frozen=True)
class Fake:
    app: FastAPI
    url: str  # the server's root; Alipay's gateway is under /gateway.do

    async def misbehave(self, mode: str, count: int = 1) -> None:
        """Set a fault through the control endpoint, as a test in another process would."""
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{self.url}/_fake/faults", json={"mode": mode, "count": count})
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(*generate_rsa_keypair(), *generate_rsa_keypair(), *generate_rsa_keypair())


@pytest.fixture(scope="module")
def fakes(keys: Keys) -> Iterator[tuple[Fake, Fake]]:
    wechat = create_wechat_fake(WECHAT_APPID, WECHAT_SECRET)
    alipay = create_alipay_fake(ALIPAY_APPID, keys.app_public, keys.platform_private)
    with ServerThread(wechat) as wechat_server, ServerThread(alipay) as alipay_server:
        yield Fake(wechat, wechat_server.url), Fake(alipay, alipay_server.url)


@pytest.fixture
def wechat_fake(fakes: tuple[Fake, Fake]) -> Iterator[Fake]:
    fake = fakes[0]
    yield fake
    fake.app.state.faults.set("none", 0)
    fake.app.state.exhausted_subscriptions.clear()


@pytest.fixture
def alipay_fake(fakes: tuple[Fake, Fake]) -> Iterator[Fake]:
    fake = fakes[1]
    yield fake
    fake.app.state.faults.set("none", 0)


def wechat_login(fake: Fake, timeout: float = 5.0, secret: str = WECHAT_SECRET) -> WeChatMiniProgramLogin:
    return WeChatMiniProgramLogin(WECHAT_APPID, secret, fake.url, timeout=timeout)


def alipay_login(fake: Fake, keys: Keys, timeout: float = 5.0, **changes: str) -> AlipayMiniProgramLogin:
    fields: dict[str, Any] = {
        "appid": ALIPAY_APPID,
        "gateway_url": fake.url + "/gateway.do",
        "app_private_key_pem": keys.app_private,
        "alipay_public_key_pem": keys.platform_public,
        "timeout": timeout,
    }
    return AlipayMiniProgramLogin(**{**fields, **changes})


# --- WeChat ------------------------------------------------------------------------------------------------------


async def test_wechat_demo_code_gives_the_same_identity_every_time(wechat_fake: Fake) -> None:
    adapter: LoginAdapter = wechat_login(wechat_fake)
    alice, again, bob = [await adapter.identify(code) for code in ("demo-alice", "demo-alice", "demo-bob")]
    assert alice == again != bob
    assert alice.provider == "wechat" and alice.external_id.startswith("o") and len(alice.external_id) == 28
    assert alice.unionid and alice.unionid != alice.external_id
    # Another client (its own access token) sees the same user.
    assert await wechat_login(wechat_fake).identify("demo-alice") == alice


async def test_wechat_rejects_a_code_it_did_not_issue(wechat_fake: Fake) -> None:
    with pytest.raises(LoginCodeInvalid) as caught:
        await wechat_login(wechat_fake).identify("0a3Xyz-not-a-demo-code")
    assert (caught.value.status, caught.value.code) == (401, "login_code_invalid")


async def test_wechat_wrong_secret_is_our_setup_fault_not_the_users(wechat_fake: Fake) -> None:
    with pytest.raises(ProviderCredentialsRejected) as caught:
        await wechat_login(wechat_fake, secret="not-the-secret").identify("demo-alice")
    assert (caught.value.status, caught.value.code) == (502, "provider_credentials_rejected")


async def test_wechat_answering_500_is_provider_unavailable_and_passes(wechat_fake: Fake) -> None:
    adapter = wechat_login(wechat_fake)
    alice = await adapter.identify("demo-alice")  # holds an access token now: the 500 hits jscode2session
    await wechat_fake.misbehave("error500", count=1)
    with pytest.raises(ProviderUnavailable) as caught:
        await adapter.identify("demo-alice")
    assert (caught.value.status, caught.value.code) == (503, "provider_unavailable")
    assert await adapter.identify("demo-alice") == alice


@pytest.mark.parametrize("warm", [False, True], ids=["token-request-hangs", "jscode2session-hangs"])
async def test_wechat_hanging_is_provider_unavailable_within_the_timeout(wechat_fake: Fake, warm: bool) -> None:
    adapter = wechat_login(wechat_fake, timeout=SHORT)
    if warm:
        await adapter.identify("demo-alice")
    wechat_fake.app.state.faults.set("timeout", 1)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        await adapter.identify("demo-alice")
    # wechatpy sends the token request without a timeout; the adapter's session adds one.
    assert time.monotonic() - started < CUT_OFF


async def test_wechat_unreachable_is_provider_unavailable() -> None:
    nowhere = Fake(FastAPI(), f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailable):
        await wechat_login(nowhere, timeout=SHORT).identify("demo-alice")


async def test_subscribe_message_is_delivered_or_reported_as_not_subscribed(wechat_fake: Fake) -> None:
    adapter = wechat_login(wechat_fake)
    openid = (await adapter.identify("demo-alice")).external_id
    data = {"thing1": {"value": "投诉已受理"}, "character_string2": {"value": "CMP-0001"}}
    await adapter.send_subscribe_message(openid, "tmpl-accepted", data, page="pages/complaint/detail?id=1")
    assert wechat_fake.app.state.sent_messages[-1] == {
        "touser": openid,
        "template_id": "tmpl-accepted",
        "data": data,
        "page": "pages/complaint/detail?id=1",
    }

    sent = len(wechat_fake.app.state.sent_messages)
    wechat_fake.app.state.exhausted_subscriptions.add(openid)
    with pytest.raises(MessageRefused, match="43101"):  # the tourist's, not a fault: never retried
        await adapter.send_subscribe_message(openid, "tmpl-accepted", data)
    assert len(wechat_fake.app.state.sent_messages) == sent
    await wechat_fake.misbehave("error500")
    with pytest.raises(ProviderUnavailable):  # WeChat's: worth another try later
        await adapter.send_subscribe_message("o-someone-else", "tmpl-accepted", data)
    assert len(wechat_fake.app.state.sent_messages) == sent


async def test_alipay_subscribe_message_is_delivered_refused_or_unavailable(alipay_fake: Fake, keys: Keys) -> None:
    adapter = alipay_login(alipay_fake, keys)
    user_id = (await adapter.identify("demo-alice")).external_id
    data = {"keyword1": {"value": "cmp_01"}, "keyword2": {"value": "已受理"}}
    await adapter.send_subscribe_message(user_id, "tmpl-progress", data, page="pages/complaint/detail?id=cmp_01")
    assert alipay_fake.app.state.sent_messages[-1] == {
        "to_user_id": user_id,
        "user_template_id": "tmpl-progress",
        "page": "pages/complaint/detail?id=cmp_01",
        "data": data,
    }
    sent = len(alipay_fake.app.state.sent_messages)
    with pytest.raises(MessageRefused, match="USER_KEYWORD_LENGTH_ERROR"):
        await adapter.send_subscribe_message(user_id, "tmpl-progress", {"keyword1": {"value": "长" * 51}}, page="p")
    alipay_fake.app.state.unsubscribed_users.add(user_id)
    try:
        with pytest.raises(MessageRefused, match="USER_NOT_SUBSCRIBED"):
            await adapter.send_subscribe_message(user_id, "tmpl-progress", data, page="p")
    finally:
        alipay_fake.app.state.unsubscribed_users.discard(user_id)
    await alipay_fake.misbehave("error500")
    with pytest.raises(ProviderUnavailable):
        await adapter.send_subscribe_message(user_id, "tmpl-progress", data, page="p")
    forged = alipay_login(alipay_fake, keys, app_private_key_pem=keys.stranger_private)
    with pytest.raises(ProviderCredentialsRejected):  # our setup: retried, never blamed on the tourist
        await forged.send_subscribe_message(user_id, "tmpl-progress", data, page="p")
    assert len(alipay_fake.app.state.sent_messages) == sent


async def test_wechat_fake_checks_tokens_and_credentials_and_gives_phone_numbers(wechat_fake: Fake) -> None:
    async with httpx.AsyncClient(base_url=wechat_fake.url) as client:
        wrong = await client.get(
            "/sns/jscode2session",
            params={
                "appid": WECHAT_APPID,
                "secret": "nope",
                "js_code": "demo-alice",
                "grant_type": "authorization_code",
            },
        )
        assert wrong.json()["errcode"] == 40125
        forged = await client.post(
            "/cgi-bin/message/subscribe/send",
            params={"access_token": "made-up"},
            json={"touser": "o1", "template_id": "t"},
        )
        assert forged.json()["errcode"] == 40001
        bad_mode = await client.post("/_fake/faults", json={"mode": "explode", "count": 1})
        assert bad_mode.status_code == 422

    adapter = wechat_login(wechat_fake)
    wxa = adapter.client.wxa.API_BASE_URL

    def phone(code: str) -> dict[str, Any]:
        return adapter.client.post("wxa/business/getuserphonenumber", api_base_url=wxa, data={"code": code})

    answer = await asyncio.to_thread(phone, "demo-phone-13812341234")
    assert answer["phone_info"] == {"phoneNumber": "13812341234", "purePhoneNumber": "13812341234", "countryCode": "86"}
    with pytest.raises(Exception, match="40029"):
        await asyncio.to_thread(phone, "demo-phone-123")


# --- Alipay ------------------------------------------------------------------------------------------------------


async def test_alipay_demo_code_gives_the_same_user_id_every_time(alipay_fake: Fake, keys: Keys) -> None:
    adapter: LoginAdapter = alipay_login(alipay_fake, keys)
    carol, again, dave = [await adapter.identify(code) for code in ("demo-carol", "demo-carol", "demo-dave")]
    assert carol == again != dave
    assert carol.provider == "alipay" and carol.unionid is None
    assert carol.external_id.startswith("2088") and len(carol.external_id) == 16 and carol.external_id.isdigit()


async def test_alipay_rejects_a_code_it_did_not_issue(alipay_fake: Fake, keys: Keys) -> None:
    with pytest.raises(LoginCodeInvalid) as caught:
        await alipay_login(alipay_fake, keys).identify("4b203fe6c11548bcabd8da5bb087a83b")
    assert (caught.value.status, caught.value.code) == (401, "login_code_invalid")


async def test_alipay_answer_signed_with_another_key_is_not_trusted(alipay_fake: Fake, keys: Keys) -> None:
    adapter = alipay_login(alipay_fake, keys, alipay_public_key_pem=keys.stranger_public)
    with pytest.raises(ProviderSignatureInvalid) as caught:
        await adapter.identify("demo-carol")
    assert (caught.value.status, caught.value.code) == (502, "provider_signature_invalid")


@pytest.mark.parametrize("change", ["app_private_key_pem", "appid"])
async def test_alipay_refusing_our_signature_or_appid_is_a_setup_fault(
    alipay_fake: Fake, keys: Keys, change: str
) -> None:
    # Alipay answers both with code 40002, like a bad auth code; sending the user back to log in would loop.
    value = keys.stranger_private if change == "app_private_key_pem" else "2021000000000999"
    with pytest.raises(ProviderCredentialsRejected) as caught:
        await alipay_login(alipay_fake, keys, **{change: value}).identify("demo-carol")
    assert (caught.value.status, caught.value.code) == (502, "provider_credentials_rejected")


async def test_alipay_answering_500_is_provider_unavailable_and_passes(alipay_fake: Fake, keys: Keys) -> None:
    adapter = alipay_login(alipay_fake, keys)
    await alipay_fake.misbehave("error500", count=1)
    with pytest.raises(ProviderUnavailable) as caught:
        await adapter.identify("demo-carol")
    assert (caught.value.status, caught.value.code) == (503, "provider_unavailable")
    assert (await adapter.identify("demo-carol")).external_id.startswith("2088")


async def test_alipay_hanging_is_provider_unavailable_within_the_timeout(alipay_fake: Fake, keys: Keys) -> None:
    alipay_fake.app.state.faults.set("timeout", 1)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        await alipay_login(alipay_fake, keys, timeout=SHORT).identify("demo-carol")
    assert time.monotonic() - started < CUT_OFF


async def test_alipay_unreachable_is_provider_unavailable(keys: Keys) -> None:
    nowhere = Fake(FastAPI(), f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailable):
        await alipay_login(nowhere, keys, timeout=SHORT).identify("demo-carol")


# --- keys and servers --------------------------------------------------------------------------------------------


def test_generated_keys_are_a_matching_pkcs8_and_spki_pair() -> None:
    private_pem, public_pem = generate_rsa_keypair()
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(private, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey)
    assert private.key_size == 2048
    public.verify(private.sign(b"x", padding.PKCS1v15(), hashes.SHA256()), b"x", padding.PKCS1v15(), hashes.SHA256())


def test_ensure_keypair_writes_once_and_reuses_existing_files(tmp_path: Path) -> None:
    keys_dir = tmp_path / "var" / "keys"
    private, public = ensure_keypair(keys_dir, "alipay_app")
    assert (private.name, public.name) == ("alipay_app_private.pem", "alipay_app_public.pem")
    first = (private.read_text(), public.read_text())
    assert ensure_keypair(keys_dir, "alipay_app") == (private, public)
    assert (private.read_text(), public.read_text()) == first
    assert ensure_keypair(keys_dir, "alipay_platform")[0].read_text() != first[0]

    # Files already there (say, keys registered with the provider) are never replaced.
    mine_private, mine_public = generate_rsa_keypair()
    (keys_dir / "mine_private.pem").write_text(mine_private)
    (keys_dir / "mine_public.pem").write_text(mine_public)
    got_private, got_public = ensure_keypair(keys_dir, "mine")
    assert (got_private.read_text(), got_public.read_text()) == (mine_private, mine_public)


def test_server_threads_run_side_by_side_and_release_their_ports() -> None:
    apps = [create_wechat_fake(WECHAT_APPID, WECHAT_SECRET) for _ in range(2)]
    params = {"grant_type": "client_credential", "appid": WECHAT_APPID, "secret": WECHAT_SECRET}
    with ServerThread(apps[0]) as one, ServerThread(apps[1]) as two:
        assert one.url != two.url
        for server in (one, two):
            assert httpx.get(f"{server.url}/cgi-bin/token", params=params).json()["expires_in"] == 7200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{one.url}/cgi-bin/token", params=params)


# --- what each login module says of itself, and what follows from it --------------------------------------
def test_each_login_names_its_channel_and_label_and_the_gateway_derives_the_rest_from_them() -> None:
    assert {name: (kind.channel, kind.label_zh, kind.label_en) for name, kind in logins.KINDS.items()} == {
        "wechat": ("wechat_miniprogram", "微信", "WeChat"),
        "alipay": ("alipay_miniprogram", "支付宝", "Alipay"),
        "douyin": ("douyin", "抖音", "Douyin"),
        "kuaishou": ("kuaishou", "快手", "Kuaishou"),
    }
    for name in logins.KINDS:
        assert logins.login_of(logins.channel_of(name)) == name  # the account's channel, and back
    assert logins.login_of("hotline_12345") is None and logins.label_zh("unknown") == "unknown"
    # Only WeChat and Alipay have a message API wired here: the others' tourists are not messaged.
    assert [name for name, kind in logins.KINDS.items() if issubclass(kind, ProgressSender)] == ["wechat", "alipay"]


# --- Douyin and Kuaishou: the same adapter shape, against their fakes on loopback -------------------------
async def test_douyin_and_kuaishou_logins_through_the_gateway(stack: Any, providers: Any) -> None:
    for provider, channel in (("douyin", "douyin"), ("kuaishou", "kuaishou")):
        first = await stack.gateway.post(f"/v1/auth/{provider}/login", json={"code": "demo-xiaoming"})
        assert first.status_code == 200, first.text
        assert first.json()["account"]["channel"] == channel
        again = await stack.gateway.post(f"/v1/auth/{provider}/login", json={"code": "demo-xiaoming"})
        assert again.json()["account"]["id"] == first.json()["account"]["id"]  # the same user every time
        bad = await stack.gateway.post(f"/v1/auth/{provider}/login", json={"code": "forged-code"})
        assert bad.status_code == 401 and bad.json()["code"] == "login_code_invalid"
    douyin_user = (await stack.gateway.post("/v1/auth/douyin/login", json={"code": "demo-xiaoming"})).json()
    kuaishou_user = (await stack.gateway.post("/v1/auth/kuaishou/login", json={"code": "demo-xiaoming"})).json()
    assert douyin_user["account"]["id"] != kuaishou_user["account"]["id"]


async def test_douyin_and_kuaishou_refusing_our_secret_is_a_setup_fault(providers: Any) -> None:
    from services.gateway.logins.bytedance_kuaishou import DouyinMiniProgramLogin, KuaishouMiniProgramLogin
    from tests.conftest import DOUYIN_APPID, KUAISHOU_APPID

    for login in (
        DouyinMiniProgramLogin(DOUYIN_APPID, "wrong", f"{providers.minis_url}/douyin"),
        KuaishouMiniProgramLogin(KUAISHOU_APPID, "wrong", f"{providers.minis_url}/kuaishou"),
    ):
        with pytest.raises(ProviderCredentialsRejected):
            await login.identify("demo-alice")
        await login.aclose()
    unreachable = DouyinMiniProgramLogin(DOUYIN_APPID, "x", f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(ProviderUnavailable):
        await unreachable.identify("demo-alice")
    await unreachable.aclose()
