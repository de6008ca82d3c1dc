"""WeChat mini-program login and subscribe messages, through wechatpy, against a configurable base URL."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from services.gateway.errors import LoginCodeInvalid, ProviderCredentialsRejected, ProviderUnavailable
from services.gateway.logins.base import DEFAULT_REMARK, MessageRefused, ProgressMessage, ProviderIdentity, clip
from services.gateway.provider_tokens import LocalTokens, TokenStorage
from shared.clock import shanghai_text
from shared.contracts.common import Channel
from shared.contracts.complaints import STATE_LABELS_ZH

if TYPE_CHECKING:
    from services.gateway.config import GatewaySettings

log = logging.getLogger("gateway.logins.wechat")

# 40029 invalid code, 40163 code already used, 40226 user blocked as high-risk.
_BAD_CODE = {40029, 40163, 40226}
# 40013 invalid appid, 40125 invalid secret, 40164 caller IP not on the allow-list: our configuration, not the user.
_BAD_CREDENTIALS = {40013, 40125, 40164}
# The access token was rejected: 40001 not (or no longer) valid, 40014 malformed, 42001 expired.
_TOKEN_REJECTED = {40001, 40014, 42001}
# Subscribe messages WeChat will not deliver, however often asked: 43101 the user has no subscription left (or
# refused it), 40003 an openid that is not this app's user, 40037 a template id it does not know, 47003 data
# that breaks the template's limits, 41030 a page that is not in the published mini-program.
_NOT_DELIVERABLE = {
    43101: "the tourist has no subscription left",
    40003: "not a user of this mini-program",
    40037: "unknown template id",
    47003: "data the template refuses",
    41030: "unknown page",
}
# A subscribe message's fields are limited by their kind: thing 20 characters, phrase 5, character_string 32.
THING_MAX, PHRASE_MAX, STRING_MAX = 20, 5, 32


def state_phrase(state: str) -> str:
    return clip(STATE_LABELS_ZH.get(state, "有新进展"), PHRASE_MAX)


def progress_data(message: ProgressMessage) -> dict[str, dict[str, str]]:
    """The subscribe message's fields (template GATEWAY_WECHAT_PROGRESS_TEMPLATE_ID), each within WeChat's limit
    for its kind: the case number, the state in Chinese, when it changed (Asia/Shanghai), the note."""
    return {
        "character_string1": {"value": message.number[:STRING_MAX]},
        "phrase2": {"value": state_phrase(message.state)},
        "time3": {"value": shanghai_text(message.changed_at)},
        "thing4": {"value": clip(message.note or DEFAULT_REMARK, THING_MAX)},
    }


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout: wechatpy sends its access-token request without one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


class _Client(WeChatClient):  # type: ignore[misc]  # wechatpy ships no types
    """wechatpy's client with every URL under `api_base`, its access token in `storage` (shared by the gateway's
    replicas), fetched from the stable-token endpoint: in its normal mode that hands every caller the same token
    while it is valid, so a fetch never ends a token another replica holds."""

    def __init__(self, appid: str, secret: str, api_base: str, timeout: float, storage: TokenStorage) -> None:
        # auto_retry off: a rejected token is handled by `with_token`, which knows which token was rejected.
        super().__init__(appid, secret, timeout=timeout, session=storage, auto_retry=False)
        self._http = _TimeoutSession(timeout)
        self._api_base = api_base.rstrip("/")
        self.API_BASE_URL = self._api_base + "/cgi-bin/"
        self.wxa.API_BASE_URL = self._api_base + "/"
        self._fetching = threading.Lock()  # one fetch at a time in this replica; the others wait and share it
        self.token_storage = storage

    def fetch_access_token(self) -> dict[str, Any]:
        """Called by wechatpy when it has no valid token: the shared one if another thread or replica has one,
        else a fetch. The expiry is the storage's (wechatpy's own `expires_at` stays unset)."""
        with self._fetching:
            shared = self.token_storage.reread(self.access_token_key)
            if shared is not None:
                return {"access_token": shared.value, "expires_in": int(shared.seconds_left())}
            return self._fetch_stable_token(force_refresh=False)

    def refresh_access_token(self, rejected: str | None) -> None:
        """WeChat rejected `rejected`: take the shared token if it is another (a replica refreshed it), else fetch.
        Should the stable-token endpoint hand back the very token WeChat rejects, force a new one."""
        with self._fetching:
            shared = self.token_storage.reread(self.access_token_key)
            if shared is not None and shared.value != rejected:
                return
            fetched = self._fetch_stable_token(force_refresh=False)
            if fetched["access_token"] == rejected:
                log.warning("WeChat's stable token is the one it rejects: forcing a new one")
                self._fetch_stable_token(force_refresh=True)

    def _fetch_stable_token(self, force_refresh: bool) -> dict[str, Any]:
        log.info("fetching a WeChat access token (force_refresh=%s)", force_refresh)
        response = self._http.post(
            self._api_base + "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": force_refresh,
            },
        )
        try:
            response.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(None, None, client=self, request=exc.request, response=exc.response) from exc
        result = response.json()
        if result.get("errcode"):
            raise WeChatClientException(
                result["errcode"], result.get("errmsg"), client=self, request=response.request, response=response
            )
        self.token_storage.set(self.access_token_key, result["access_token"], int(result.get("expires_in", 7200)))
        return dict(result)

    def with_token(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call `fn` (a blocking SDK call); when WeChat rejects the access token, refresh it once and call again."""
        token = self.access_token
        try:
            return fn(*args, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in _TOKEN_REJECTED:
                raise
            log.info("WeChat rejected the access token (errcode %s): refreshing it", exc.errcode)
        self.refresh_access_token(rejected=token)
        return fn(*args, **kwargs)


class WeChatMiniProgramLogin:
    """Login (`jscode2session`) and subscribe messages for one WeChat mini-program."""

    provider: ClassVar[str] = "wechat"
    channel: ClassVar[str] = Channel.wechat_miniprogram
    label_zh: ClassVar[str] = "微信"
    label_en: ClassVar[str] = "WeChat"

    def __init__(
        self, appid: str, secret: str, api_base: str, timeout: float = 5.0, tokens: TokenStorage | None = None
    ) -> None:
        """`tokens`: where the access token is kept (the gateway passes its shared store; on its own, in memory)."""
        self.client = _Client(appid, secret, api_base, timeout, tokens or TokenStorage(LocalTokens()))

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # The SDK is blocking (requests): keep it off the event loop.
        try:
            return await asyncio.to_thread(self.client.with_token, fn, *args, **kwargs)
        except requests.RequestException as exc:  # timeouts, refused connections, non-JSON token answers
            log.warning("WeChat unreachable: %s", type(exc).__name__)
            raise ProviderUnavailable("WeChat cannot be reached; try again shortly.") from exc
        except WeChatClientException as exc:
            if exc.errcode in _BAD_CREDENTIALS:
                log.error("WeChat rejected this service's appid/secret: errcode %s %s", exc.errcode, exc.errmsg)
                raise ProviderCredentialsRejected("WeChat rejected this platform's credentials.") from exc
            raise

    async def identify(self, code: str) -> ProviderIdentity:
        """code -> openid (and unionid, when the app is in an Open Platform account) through `jscode2session`."""
        try:
            session = await self._call(self.client.wxa.code_to_session, code)
        except WeChatClientException as exc:
            if exc.errcode in _BAD_CODE:
                raise LoginCodeInvalid("WeChat did not accept this login code; call wx.login() again.") from exc
            # errcode None is an HTTP error status (wechatpy wraps raise_for_status); -1 is "system busy".
            log.warning("WeChat login failed: errcode %s %s", exc.errcode, exc.errmsg)
            raise ProviderUnavailable("WeChat login is not available right now.") from exc
        if not isinstance(session, dict) or not session.get("openid"):
            raise ProviderUnavailable("WeChat answered without an openid.")
        return ProviderIdentity(
            provider=self.provider, external_id=session["openid"], unionid=session.get("unionid") or None
        )

    async def send_progress(
        self, settings: GatewaySettings, recipient: str, message: ProgressMessage, page: str
    ) -> None:
        """The complaint's progress as a subscribe message (GATEWAY_WECHAT_PROGRESS_TEMPLATE_ID) to the openid."""
        await self.send_subscribe_message(
            recipient, settings.wechat_progress_template_id, progress_data(message), page=page
        )

    async def send_subscribe_message(
        self, openid: str, template_id: str, data: dict[str, Any], page: str | None = None
    ) -> None:
        """Send a subscribe message (`cgi-bin/message/subscribe/send`). `MessageRefused` when WeChat will not
        deliver it to this user (43101: no subscription left); `ProviderUnavailable` when it may later."""
        try:
            await self._call(self.client.wxa.send_subscribe_message, openid, template_id, data, page=page)
        except WeChatClientException as exc:
            reason = _NOT_DELIVERABLE.get(exc.errcode)
            if reason is not None:
                log.info("subscribe message %s not delivered: errcode %s %s", template_id, exc.errcode, exc.errmsg)
                raise MessageRefused(f"{exc.errcode}: {reason}") from exc
            # errcode None is an HTTP error status; -1 "system busy", 45009 the daily quota: try again later.
            log.warning("WeChat did not take a subscribe message: errcode %s %s", exc.errcode, exc.errmsg)
            answer = f"errcode {exc.errcode}" if exc.errcode is not None else "an HTTP error"
            raise ProviderUnavailable(f"WeChat did not take the message ({answer}).") from exc
