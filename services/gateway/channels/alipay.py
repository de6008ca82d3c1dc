"""Alipay mini-program login through python-alipay-sdk, against a configurable gateway URL."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.error import URLError

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig

from services.gateway.channels.base import (
    LoginCodeInvalid,
    ProviderIdentity,
    ProviderSignatureInvalid,
    ProviderUnavailable,
)

log = logging.getLogger("gateway.channels.alipay")


def _code_of(exc: AliPayException) -> str | None:
    # The SDK keeps the code in a name-mangled attribute and offers no accessor.
    return getattr(exc, "_AliPayException__code", None)


class AlipayMiniProgramLogin:
    provider = "alipay"

    def __init__(self, appid: str, gateway_url: str, app_private_key_pem: str, alipay_public_key_pem: str,
                 timeout: float = 5.0) -> None:
        self.client = AliPay(appid=appid, app_notify_url=None, app_private_key_string=app_private_key_pem,
                             alipay_public_key_string=alipay_public_key_pem, sign_type="RSA2",
                             config=AliPayConfig(timeout=timeout))
        self.client._gateway = gateway_url  # the SDK has no base-URL argument

    async def _server_api(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(self.client.server_api, method, **kwargs)
        except AliPayValidationError as exc:
            log.error("Alipay answer failed signature verification")
            raise ProviderSignatureInvalid("Alipay's answer did not carry a valid signature.") from exc
        except (URLError, TimeoutError, ConnectionError) as exc:  # HTTPError is a URLError
            raise ProviderUnavailable("Alipay cannot be reached; try again shortly.") from exc

    async def identify(self, code: str) -> ProviderIdentity:
        """auth_code -> user id through `alipay.system.oauth.token`."""
        try:
            result = await self._server_api("alipay.system.oauth.token", grant_type="authorization_code", code=code)
        except AliPayException as exc:
            if _code_of(exc) == "40002":
                raise LoginCodeInvalid("Alipay did not accept this auth code; call my.getAuthCode() again.") from exc
            log.warning("Alipay login failed: %s", exc)
            raise ProviderUnavailable("Alipay login is not available right now.") from exc
        user_id = result.get("user_id") or result.get("open_id")
        if not user_id:
            raise ProviderUnavailable("Alipay answered without a user id.")
        return ProviderIdentity(provider=self.provider, external_id=user_id)
