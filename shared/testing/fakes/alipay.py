"""A local Alipay OpenAPI gateway (`/gateway.do`) that checks and makes real RSA2 signatures.

Requests are verified against the app's public key over the sorted `k=v&...` of every parameter but
`sign`; responses are `{"<method>_response": {...}, "sign": "..."}`, signed with the platform's key
over the exact text of the inner object, as python-alipay-sdk checks them.

Mini-program subscribe messages (`alipay.open.app.mini.templatemessage.send`) are kept in
`app.state.sent_messages` (biz_content, with `data` parsed); a user id put in `app.state.unsubscribed_users`
is refused with a business failure (40004). Alipay's own sub_code for a user who has not subscribed is not in
the documentation we could check, so the fake's `USER_NOT_SUBSCRIBED` stands in for it; the adapter treats
every business failure as final, whatever its sub_code. A value over 50 characters is refused with
`USER_KEYWORD_LENGTH_ERROR`, as Alipay does.

A transfer that names its payee (`payee_info.name`) is checked against `app.state.real_names` (user id ->
the account holder's real name; an id not there takes any name) and refused with `PAYEE_USER_INFO_ERROR`
when it differs; the names transfers gave are kept in `app.state.payee_names` by out_biz_no.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from fastapi import FastAPI, Request
from fastapi.responses import Response

from shared.clock import SHANGHAI, Clock, system_clock
from shared.contracts.common import fen_from_yuan
from shared.testing.fakes.faults import install_faults
from shared.testing.fakes.keys import generate_rsa_keypair, load_rsa_private_key, load_rsa_public_key
from shared.testing.fakes.notify import send_later

_DEMO = re.compile(r"^demo-([A-Za-z0-9_-]{1,64})$")
Answer = tuple[dict[str, Any], bool]  # the body, and whether it goes out as error_response
Handler = Callable[[dict[str, str], dict[str, Any], str], Answer]


def sign_rsa2(private_key_pem: str, message: str) -> str:
    key = load_rsa_private_key(private_key_pem)
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify_rsa2(public_key_pem: str, message: str, signature: str) -> bool:
    key = load_rsa_public_key(public_key_pem)
    try:
        key.verify(
            base64.b64decode(signature),
            message.encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        return True
    except (InvalidSignature, ValueError):
        return False


def signing_string(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")


def _digits(appid: str, name: str, salt: str, count: int) -> str:
    number = int.from_bytes(hashlib.sha256(f"{salt}:{appid}:{name}".encode()).digest()[:8], "big")
    return str(number % 10**count).zfill(count)


def user_id_for(appid: str, name: str) -> str:
    """The Alipay user id the fake gives the auth code `demo-<name>` under `appid` (tests name payees with it)."""
    return "2088" + _digits(appid, name, "user", 12)


def _error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _business_error(sub_code: str, sub_msg: str) -> dict[str, Any]:
    """A business failure: Alipay answers it inside the signed `..._response`, not as error_response."""
    return _error("40004", "Business Failed", sub_code, sub_msg)


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    return {"code": "10000", "msg": "Success", **result}


def create_alipay_fake(
    appid: str, app_public_key_pem: str, alipay_private_key_pem: str, clock: Clock = system_clock
) -> FastAPI:
    """The fake gateway as an ASGI app; its state (orders, calls, notifications, faults) is on `app.state`."""
    app = FastAPI(title="Alipay (local fake)", openapi_url=None)
    install_faults(app)
    forger_private, _ = generate_rsa_keypair()
    app.state.orders = {}
    app.state.transfer_calls = 0
    app.state.notifications = []
    app.state.failing_payees = set()
    # The account holders' real names, by user id, as Alipay knows them: a transfer naming the payee
    # (payee_info.name) is refused when the name differs. An id not here takes any name (the fake cannot
    # know it). What each transfer named is kept in `payee_names`, by out_biz_no.
    app.state.real_names = {}
    app.state.payee_names = {}
    app.state.sent_messages = []
    app.state.unsubscribed_users = set()
    app.state.background = set()
    app.state.clock = clock  # tests may swap in their own, so orders fall on the test's days

    def local_now() -> str:
        current: Clock = app.state.clock
        return current.now().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")

    def oauth_token(params: dict[str, str], biz: dict[str, Any], base: str) -> Answer:
        match = _DEMO.match(params.get("code", ""))
        if params.get("grant_type") != "authorization_code" or match is None:
            return _error("40002", "Invalid Arguments", "isv.code-invalid", "授权码code无效"), True
        name = match.group(1)
        return _ok(
            {
                "user_id": user_id_for(appid, name),
                "open_id": "0" + _digits(appid, name, "open", 20),
                "access_token": "authusr" + secrets.token_hex(12),
                "expires_in": 1296000,
                "refresh_token": "authusr" + secrets.token_hex(12),
                "re_expires_in": 2592000,
            }
        ), False

    def notify(order: dict[str, Any], url: str | None) -> None:
        if not url:
            return
        params = {
            "notify_id": secrets.token_hex(16),
            "notify_time": local_now(),
            "notify_type": "trade_status_sync",
            "msg_method": "alipay.fund.trans.order.changed",
            "app_id": appid,
            "charset": "utf-8",
            "version": "1.0",
            "utc_timestamp": str(int(time.time() * 1000)),
            "biz_content": json.dumps(
                {
                    k: order[k]
                    for k in ("out_biz_no", "order_id", "pay_fund_order_id", "status", "trans_amount", "pay_date")
                },
                ensure_ascii=False,
                separators=(",", ":"),
            ),
        }
        forged = app.state.faults.take("forged_notification") != "none"
        times = 2 if app.state.faults.take("duplicate_notification") != "none" else 1
        params["sign"] = sign_rsa2(forger_private if forged else alipay_private_key_pem, signing_string(params))
        params["sign_type"] = "RSA2"
        send_later(
            app,
            url,
            content=urlencode(params).encode(),
            times=times,
            headers={"content-type": "application/x-www-form-urlencoded;charset=utf-8"},
        )

    def transfer(params: dict[str, str], biz: dict[str, Any], base: str) -> Answer:
        app.state.transfer_calls += 1
        out_biz_no, payee = biz.get("out_biz_no", ""), (biz.get("payee_info") or {}).get("identity")
        amount = biz.get("trans_amount", "")
        if (
            not re.fullmatch(r"[0-9A-Za-z_]{1,64}", out_biz_no)
            or not payee
            or not re.fullmatch(r"\d+\.\d{2}", amount)
            or fen_from_yuan(amount) <= 0
        ):
            return _business_error("INVALID_PARAMETER", "参数有误"), False
        order = app.state.orders.get(out_biz_no)
        if order is not None and (order["trans_amount"], order["payee"]) != (amount, payee):
            return _business_error("PAYMENT_INFO_INCONSISTENCY", "两次请求商户单号一样，但是参数不一致"), False
        if order is None or order["status"] == "FAIL":  # a failed order may be sent again under the same number
            name = (biz.get("payee_info") or {}).get("name")
            if name is not None:
                app.state.payee_names[out_biz_no] = name
                known = app.state.real_names.get(payee)
                if not isinstance(name, str) or not name.strip() or (known is not None and known != name):
                    return _business_error("PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配，请确认姓名是否正确"), False
            failing = payee in app.state.failing_payees
            order = {
                "out_biz_no": out_biz_no,
                "order_id": "2026" + secrets.token_hex(10),
                "pay_fund_order_id": "2026" + secrets.token_hex(10),
                "payee": payee,
                "trans_amount": amount,
                "status": "FAIL" if failing else "SUCCESS",
                "trans_date": local_now(),
                "pay_date": local_now(),
                "fail_reason": "PAYEE_NOT_EXIST" if failing else None,
            }
            app.state.orders[out_biz_no] = order
            if failing:
                return _business_error("PAYEE_NOT_EXIST", "收款账号不存在或姓名有误"), False
            notify(order, params.get("notify_url"))
        fields = ("out_biz_no", "order_id", "pay_fund_order_id", "status", "trans_date")
        return _ok({k: order[k] for k in fields}), False

    def query(params: dict[str, str], biz: dict[str, Any], base: str) -> Answer:
        order = app.state.orders.get(biz.get("out_biz_no", ""))
        if order is None:
            return _business_error("ORDER_NOT_EXIST", "转账订单不存在"), False
        return _ok(
            {
                "out_biz_no": order["out_biz_no"],
                "order_id": order["order_id"],
                "pay_fund_order_id": order["pay_fund_order_id"],
                "status": order["status"],
                "trans_amount": order["trans_amount"],
                "pay_date": order["pay_date"],
                "fail_reason": order["fail_reason"],
            }
        ), False

    def bill_url(params: dict[str, str], biz: dict[str, Any], base: str) -> Answer:
        day = biz.get("bill_date", "")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return _business_error("INVALID_PARAMETER", "bill_date"), False
        return _ok({"bill_download_url": f"{base}/_fake/alipay-bills/{day}.csv"}), False

    def template_message(params: dict[str, str], biz: dict[str, Any], base: str) -> Answer:
        to_user, template_id, page = biz.get("to_user_id"), biz.get("user_template_id"), biz.get("page")
        try:
            data = json.loads(biz.get("data") or "")
        except ValueError:
            data = None
        if (
            not to_user
            or not template_id
            or not page
            or not isinstance(data, dict)
            or not all(
                re.fullmatch(r"keyword\d{1,2}", k) and isinstance(v, dict) and isinstance(v.get("value"), str)
                for k, v in data.items()
            )
        ):
            return _business_error("INVALID_PARAMETER", "参数有误"), False
        if any(len(v["value"]) > 50 for v in data.values()):
            return _business_error("USER_KEYWORD_LENGTH_ERROR", "关键词超长"), False
        if to_user in app.state.unsubscribed_users:
            return _business_error("USER_NOT_SUBSCRIBED", "用户未订阅该消息模板"), False
        app.state.sent_messages.append({**biz, "data": data})
        return _ok({}), False

    # One handler per OpenAPI method: adding a method is adding a function here.
    app.state.handlers = {
        "alipay.system.oauth.token": oauth_token,
        "alipay.fund.trans.uni.transfer": transfer,
        "alipay.fund.trans.common.query": query,
        "alipay.data.dataservice.bill.downloadurl.query": bill_url,
        "alipay.open.app.mini.templatemessage.send": template_message,
    }

    def respond(method: str, body: dict[str, Any], *, error: bool = False) -> Response:
        inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        if error:
            text = '{"error_response":' + inner + ',"sign":""}'
        else:
            key = method.replace(".", "_") + "_response"
            text = '{"' + key + '":' + inner + ',"sign":"' + sign_rsa2(alipay_private_key_pem, inner) + '"}'
        return Response(text, media_type="application/json;charset=utf-8")

    @app.api_route("/gateway.do", methods=["GET", "POST"])
    async def gateway(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        method = params.get("method", "")
        if params.get("app_id") != appid:
            return respond(
                method, _error("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数"), error=True
            )
        signature = params.get("sign", "")
        if not signature or not verify_rsa2(app_public_key_pem, signing_string(params), signature):
            return respond(
                method, _error("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错"), error=True
            )
        handler = app.state.handlers.get(method)
        if handler is None:
            return respond(
                method, _error("40004", "Business Failed", "isv.invalid-method", "不存在的方法名"), error=True
            )
        biz = json.loads(params["biz_content"]) if params.get("biz_content") else {}
        body, as_error = handler(params, biz, str(request.base_url).rstrip("/"))
        if method == "alipay.fund.trans.uni.transfer" and app.state.faults.take("accept_then_timeout") != "none":
            await asyncio.sleep(30)  # the transfer happened; the caller just never hears it
        return respond(method, body, error=as_error)

    @app.get("/_fake/alipay-bills/{day}.csv")
    async def bill(day: str) -> Response:
        lines = ["out_biz_no,order_id,amount,status,pay_date"]
        for order in app.state.orders.values():
            if order["pay_date"][:10] == day:
                lines.append(
                    f"{order['out_biz_no']},{order['order_id']},{order['trans_amount']},{order['status']},"
                    f"{order['pay_date']}"
                )
        return Response("\n".join(lines) + "\n", media_type="text/csv")

    return app
