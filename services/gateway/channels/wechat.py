"""WeChat mini-program login and subscribe messages, through wechatpy, against a configurable base URL."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from services.gateway.channels.base import LoginCodeInvalid, ProviderIdentity, ProviderUnavailable

log = logging.getLogger("gateway.channels.wechat")

# 40029 invalid code, 40163 code already used, 40226 user blocked as high-risk.
_BAD_CODE = {40029, 40163, 40226}
_NO_SUBSCRIPTION = 43101


class _Client(WeChatClient):
    """wechatpy's client with every URL under `api_base` (its token URL is otherwise hard-coded)."""

    def __init__(self, appid: str, secret: str, api_base: str, timeout: float) -> None:
        super().__init__(appid, secret, timeout=timeout)
        self._api_base = api_base.rstrip("/")
        self.API_BASE_URL = self._api_base + "/cgi-bin/"
        self.wxa.API_BASE_URL = self._api_base + "/"

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=self._api_base + "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


class WeChatMiniProgramLogin:
    provider = "wechat"

    def __init__(self, appid: str, secret: str, api_base: str, timeout: float = 5.0) -> None:
        self.client = _Client(appid, secret, api_base, timeout)

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except requests.RequestException as exc:
            raise ProviderUnavailable("WeChat cannot be reached; try again shortly.") from exc

    async def identify(self, code: str) -> ProviderIdentity:
        """code -> openid through `jscode2session`."""
        try:
            session = await self._call(self.client.wxa.code_to_session, code)
        except WeChatClientException as exc:
            if exc.errcode in _BAD_CODE:
                raise LoginCodeInvalid("WeChat did not accept this login code; call wx.login() again.") from exc
            log.warning("WeChat login failed: errcode %s %s", exc.errcode, exc.errmsg)
            raise ProviderUnavailable("WeChat login is not available right now.") from exc
        return ProviderIdentity(provider=self.provider, external_id=session["openid"],
                                unionid=session.get("unionid"))

    async def send_subscribe_message(self, openid: str, template_id: str, data: dict[str, Any],
                                     page: str | None = None) -> bool:
        """Send a subscribe message; False when the user has no subscription left (43101), not an error."""
        try:
            await self._call(self.client.wxa.send_subscribe_message, openid, template_id, data, page=page)
        except WeChatClientException as exc:
            if exc.errcode == _NO_SUBSCRIPTION:
                log.info("subscribe message not sent: the user has no subscription left")
                return False
            raise ProviderUnavailable(f"WeChat refused the message ({exc.errcode}).") from exc
        return True
