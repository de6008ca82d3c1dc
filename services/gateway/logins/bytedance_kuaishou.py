"""Douyin (抖音) and Kuaishou (快手) mini-program logins: a login code for the user's id, like WeChat's.

Neither has an SDK among the project's packages, so these are plain HTTPS calls with httpx:
- Douyin: `POST {base}/api/apps/v2/jscode2session` with JSON `{appid, secret, code}`; the answer is
  `{"err_no": 0, "err_tips": "success", "data": {"openid", "unionid", "session_key", ...}}`.
- Kuaishou: `POST {base}/oauth2/mp/code2session` with the form `app_id, app_secret, js_code`; the
  answer is `{"result": 1, "open_id", "session_key"}` (`result` 1 is success).
The session key stays here: it is never stored or sent on.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import httpx

from services.gateway.errors import LoginCodeInvalid, ProviderCredentialsRejected, ProviderUnavailable
from services.gateway.logins.base import ProviderIdentity
from shared.contracts.common import Channel

log = logging.getLogger("gateway.logins")

# Douyin: 40015 bad appid, 40017 bad secret (our set-up); 40018 bad code, 40019 bad anonymous code.
_DOUYIN_BAD_CREDENTIALS, _DOUYIN_BAD_CODE = {40015, 40017}, {40018, 40019}
# Kuaishou: 100200100 bad parameters (a code that is not one); 100200101 bad app id or secret.
_KUAISHOU_BAD_CODE, _KUAISHOU_BAD_CREDENTIALS = {100200100}, {100200101}


class _HttpLogin:
    """A login over plain HTTPS; neither provider's message API is wired here (no `send_progress`)."""

    provider: ClassVar[str]
    channel: ClassVar[str]
    label_zh: ClassVar[str]
    label_en: ClassVar[str]

    def __init__(self, appid: str, secret: str, api_base: str, timeout: float = 5.0) -> None:
        self.appid, self.secret = appid, secret
        self.client = httpx.AsyncClient(base_url=api_base.rstrip("/"), timeout=timeout)

    async def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self.client.post(path, **kwargs)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("%s unreachable: %s", self.label_en, type(exc).__name__)
            raise ProviderUnavailable(f"{self.label_en} cannot be reached; try again shortly.") from exc
        if not isinstance(answer, dict):
            raise ProviderUnavailable(f"{self.label_en} answered something that is not a login.")
        return answer

    def _refuse(self, code: int | None, message: str, bad_code: set[int], bad_credentials: set[int]) -> None:
        if code in bad_code:
            raise LoginCodeInvalid(f"{self.label_en} did not accept this login code; log in again.")
        if code in bad_credentials:
            log.error("%s rejected this platform's app id/secret: %s %s", self.label_en, code, message)
            raise ProviderCredentialsRejected(f"{self.label_en} rejected this platform's credentials.")
        log.warning("%s login failed: %s %s", self.label_en, code, message)
        raise ProviderUnavailable(f"{self.label_en} login is not available right now.")

    async def aclose(self) -> None:
        await self.client.aclose()


class DouyinMiniProgramLogin(_HttpLogin):
    provider: ClassVar[str] = "douyin"
    channel: ClassVar[str] = Channel.douyin
    label_zh: ClassVar[str] = "抖音"
    label_en: ClassVar[str] = "Douyin"

    async def identify(self, code: str) -> ProviderIdentity:
        answer = await self._post(
            "/api/apps/v2/jscode2session", json={"appid": self.appid, "secret": self.secret, "code": code}
        )
        if answer.get("err_no") != 0:
            self._refuse(answer.get("err_no"), str(answer.get("err_tips")), _DOUYIN_BAD_CODE, _DOUYIN_BAD_CREDENTIALS)
        data = answer.get("data") or {}
        if not data.get("openid"):
            raise ProviderUnavailable("Douyin answered without an openid.")
        return ProviderIdentity(provider=self.provider, external_id=data["openid"], unionid=data.get("unionid") or None)


class KuaishouMiniProgramLogin(_HttpLogin):
    provider: ClassVar[str] = "kuaishou"
    channel: ClassVar[str] = Channel.kuaishou
    label_zh: ClassVar[str] = "快手"
    label_en: ClassVar[str] = "Kuaishou"

    async def identify(self, code: str) -> ProviderIdentity:
        answer = await self._post(
            "/oauth2/mp/code2session", data={"app_id": self.appid, "app_secret": self.secret, "js_code": code}
        )
        if answer.get("result") != 1:
            self._refuse(
                answer.get("result"), str(answer.get("error_msg")), _KUAISHOU_BAD_CODE, _KUAISHOU_BAD_CREDENTIALS
            )
        if not answer.get("open_id"):
            raise ProviderUnavailable("Kuaishou answered without an open_id.")
        return ProviderIdentity(provider=self.provider, external_id=answer["open_id"])
