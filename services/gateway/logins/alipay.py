"""Alipay mini-program login and subscribe messages through python-alipay-sdk, against a configurable gateway URL.

Messages go through `alipay.open.app.mini.templatemessage.send`, which Alipay's current documentation gives
for a mini-program's subscribe messages (their `form_id` is only for the older payment and form templates):
biz_content `to_user_id`, `user_template_id`, `page`, and `data` as a JSON text of `{"keywordN": {"value"}}`,
each value at most 50 characters."""

from __future__ import annotations

import asyncio
import json
import logging
from http.client import HTTPException
from typing import TYPE_CHECKING, Any, ClassVar

from alipay.exceptions import AliPayException, AliPayValidationError

from services.gateway.errors import (
    LoginCodeInvalid,
    ProviderCredentialsRejected,
    ProviderSignatureInvalid,
    ProviderUnavailable,
)
from services.gateway.logins.base import DEFAULT_REMARK, MessageRefused, ProgressMessage, ProviderIdentity, clip
from shared.alipay import alipay_client
from shared.clock import shanghai_text
from shared.contracts.common import Channel
from shared.contracts.complaints import STATE_LABELS_ZH

if TYPE_CHECKING:
    from services.gateway.config import GatewaySettings

log = logging.getLogger("gateway.logins.alipay")

# Alipay answers these with code 40002 ("Invalid Arguments") like a bad auth code, but they are our setup's fault:
# telling the user to log in again would loop for ever.
_BAD_CREDENTIALS = {
    "isv.invalid-app-id",
    "isv.missing-app-id",
    "isv.invalid-signature",
    "isv.missing-signature",
    "isv.invalid-signature-type",
    "isv.missing-signature-type",
    "isv.missing-signature-config",
    "isv.invalid-app-auth-token",
}


def _error_of(exc: AliPayException) -> tuple[str | None, str | None]:
    """(code, sub_code) of an AliPayException: the SDK keeps both in name-mangled attributes, without accessors."""
    code = getattr(exc, "_AliPayException__code", None)
    raw = getattr(exc, "_AliPayException__message", None)  # the whole raw answer, as text
    try:
        answer = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return code, None
    inner = (
        next((v for v in answer.values() if isinstance(v, dict) and "code" in v), {})
        if isinstance(answer, dict)
        else {}
    )
    return code, inner.get("sub_code")


# Codes of an answer that may be different later: 20000 "service currently unavailable", and any isp.* sub code
# (Alipay's own fault). 20001 and 40006 (permissions, products not bound) are this platform's setup.
_TRANSIENT_CODES = {"20000"}
_SETUP_CODES = {"20001", "40006"}
VALUE_MAX = 50  # each keyword of a mini-program message


def progress_data(message: ProgressMessage) -> dict[str, dict[str, str]]:
    """The message's keywords (template GATEWAY_ALIPAY_PROGRESS_TEMPLATE_ID), each within its 50 characters: the
    case number, the state in Chinese, when it changed (Asia/Shanghai), the note."""
    return {
        "keyword1": {"value": message.number},
        "keyword2": {"value": STATE_LABELS_ZH.get(message.state, "有新进展")},
        "keyword3": {"value": shanghai_text(message.changed_at)},
        "keyword4": {"value": clip(message.note or DEFAULT_REMARK, VALUE_MAX)},
    }


class AlipayMiniProgramLogin:
    """Login (`alipay.system.oauth.token`) and subscribe messages for one Alipay mini-program, with RSA2-signed
    requests and answers."""

    provider: ClassVar[str] = "alipay"
    channel: ClassVar[str] = Channel.alipay_miniprogram
    label_zh: ClassVar[str] = "支付宝"
    label_en: ClassVar[str] = "Alipay"

    def __init__(
        self, appid: str, gateway_url: str, app_private_key_pem: str, alipay_public_key_pem: str, timeout: float = 5.0
    ) -> None:
        self.client = alipay_client(
            appid=appid,
            gateway_url=gateway_url,
            app_private_key_pem=app_private_key_pem,
            alipay_public_key_pem=alipay_public_key_pem,
            timeout=timeout,
        )

    async def _server_api(self, method: str, **kwargs: Any) -> dict[str, Any]:
        # The SDK is blocking (urllib): keep it off the event loop.
        try:
            return await asyncio.to_thread(self.client.server_api, method, **kwargs)
        except AliPayValidationError as exc:
            log.error("Alipay answer to %s failed signature verification", method)
            raise ProviderSignatureInvalid("Alipay's answer did not carry a valid signature.") from exc
        except AliPayException as exc:
            code, sub_code = _error_of(exc)
            if sub_code in _BAD_CREDENTIALS:
                log.error("Alipay rejected this service's credentials: %s %s", code, sub_code)
                raise ProviderCredentialsRejected(f"Alipay rejected this platform's credentials ({sub_code}).") from exc
            raise
        # OSError covers URLError (and HTTPError, its subclass, for 5xx), socket timeouts and refused connections;
        # HTTPException a connection cut mid-answer; ValueError an answer that is not JSON.
        except (OSError, HTTPException, ValueError) as exc:
            log.warning("Alipay unreachable on %s: %s", method, type(exc).__name__)
            raise ProviderUnavailable("Alipay cannot be reached; try again shortly.") from exc

    async def identify(self, code: str) -> ProviderIdentity:
        """auth_code -> user id (or open id, for apps on the open-id scheme) through `alipay.system.oauth.token`."""
        try:
            result = await self._server_api("alipay.system.oauth.token", grant_type="authorization_code", code=code)
        except AliPayException as exc:
            error_code, sub_code = _error_of(exc)
            if error_code == "40002":
                raise LoginCodeInvalid("Alipay did not accept this auth code; call my.getAuthCode() again.") from exc
            log.warning("Alipay login failed: %s %s", error_code, sub_code)
            raise ProviderUnavailable("Alipay login is not available right now.") from exc
        user_id = result.get("user_id") or result.get("open_id")
        if not user_id:
            raise ProviderUnavailable("Alipay answered without a user id.")
        return ProviderIdentity(provider=self.provider, external_id=user_id)

    async def send_progress(
        self, settings: GatewaySettings, recipient: str, message: ProgressMessage, page: str
    ) -> None:
        """The complaint's progress as a mini-program message (GATEWAY_ALIPAY_PROGRESS_TEMPLATE_ID) to the user id."""
        await self.send_subscribe_message(recipient, settings.alipay_progress_template_id, progress_data(message), page)

    async def send_subscribe_message(self, user_id: str, template_id: str, data: dict[str, Any], page: str) -> None:
        """Send a subscribe message. `MessageRefused` when Alipay will not deliver it (a business failure: the
        user has not subscribed or cannot receive it, the template or data refused); `ProviderUnavailable` or
        `ProviderCredentialsRejected` when asking again later may work."""
        biz = {
            "to_user_id": user_id,
            "user_template_id": template_id,
            "page": page,
            "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        }
        try:
            result = await self._server_api("alipay.open.app.mini.templatemessage.send", biz_content=biz)
        except AliPayException as exc:  # an error_response: the request itself was refused
            code, sub_code = _error_of(exc)
            result = {"code": code, "sub_code": sub_code, "sub_msg": None}
        code, sub_code = str(result.get("code")), str(result.get("sub_code") or "")
        if code == "10000":
            return
        if code in _TRANSIENT_CODES or sub_code.startswith("isp."):
            log.warning("Alipay did not take a message: %s %s", code, sub_code)
            raise ProviderUnavailable(f"Alipay did not take the message ({code} {sub_code}).")
        if code in _SETUP_CODES:
            log.error("Alipay refused this platform's message permissions: %s %s", code, sub_code)
            raise ProviderCredentialsRejected(f"Alipay refused this platform's messages ({code} {sub_code}).")
        log.info("Alipay message %s not delivered: %s %s", template_id, code, sub_code)
        raise MessageRefused(f"{sub_code or code}: {result.get('sub_msg') or 'refused'}")
