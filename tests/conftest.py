"""Fixtures: migrated databases, the provider fakes as real servers, the service stack, logins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.contracts.identity import Identity, Role
from shared.testing.fakes.alipay import create_alipay_fake
from shared.testing.fakes.bytedance_kuaishou import create_mini_fakes
from shared.testing.fakes.keys import generate_rsa_keypair
from shared.testing.fakes.server import ServerThread
from shared.testing.fakes.wechat import create_wechat_fake
from shared.testing.fakes.wechatpay import create_wechatpay_fake
from tests.support import Databases, Stack, postgres_url, running_stack

WECHAT_APPID, WECHAT_SECRET = "wx-test-app", "wx-test-secret"
DOUYIN_APPID, DOUYIN_SECRET = "tt-test-app", "douyin-test-secret"
KUAISHOU_APPID, KUAISHOU_SECRET = "ks-test-app", "kuaishou-test-secret"
ALIPAY_APPID = "2021000000000001"
MCHID, MERCHANT_SERIAL, PUBLIC_KEY_ID = "1900000109", "TEST-MERCHANT-SERIAL-0001", "PUB_KEY_ID_TEST_0001"
APIV3_KEY = "test-apiv3-key-0123456789abcdefg"[:32]


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Databases:
    dbs = Databases(root=tmp_path_factory.mktemp("db"), pg_url=postgres_url())
    dbs.migrate_all()
    return dbs


@dataclass
class Providers:
    wechat_url: str
    alipay_url: str
    app_private_key: Path
    platform_public_key: Path
    wechat: object
    alipay: object
    wechatpay_url: str
    wechatpay: object
    wechatpay_merchant_private_key: Path
    wechatpay_platform_public_key: Path
    minis_url: str = ""


@pytest.fixture(scope="session")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Providers]:
    """The WeChat and Alipay fakes on loopback, with keys generated for this run."""
    keys = tmp_path_factory.mktemp("keys")
    app_private, app_public = generate_rsa_keypair()
    platform_private, platform_public = generate_rsa_keypair()
    (keys / "app_private.pem").write_text(app_private)
    (keys / "platform_public.pem").write_text(platform_public)
    merchant_private, merchant_public = generate_rsa_keypair()
    wxpay_platform_private, wxpay_platform_public = generate_rsa_keypair()
    (keys / "wechatpay_merchant_private.pem").write_text(merchant_private)
    (keys / "wechatpay_platform_public.pem").write_text(wxpay_platform_public)
    wechat = create_wechat_fake(WECHAT_APPID, WECHAT_SECRET)
    alipay = create_alipay_fake(ALIPAY_APPID, app_public, platform_private)
    wechatpay = create_wechatpay_fake(
        MCHID, WECHAT_APPID, merchant_public, MERCHANT_SERIAL, wxpay_platform_private, PUBLIC_KEY_ID, APIV3_KEY
    )
    minis = create_mini_fakes((DOUYIN_APPID, DOUYIN_SECRET), (KUAISHOU_APPID, KUAISHOU_SECRET))
    with (
        ServerThread(wechat) as wechat_server,
        ServerThread(alipay) as alipay_server,
        ServerThread(wechatpay) as wechatpay_server,
        ServerThread(minis) as minis_server,
    ):
        yield Providers(
            minis_url=minis_server.url,
            wechat_url=wechat_server.url,
            alipay_url=alipay_server.url + "/gateway.do",
            app_private_key=keys / "app_private.pem",
            platform_public_key=keys / "platform_public.pem",
            wechat=wechat,
            alipay=alipay,
            wechatpay_url=wechatpay_server.url,
            wechatpay=wechatpay,
            wechatpay_merchant_private_key=keys / "wechatpay_merchant_private.pem",
            wechatpay_platform_public_key=keys / "wechatpay_platform_public.pem",
        )


def gateway_overrides(providers: Providers) -> dict[str, object]:
    return {
        "wechat_appid": WECHAT_APPID,
        "wechat_secret": WECHAT_SECRET,
        "wechat_api_base": providers.wechat_url,
        "alipay_appid": ALIPAY_APPID,
        "alipay_gateway_url": providers.alipay_url,
        "alipay_app_private_key_file": providers.app_private_key,
        "alipay_public_key_file": providers.platform_public_key,
        "douyin_appid": DOUYIN_APPID,
        "douyin_secret": DOUYIN_SECRET,
        "douyin_api_base": f"{providers.minis_url}/douyin",
        "kuaishou_appid": KUAISHOU_APPID,
        "kuaishou_secret": KUAISHOU_SECRET,
        "kuaishou_api_base": f"{providers.minis_url}/kuaishou",
    }


def compensation_overrides(providers: Providers, notify_base_url: str = "http://127.0.0.1:9") -> dict[str, object]:
    """Payouts through both fakes; notifications go to `notify_base_url` (nowhere, unless a test serves it)."""
    return {
        "wechatpay_mchid": MCHID,
        "wechatpay_appid": WECHAT_APPID,
        "wechatpay_gateway_url": providers.wechatpay_url,
        "wechatpay_private_key_file": providers.wechatpay_merchant_private_key,
        "wechatpay_cert_serial_no": MERCHANT_SERIAL,
        "wechatpay_apiv3_key": APIV3_KEY,
        "wechatpay_public_key_file": providers.wechatpay_platform_public_key,
        "wechatpay_public_key_id": PUBLIC_KEY_ID,
        "alipay_appid": ALIPAY_APPID,
        "alipay_gateway_url": providers.alipay_url,
        "alipay_app_private_key_file": providers.app_private_key,
        "alipay_public_key_file": providers.platform_public_key,
        "notify_base_url": notify_base_url,
        "provider_timeout_seconds": 2.0,
        "payout_poll_seconds": 5.0,
    }


@pytest.fixture
async def stack(databases: Databases, providers: Providers, tmp_path: Path) -> AsyncIterator[Stack]:
    overrides = {"gateway": gateway_overrides(providers), "compensation": compensation_overrides(providers)}
    async with running_stack(databases, tmp_path, overrides=overrides) as s:
        yield s


# --- people ------------------------------------------------------------------------------------------
SANYA = "460200"
HAIKOU = "460100"


def official(region: str = SANYA, subject: str = "usr_OFFICIAL") -> Identity:
    return Identity(subject=f"{subject}_{region}", role=Role.official, region_code=region, display_name="受理员")


def merchant_staff(merchant_id: str, subject: str = "usr_MERCHANTSTAFF") -> Identity:
    return Identity(subject=subject, role=Role.merchant_staff, merchant_id=merchant_id, display_name="店长")


def consumer(subject: str = "usr_ALICE") -> Identity:
    return Identity(subject=subject, role=Role.consumer, channel="wechat_miniprogram", display_name=None)


ADMIN = Identity(subject="usr_ADMIN", role=Role.admin, display_name="admin")
