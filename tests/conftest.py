"""Fixtures: migrated databases, the provider fakes as real servers, the service stack, logins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.credit.models import Merchant as CreditMerchant  # noqa: F401  (metadata is loaded)
from shared.contracts.identity import Identity, Role
from shared.testing.fakes.alipay import create_alipay_fake
from shared.testing.fakes.keys import generate_rsa_keypair
from shared.testing.fakes.server import ServerThread
from shared.testing.fakes.wechat import create_wechat_fake
from tests.support import Databases, Stack, postgres_url, running_stack

WECHAT_APPID, WECHAT_SECRET = "wx-test-app", "wx-test-secret"
ALIPAY_APPID = "2021000000000001"


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


@pytest.fixture(scope="session")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Providers]:
    """The WeChat and Alipay fakes on loopback, with keys generated for this run."""
    keys = tmp_path_factory.mktemp("keys")
    app_private, app_public = generate_rsa_keypair()
    platform_private, platform_public = generate_rsa_keypair()
    (keys / "app_private.pem").write_text(app_private)
    (keys / "platform_public.pem").write_text(platform_public)
    wechat = create_wechat_fake(WECHAT_APPID, WECHAT_SECRET)
    alipay = create_alipay_fake(ALIPAY_APPID, app_public, platform_private)
    with ServerThread(wechat) as wechat_server, ServerThread(alipay) as alipay_server:
        yield Providers(wechat_url=wechat_server.url, alipay_url=alipay_server.url + "/gateway.do",
                        app_private_key=keys / "app_private.pem", platform_public_key=keys / "platform_public.pem",
                        wechat=wechat, alipay=alipay)


def gateway_overrides(providers: Providers) -> dict[str, object]:
    return {
        "wechat_appid": WECHAT_APPID, "wechat_secret": WECHAT_SECRET, "wechat_api_base": providers.wechat_url,
        "alipay_appid": ALIPAY_APPID, "alipay_gateway_url": providers.alipay_url,
        "alipay_app_private_key_file": providers.app_private_key,
        "alipay_public_key_file": providers.platform_public_key,
    }


@pytest.fixture
async def stack(databases: Databases, providers: Providers, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(databases, tmp_path, overrides={"gateway": gateway_overrides(providers)}) as s:
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
