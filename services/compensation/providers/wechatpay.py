"""WeChat Pay v3 merchant transfers (商家转账) through wechatpayv3, at a configurable gateway.

wechatpayv3's async client has no HTTP client until `async with` enters it (AsyncCore._client is None
until __aenter__), and one shared client would be closed by whichever concurrent `async with` exits
first; so this uses the synchronous client in worker threads. It never raises on a 4xx: every answer
is mapped here.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import io
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial
from typing import Any

import requests
import wechatpayv3.core
from fastapi.responses import JSONResponse, Response
from urllib3.exceptions import NewConnectionError
from wechatpayv3 import WeChatPay, WeChatPayType

from services.compensation.config import CompensationSettings
from services.compensation.errors import NotificationRejected, ProviderError, ProviderTimeout
from services.compensation.providers.base import THREADS, BillLine, TransferNotification, TransferResult
from shared.contracts.common import fen_from_yuan

FRESHNESS_SECONDS = 300
NAME_REQUIRED_FROM_FEN = 200_000  # WeChat Pay wants the payee's real name from 2,000 yuan
log = logging.getLogger("compensation.providers")
_STATES = {
    "ACCEPTED": "processing",
    "PROCESSING": "processing",
    "WAIT_USER_CONFIRM": "processing",
    "TRANSFERING": "processing",
    "SUCCESS": "succeeded",
    "FAIL": "failed",
    "CANCELING": "processing",
    "CANCELLED": "failed",
}
_REPORT_INFOS = [{"info_type": "赔付原因", "info_content": "旅游投诉先行赔付"}]


def _error_body(text: Any) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


class _KeepAlive:
    """Stands in for `requests` inside wechatpayv3, which calls `requests.post(...)` and so opens a new
    connection (a TLS handshake, in production) for every call. The same calls go to one
    `requests.Session` per SDK thread instead, which keeps its connection (a Session is not shared
    between threads). A pooled connection the server closed fails as a broken connection: a query
    follows, never a blind resend."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        if name in ("get", "post", "put", "patch", "delete"):
            session = getattr(self._local, "session", None)
            if session is None:
                session = self._local.session = requests.Session()
            return getattr(session, name)
        return getattr(requests, name)


if not isinstance(wechatpayv3.core.requests, _KeepAlive):
    wechatpayv3.core.requests = _KeepAlive()


class WeChatPayTransfers:
    """Transfers to a user's WeChat balance; public-key mode, one worker thread per call in flight."""

    name = "wechat"
    label_zh, label_en = "微信支付（零钱）", "WeChat Pay"
    complaint_channels = frozenset({"wechat_miniprogram", "wechat_official_account"})
    payee_identity = "wechat"  # the openid
    callback = "wechatpay/transfer"
    callback_headers = ("wechatpay-",)  # the signature, its serial, nonce and timestamp

    @classmethod
    def from_settings(cls, settings: CompensationSettings, notify_url: str) -> WeChatPayTransfers | None:
        keys = (settings.wechatpay_private_key_file, settings.wechatpay_public_key_file)
        if not all(path.is_file() for path in keys):
            log.warning("WeChat Pay payouts off: key files %s not found", [str(p) for p in keys])
            return None
        return cls(
            mchid=settings.wechatpay_mchid,
            appid=settings.wechatpay_appid,
            private_key_pem=keys[0].read_text(),
            cert_serial_no=settings.wechatpay_cert_serial_no,
            apiv3_key=settings.wechatpay_apiv3_key,
            platform_public_key_pem=keys[1].read_text(),
            public_key_id=settings.wechatpay_public_key_id,
            notify_url=notify_url,
            gateway_url=settings.wechatpay_gateway_url,
            transfer_scene_id=settings.wechatpay_transfer_scene_id,
            timeout=settings.provider_timeout_seconds,
        )

    @classmethod
    def acknowledge(cls, rejected: NotificationRejected | None) -> Response:
        """WeChat Pay wants a 2xx with no body, or a 4xx/5xx with code and message (then it sends again)."""
        if rejected is None:
            return Response(status_code=204)
        return JSONResponse({"code": "FAIL", "message": rejected.detail}, status_code=400)

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        private_key_pem: str,
        cert_serial_no: str,
        apiv3_key: str,
        platform_public_key_pem: str,
        public_key_id: str,
        notify_url: str,
        gateway_url: str,
        transfer_scene_id: str = "1000",
        timeout: float = 5.0,
    ) -> None:
        self.notify_url = notify_url
        self.transfer_scene_id = transfer_scene_id
        self.public_key_id = public_key_id
        # With public_key and public_key_id the SDK never goes online for platform certificates.
        self._pay = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=mchid,
            private_key=private_key_pem,
            cert_serial_no=cert_serial_no,
            appid=appid,
            apiv3_key=apiv3_key,
            notify_url=notify_url,
            public_key=platform_public_key_pem,
            public_key_id=public_key_id,
            timeout=(min(2.0, timeout), timeout),
        )
        self._pay._core._gate_way = gateway_url.rstrip("/")  # the SDK has no base-URL argument
        # The SDK blocks for a whole round trip per call: give it threads of its own, not the loop's few.
        self._threads = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="wechatpay")

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, partial(fn, *args, **kwargs))
        except requests.ConnectTimeout as exc:  # nothing was sent
            raise ProviderError(f"WeChat Pay unreachable: {exc}") from exc
        except requests.Timeout as exc:  # sent; the answer never came
            raise ProviderTimeout(f"WeChat Pay did not answer in time: {exc}") from exc
        except requests.ConnectionError as exc:
            if isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), NewConnectionError):
                raise ProviderError(f"WeChat Pay unreachable: {exc}") from exc
            # The connection broke after the request went out: it may have been acted on.
            raise ProviderTimeout(f"the connection to WeChat Pay broke: {exc}") from exc
        except Exception as exc:
            if "failed to verify the signature" in str(exc):
                # An answer we cannot trust says nothing about the transfer: treat it as unknown.
                raise ProviderTimeout("WeChat Pay's answer failed signature verification") from exc
            raise

    def _result(self, out_no: str, text: Any) -> TransferResult:
        bill = _error_body(text)
        if "state" not in bill:
            raise ProviderTimeout(f"WeChat Pay's answer is unreadable: {str(text)[:200]}")
        state = _STATES.get(bill["state"], "processing")
        return TransferResult(
            state=state,
            out_no=out_no,
            provider_ref=bill.get("transfer_bill_no"),
            amount_fen=bill.get("transfer_amount"),
            reason=bill.get("fail_reason") if state == "failed" else None,
        )

    def payee_name_required(self, amount_fen: int) -> bool:
        return amount_fen >= NAME_REQUIRED_FROM_FEN

    async def transfer(
        self, *, out_no: str, payee: str, amount_fen: int, remark: str, user_name: str | None = None
    ) -> TransferResult:
        """Transfer to the user's WeChat balance; `out_no` is out_bill_no, so a repeat never pays twice.

        `user_name` goes as WeChat Pay requires it: the SDK encrypts it with WeChat Pay's public key (RSA-OAEP)
        and names that key in the `Wechatpay-Serial` header (in public-key mode, the public key id)."""
        if amount_fen >= NAME_REQUIRED_FROM_FEN and not user_name:
            # The SDK would raise a bare Exception before sending: say it in our words instead.
            return TransferResult(
                state="failed",
                out_no=out_no,
                reason=("payee_name_required: WeChat Pay needs the payee's real name for 2,000 yuan or more"),
            )
        code, text = await self._call(
            self._pay.mch_transfer_bills,
            out_bill_no=out_no,
            transfer_scene_id=self.transfer_scene_id,
            openid=payee,
            transfer_amount=amount_fen,
            transfer_remark=remark[:32],
            user_name=user_name,
            transfer_scene_report_infos=_REPORT_INFOS,
            notify_url=self.notify_url,
        )
        if 200 <= code < 300:
            return self._result(out_no, text)
        if code in (400, 403):
            # A refusal of this bill (PARAM_ERROR, NOT_ENOUGH, NO_AUTH, ...): nothing was paid, and a retry
            # goes out under the same out_bill_no, so WeChat Pay can still never pay it twice.
            detail = _error_body(text)
            return TransferResult(
                state="failed", out_no=out_no, reason=f"{detail.get('code', code)}: {detail.get('message', '')}".strip()
            )
        raise ProviderError(f"WeChat Pay answered {code}: {str(text)[:200]}")

    async def query(self, out_no: str) -> TransferResult:
        """The bill under `out_no`; "not_found" only when WeChat Pay says NOT_FOUND."""
        code, text = await self._call(self._pay.mch_transfer_bills_query, out_bill_no=out_no)
        if code == 404 and _error_body(text).get("code") == "NOT_FOUND":
            return TransferResult(state="not_found", out_no=out_no)
        if 200 <= code < 300:
            return self._result(out_no, text)
        # Any other 404 (a wrong gateway path, say) proves nothing about the bill.
        raise ProviderError(f"WeChat Pay answered {code} to a query: {str(text)[:200]}")

    def parse_notification(self, headers: dict[str, str], body: bytes) -> TransferNotification:
        """Freshness and serial (here: the SDK looks at neither), signature (the SDK), then the decrypted bill."""
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            stamp = int(lowered.get("wechatpay-timestamp", ""))
        except ValueError as exc:
            raise NotificationRejected("The notification carries no timestamp.") from exc
        if abs(time.time() - stamp) > FRESHNESS_SECONDS:
            raise NotificationRejected("The notification is stale or from the future.")
        if lowered.get("wechatpay-serial") != self.public_key_id:
            # The SDK would go online for platform certificates, blocking the event loop.
            raise NotificationRejected("The notification is signed by an unknown key.")
        try:
            data = self._pay.callback(lowered, body)
        except Exception as exc:  # the SDK raises on a missing or unknown signature type or algorithm
            raise NotificationRejected(f"The notification cannot be verified: {exc}") from exc
        if not data:  # a bad signature, or a resource that does not decrypt under our APIv3 key
            raise NotificationRejected("The notification's signature does not verify.")
        resource = data.get("resource") or {}
        try:
            return TransferNotification(
                notification_id=str(data["id"]),
                out_no=resource["out_bill_no"],
                state=_STATES.get(resource.get("state", ""), "processing"),
                amount_fen=int(resource["transfer_amount"]),
                provider_ref=resource.get("transfer_bill_no"),
                reason=resource.get("fail_reason"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NotificationRejected("The notification lacks the transfer's fields.") from exc

    async def bill(self, day: date) -> list[BillLine]:
        """The fund-flow bill of `day`: asked for, downloaded, checked against its SHA1, read."""
        code, text = await self._call(self._pay.fundflow_bill, bill_date=day.isoformat())
        if code != 200:
            raise ProviderError(f"WeChat Pay refused the bill for {day}: {code} {str(text)[:200]}")
        meta = _error_body(text)
        # download_bill skips the signature check (the file is not signed): the hash is the only proof.
        code, content = await self._call(self._pay.download_bill, meta.get("download_url", ""))
        if code != 200:
            raise ProviderError(f"WeChat Pay bill download failed: {code}")
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        expected = str(meta.get("hash_value", "")).lower()
        if meta.get("hash_type", "SHA1") == "SHA1" and hashlib.sha1(raw).hexdigest() != expected:
            raise ProviderError(f"WeChat Pay's bill for {day} does not match its hash")
        if raw[:2] == b"\x1f\x8b":  # the SDK's fundflow_bill always asks for tar_type=GZIP
            raw = gzip.decompress(raw)
        try:
            return [
                BillLine(
                    out_no=row["out_bill_no"],
                    provider_ref=row["transfer_bill_no"],
                    amount_fen=fen_from_yuan(row["amount"]),
                    state=_STATES.get(row["state"], "processing"),
                )
                for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
            ]
        except (KeyError, ValueError) as exc:
            raise ProviderError(f"WeChat Pay's bill for {day} is unreadable: {exc}") from exc


PROVIDER = WeChatPayTransfers
