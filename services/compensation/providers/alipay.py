"""Alipay fund transfers (alipay.fund.trans.uni.transfer) through python-alipay-sdk.

The SDK's HTTP is blocking urllib, so calls run in a worker thread. A business failure comes back as
a dict with a code other than 10000, not as an exception.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qsl

import httpx
from alipay.exceptions import AliPayException, AliPayValidationError
from fastapi.responses import PlainTextResponse, Response

from services.compensation.config import CompensationSettings
from services.compensation.errors import NotificationRejected, ProviderError, ProviderTimeout
from services.compensation.providers.base import THREADS, BillLine, TransferNotification, TransferResult
from shared.alipay import alipay_client
from shared.contracts.common import fen_from_yuan, yuan

log = logging.getLogger("compensation.providers")
_STATES = {
    "SUCCESS": "succeeded",
    "FAIL": "failed",
    "DEALING": "processing",
    "WAIT_PAY": "processing",
    "REFUND": "failed",
    "CLOSED": "failed",
}
_BIZ = {"product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER"}
_UNKNOWN_CODES = {"20000", "20001"}  # service unavailable: the transfer may or may not have happened
# A busy or broken Alipay (Alipay's spelling, "unknow"): the outcome is unknown, query before any retry.
_UNKNOWN_SUB_CODES = {"SYSTEM_ERROR", "isp.unknow-error", "aop.unknow-error"}


def _code_of(exc: AliPayException) -> str | None:
    """The error_response's code. The SDK keeps it in a private attribute (and raises with keywords, so `args` is
    empty); its public text is `AliPayException: code:20000, message:...`."""
    found = re.match(r"AliPayException: code:([^,]*),", exc.to_unicode())
    return found.group(1) if found else None


class AlipayTransfers:
    """Transfers to a user's Alipay balance (alipay.fund.trans.uni.transfer), one worker thread per call."""

    name = "alipay"
    label_zh, label_en = "支付宝", "Alipay"
    complaint_channels: frozenset[str] = frozenset()  # every channel no other provider pays
    payee_identity = "alipay"  # the Alipay user id
    callback = "alipay/notify"
    callback_headers: tuple[str, ...] = ()  # everything is in the signed form body

    @classmethod
    def from_settings(cls, settings: CompensationSettings, notify_url: str) -> AlipayTransfers | None:
        keys = (settings.alipay_app_private_key_file, settings.alipay_public_key_file)
        if not all(path.is_file() for path in keys):
            log.warning("Alipay payouts off: key files %s not found", [str(p) for p in keys])
            return None
        return cls(
            appid=settings.alipay_appid,
            gateway_url=settings.alipay_gateway_url,
            app_private_key_pem=keys[0].read_text(),
            alipay_public_key_pem=keys[1].read_text(),
            notify_url=notify_url,
            timeout=settings.provider_timeout_seconds,
        )

    @classmethod
    def acknowledge(cls, rejected: NotificationRejected | None) -> Response:
        """Alipay wants the word `success`; anything else and it notifies again."""
        return PlainTextResponse("success") if rejected is None else PlainTextResponse("fail", status_code=400)

    def __init__(
        self,
        *,
        appid: str,
        gateway_url: str,
        app_private_key_pem: str,
        alipay_public_key_pem: str,
        notify_url: str,
        timeout: float = 5.0,
    ) -> None:
        self.appid = appid
        self.notify_url = notify_url
        self.timeout = timeout
        self.client = alipay_client(
            appid=appid,
            gateway_url=gateway_url,
            app_private_key_pem=app_private_key_pem,
            alipay_public_key_pem=alipay_public_key_pem,
            timeout=timeout,
        )
        # The SDK blocks for a whole round trip per call: give it threads of its own, not the loop's few.
        self._threads = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="alipay")

    async def _api(self, method: str, biz: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._threads, partial(self.client.server_api, method, biz_content=biz, **kwargs)
            )
        except AliPayValidationError as exc:
            raise ProviderTimeout("Alipay's answer failed signature verification") from exc
        except HTTPError as exc:
            raise ProviderError(f"Alipay answered HTTP {exc.code}") from exc
        except URLError as exc:  # the connection was never made
            raise ProviderError(f"Alipay unreachable: {exc.reason}") from exc
        except TimeoutError as exc:  # sent; the answer never came
            raise ProviderTimeout("Alipay did not answer in time") from exc
        except ConnectionError as exc:
            raise ProviderTimeout(f"the connection to Alipay broke: {exc}") from exc
        except AliPayException as exc:  # an error_response: refused before anything was done
            if _code_of(exc) in _UNKNOWN_CODES:
                raise ProviderTimeout(f"Alipay could not say: {exc}") from exc
            raise ProviderError(f"Alipay refused the request: {exc}") from exc
        except ValueError as exc:  # not JSON: a proxy's page, a cut-off answer
            raise ProviderTimeout(f"Alipay's answer is unreadable: {exc}") from exc

    @staticmethod
    def _order(out_no: str, answer: dict[str, Any]) -> TransferResult:
        amount = answer.get("trans_amount")
        state = _STATES.get(answer.get("status", ""), "processing")
        return TransferResult(
            state=state,
            out_no=out_no,
            provider_ref=answer.get("order_id"),
            amount_fen=fen_from_yuan(amount) if amount else None,
            reason=answer.get("fail_reason") if state == "failed" else None,
        )

    def payee_name_required(self, amount_fen: int) -> bool:
        return False  # Alipay checks a name when one is given (payee_info.name), and needs none by user id

    async def transfer(
        self, *, out_no: str, payee: str, amount_fen: int, remark: str, user_name: str | None = None
    ) -> TransferResult:
        """Transfer to the user's Alipay account; `out_no` is out_biz_no, so a repeat never pays twice. A given
        `user_name` goes as payee_info.name, which Alipay checks against the account."""
        payee_info = {"identity": payee, "identity_type": "ALIPAY_USER_ID"}
        if user_name:
            payee_info["name"] = user_name
        answer = await self._api(
            "alipay.fund.trans.uni.transfer",
            {
                "out_biz_no": out_no,
                "trans_amount": yuan(amount_fen),
                "order_title": remark,
                "payee_info": payee_info,
                **_BIZ,
            },
            notify_url=self.notify_url,
        )
        if answer.get("code") == "10000":
            return self._order(out_no, answer)
        if answer.get("code") in _UNKNOWN_CODES or answer.get("sub_code") in _UNKNOWN_SUB_CODES:
            raise ProviderTimeout(f"Alipay could not say: {answer.get('sub_code')} {answer.get('sub_msg')}")
        return TransferResult(
            state="failed",
            out_no=out_no,
            reason=f"{answer.get('sub_code', answer.get('code'))}: {answer.get('sub_msg', '')}",
        )

    async def query(self, out_no: str) -> TransferResult:
        """The order under `out_no`; "not_found" when Alipay says ORDER_NOT_EXIST."""
        answer = await self._api("alipay.fund.trans.common.query", {"out_biz_no": out_no, **_BIZ})
        if answer.get("code") == "10000":
            return self._order(out_no, answer)
        if answer.get("sub_code") == "ORDER_NOT_EXIST":
            return TransferResult(state="not_found", out_no=out_no)
        raise ProviderError(f"Alipay could not answer the query: {answer.get('sub_msg')}")

    def parse_notification(self, headers: dict[str, str], body: bytes) -> TransferNotification:
        """Verify the RSA2 signature over the sorted parameters, then read the order from biz_content."""
        try:
            data = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise NotificationRejected("The notification is not UTF-8 form data.") from exc
        signature = data.pop("sign", None)
        if not signature:
            raise NotificationRejected("The notification is not signed.")
        try:
            verified = self.client.verify(dict(data), signature)  # it pops sign_type from what it is given
        except (AliPayException, ValueError) as exc:
            raise NotificationRejected(f"The notification cannot be verified: {exc}") from exc
        if not verified:
            raise NotificationRejected("The notification's signature does not verify.")
        if data.get("app_id") != self.appid or data.get("msg_method") != "alipay.fund.trans.order.changed":
            raise NotificationRejected("The notification is not a transfer of this app.")
        try:
            biz = json.loads(data["biz_content"])
            return TransferNotification(
                notification_id=data["notify_id"],
                out_no=biz["out_biz_no"],
                state=_STATES.get(biz.get("status", ""), "processing"),
                amount_fen=fen_from_yuan(biz["trans_amount"]),
                provider_ref=biz.get("order_id"),
                reason=biz.get("fail_reason"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise NotificationRejected("The notification lacks the transfer's fields.") from exc

    async def bill(self, day: date) -> list[BillLine]:
        """The day's bill: its download URL from Alipay, then the CSV from that URL."""
        answer = await self._api(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "signcustomer", "bill_date": day.isoformat()},
        )
        if answer.get("code") != "10000" or not answer.get("bill_download_url"):
            raise ProviderError(f"Alipay refused the bill for {day}: {answer.get('sub_msg')}")
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(answer["bill_download_url"])
            response.raise_for_status()
            return [
                BillLine(
                    out_no=row["out_biz_no"],
                    provider_ref=row["order_id"],
                    amount_fen=fen_from_yuan(row["amount"]),
                    state=_STATES.get(row["status"], "processing"),
                )
                for row in csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")))
            ]
        except httpx.HTTPError as exc:  # a bill moves no money: any failure is simply "try later"
            raise ProviderError(f"Alipay's bill for {day} could not be downloaded: {exc}") from exc
        except (KeyError, ValueError) as exc:
            raise ProviderError(f"Alipay's bill for {day} is unreadable: {exc}") from exc


PROVIDER = AlipayTransfers
