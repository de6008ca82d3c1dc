"""The one way both the gateway's Alipay login and compensation's Alipay payouts build the SDK's client.

python-alipay-sdk has no base-URL argument: the client's private `_gateway` is set here, in this one place,
and the SDK's version is pinned in pyproject.toml. Every test that logs in or pays with Alipay goes through
this client to the local fake, so a release that renamed the attribute would fail them rather than send a
request to the real Alipay."""

from __future__ import annotations

from alipay import AliPay
from alipay.utils import AliPayConfig


def alipay_client(
    *, appid: str, gateway_url: str, app_private_key_pem: str, alipay_public_key_pem: str, timeout: float
) -> AliPay:
    """A client signing with our RSA2 key and verifying answers with Alipay's key, at `gateway_url`.

    `app_notify_url` stays unset: the SDK adds it only to `alipay.trade.*` methods, so a caller that wants
    notifications passes `notify_url` with each call."""
    client = AliPay(
        appid=appid,
        app_notify_url=None,
        app_private_key_string=app_private_key_pem,
        alipay_public_key_string=alipay_public_key_pem,
        sign_type="RSA2",
        config=AliPayConfig(timeout=timeout),
    )
    client._gateway = gateway_url
    return client
