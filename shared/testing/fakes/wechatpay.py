"""A local WeChat Pay API v3 for merchant transfers (商家转账), as wechatpayv3 talks to it.

Requests must carry a valid `WECHATPAY2-SHA256-RSA2048` Authorization (RSA-SHA256 by the merchant's
key over `METHOD\\npath?query\\ntimestamp\\nnonce\\nbody\\n`); every answer, errors included, is signed
with the platform key over `timestamp\\nnonce\\nbody\\n`. A transfer is idempotent by `out_bill_no`, is
ACCEPTED at once and finishes ~50 ms later, when a notification (resource encrypted with AES-256-GCM
under the APIv3 key) goes to its notify_url. Misbehaviour on demand through `POST /_fake/faults`
(faults.py): timeout, error500, accept_then_timeout, duplicate_notification, forged_notification,
tampered_amount_notification.

The payee's real name (`user_name`) is checked as WeChat Pay does: from 2,000 yuan a transfer without it is
refused (400 PARAM_ERROR); given, it must be encrypted with the platform public key (RSA-OAEP, SHA-1, base64)
and the request must name that key in `Wechatpay-Serial` (the public key id), else 400 PARAM_ERROR. The fake
decrypts it with the platform private key and compares it with `app.state.real_names` (openid -> the
account holder's real name; an openid not there takes any name): a different name fails the bill with
`NAME_NOT_CORRECT`. What each transfer named, decrypted, is kept in `app.state.user_names` by out_bill_no.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Coroutine
from datetime import date
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, Request
from fastapi.responses import Response

from shared.clock import SHANGHAI, Clock, system_clock
from shared.contracts.common import yuan
from shared.testing.fakes.faults import install_faults
from shared.testing.fakes.keys import load_rsa_private_key, load_rsa_public_key

_AUTH = re.compile(r'(\w+)="([^"]*)"')
_TRANSFER_PATH = "/v3/fund-app/mch-transfer/transfer-bills"
NAME_REQUIRED_FROM_FEN = 200_000  # 2,000 yuan: from here WeChat Pay wants the payee's real name


def _sign(private_key: Any, message: str) -> str:
    return base64.b64encode(private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def create_wechatpay_fake(
    mchid: str,
    appid: str,
    merchant_public_key_pem: str,
    merchant_cert_serial_no: str,
    platform_private_key_pem: str,
    public_key_id: str,
    apiv3_key: str,
    clock: Clock = system_clock,
) -> FastAPI:
    """The fake as an ASGI app; its state (bills, calls, notifications, faults) is on `app.state` for tests."""
    app = FastAPI(title="WeChat Pay (local fake)", openapi_url=None)
    merchant_key = load_rsa_public_key(merchant_public_key_pem)
    platform_key = load_rsa_private_key(platform_private_key_pem)
    forger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    install_faults(app)
    app.state.bills = {}
    app.state.transfer_calls = 0
    app.state.notifications = []  # one entry per delivery: url, status, headers, body
    app.state.failing_openids = set()
    app.state.real_names = {}  # openid -> the account holder's real name, as WeChat Pay knows it
    app.state.user_names = {}  # out_bill_no -> the user_name the transfer sent, decrypted here
    app.state.background = set()
    app.state.bill_files = {}  # bill date -> the CSV as generated when its URL was handed out
    app.state.clock = clock  # tests may swap in their own, so bills fall on the test's days

    def now_text() -> str:
        current: Clock = app.state.clock
        return current.now().astimezone(SHANGHAI).isoformat(timespec="seconds")

    def in_background(coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        app.state.background.add(task)
        task.add_done_callback(app.state.background.discard)

    def signature_headers(text: str, key: Any = None) -> dict[str, str]:
        # Real time, not the app's clock: clients check these timestamps against their own.
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": public_key_id,
            "Wechatpay-Signature": _sign(key or platform_key, f"{timestamp}\n{nonce}\n{text}\n"),
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def signed(body: dict[str, Any] | str, status: int = 200, media_type: str = "application/json") -> Response:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return Response(
            text,
            status_code=status,
            media_type=media_type,
            headers={**signature_headers(text), "Request-ID": uuid.uuid4().hex},
        )

    def error(status: int, code: str, message: str) -> Response:
        return signed({"code": code, "message": message}, status)

    # Added after install_faults, so it wraps it: the injected 500s and FastAPI's own 404/422 get signed too.
    @app.middleware("http")
    async def sign_every_answer(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if "wechatpay-signature" in response.headers or request.url.path == "/_fake/faults":
            return response
        raw = b"".join([chunk async for chunk in response.body_iterator])
        if response.status_code >= 500:
            return error(response.status_code, "SYSTEM_ERROR", "系统错误，请使用相同参数稍后重新调用")
        return signed(
            raw.decode("utf-8", "replace"),
            response.status_code,
            response.headers.get("content-type", "application/json"),
        )

    async def authenticated(request: Request) -> bytes | Response:
        body = await request.body()
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        fields = dict(_AUTH.findall(rest))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != mchid:
            return error(401, "SIGN_ERROR", "wrong scheme or mchid")
        if fields.get("serial_no") != merchant_cert_serial_no:
            return error(401, "SIGN_ERROR", "unknown certificate serial number")
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = (
            f"{request.method}\n{path}\n{fields.get('timestamp', '')}\n{fields.get('nonce_str', '')}\n{body.decode()}\n"
        )
        try:
            merchant_key.verify(
                base64.b64decode(fields.get("signature", "")),
                message.encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return error(401, "SIGN_ERROR", "signature does not verify")
        return body

    clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}  # one per loop: a client is bound to its loop

    async def deliver(url: str, body: str, headers: dict[str, str], times: int) -> None:
        # Not notify.send_later: its log keeps only url and status, and this one keeps what was sent too.
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        client = clients.get(loop)
        if client is None:
            client = clients[loop] = httpx.AsyncClient(timeout=5.0)
        for _ in range(times):
            try:
                status: int | str = (await client.post(url, content=body.encode(), headers=headers)).status_code
            except httpx.HTTPError as exc:
                status = f"error: {type(exc).__name__}"
            app.state.notifications.append({"url": url, "status": status, "headers": headers, "body": body})

    def notify(bill: dict[str, Any], url: str | None) -> None:
        if not url:
            return
        told = {k: v for k, v in bill.items() if k != "notify_url"}
        if app.state.faults.take("tampered_amount_notification") != "none":
            told["transfer_amount"] += 1  # signed and encrypted properly, but the amount is wrong
        plaintext = json.dumps(told, ensure_ascii=False)
        nonce = secrets.token_hex(6)  # 12 characters: the GCM nonce is its UTF-8 bytes
        ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode(), b"mch_payment")
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "create_time": now_text(),
                "resource_type": "encrypt-resource",
                "event_type": "MCHTRANSFER.BILL.FINISHED",
                "summary": "商家转账单据终态通知",
                "resource": {
                    "original_type": "mch_payment",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": "mch_payment",
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        )
        forged = app.state.faults.take("forged_notification") != "none"
        times = 2 if app.state.faults.take("duplicate_notification") != "none" else 1
        headers = {**signature_headers(body, forger_key if forged else None), "content-type": "application/json"}
        in_background(deliver(url, body, headers, times))

    async def finish(out_bill_no: str) -> None:
        await asyncio.sleep(0.05)
        bill = app.state.bills.get(out_bill_no)
        if bill is None:  # a test cleared the fake meanwhile
            return
        known, named = app.state.real_names.get(bill["openid"]), app.state.user_names.get(out_bill_no)
        if bill["openid"] in app.state.failing_openids:
            bill.update(state="FAIL", fail_reason="PAYEE_ACCOUNT_ABNORMAL")
        elif named is not None and known is not None and named != known:
            bill.update(state="FAIL", fail_reason="NAME_NOT_CORRECT")
        else:
            bill["state"] = "SUCCESS"
            bill.pop("fail_reason", None)
        bill["update_time"] = now_text()
        notify(bill, bill.get("notify_url"))

    @app.post(_TRANSFER_PATH)
    async def transfer(request: Request) -> Response:
        raw = await authenticated(request)
        if isinstance(raw, Response):
            return raw
        app.state.transfer_calls += 1
        body = json.loads(raw)
        out_bill_no = body.get("out_bill_no", "")
        if body.get("appid") != appid or not re.fullmatch(r"[0-9A-Za-z]{5,32}", out_bill_no):
            return error(400, "PARAM_ERROR", "appid or out_bill_no invalid")
        amount, openid = body.get("transfer_amount"), body.get("openid")
        if not isinstance(amount, int) or amount <= 0 or not openid:
            return error(400, "PARAM_ERROR", "transfer_amount and openid are required")
        user_name: str | None = None
        if "user_name" in body:
            if request.headers.get("wechatpay-serial") != public_key_id:
                return error(400, "PARAM_ERROR", "Wechatpay-Serial 与加密敏感信息所用的微信支付公钥不一致")
            try:
                user_name = platform_key.decrypt(
                    base64.b64decode(str(body["user_name"]), validate=True),
                    padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
                ).decode("utf-8")
            except (ValueError, TypeError):
                return error(400, "PARAM_ERROR", "user_name 解密失败：须用微信支付公钥加密")
        elif amount >= NAME_REQUIRED_FROM_FEN:
            return error(400, "PARAM_ERROR", "转账金额>=2000元时，收款用户姓名(user_name)必填")
        bill = app.state.bills.get(out_bill_no)
        if bill is not None:
            if (bill["transfer_amount"], bill["openid"]) != (amount, openid):
                return error(400, "PARAM_ERROR", "out_bill_no was used for another transfer")
            if bill["state"] == "FAIL":  # a failed bill may be sent again under the same number
                bill.update(state="ACCEPTED", update_time=now_text())
                if user_name is not None:
                    app.state.user_names[out_bill_no] = user_name
                in_background(finish(out_bill_no))
        else:
            bill = {
                "mch_id": mchid,
                "appid": appid,
                "out_bill_no": out_bill_no,
                "transfer_bill_no": "1330000" + secrets.token_hex(10),
                "transfer_amount": amount,
                "transfer_remark": body.get("transfer_remark", ""),
                "openid": openid,
                "state": "ACCEPTED",
                "create_time": now_text(),
                "update_time": now_text(),
                "notify_url": body.get("notify_url"),
            }
            app.state.bills[out_bill_no] = bill
            if user_name is not None:
                app.state.user_names[out_bill_no] = user_name
            in_background(finish(out_bill_no))
        if app.state.faults.take("accept_then_timeout") != "none":
            await asyncio.sleep(30)  # the transfer happened; the caller just never hears it
        return signed({k: bill[k] for k in ("out_bill_no", "transfer_bill_no", "create_time", "state")})

    @app.get(_TRANSFER_PATH + "/out-bill-no/{out_bill_no}")
    async def query(out_bill_no: str, request: Request) -> Response:
        raw = await authenticated(request)
        if isinstance(raw, Response):
            return raw
        bill = app.state.bills.get(out_bill_no)
        if bill is None:
            return error(404, "NOT_FOUND", "记录不存在")
        return signed({k: v for k, v in bill.items() if k != "notify_url"})

    def bill_csv(day: date) -> str:
        lines = ["out_bill_no,transfer_bill_no,amount,state,update_time"]
        for bill in app.state.bills.values():
            finished = bill["update_time"][:10] == day.isoformat()
            if finished and bill["state"] in ("SUCCESS", "FAIL"):
                lines.append(
                    f"{bill['out_bill_no']},{bill['transfer_bill_no']},{yuan(bill['transfer_amount'])},"
                    f"{bill['state']},{bill['update_time']}"
                )
        return "\n".join(lines) + "\n"

    @app.get("/v3/bill/fundflowbill")
    async def fundflow_bill(request: Request, bill_date: date) -> Response:
        raw = await authenticated(request)
        if isinstance(raw, Response):
            return raw
        # Made once when asked for, as WeChat Pay does, so the download matches the hash handed out here.
        text = app.state.bill_files[bill_date.isoformat()] = bill_csv(bill_date)
        url = f"{str(request.base_url).rstrip('/')}/_fake/bills/{bill_date.isoformat()}.csv"
        return signed({"download_url": url, "hash_type": "SHA1", "hash_value": hashlib.sha1(text.encode()).hexdigest()})

    @app.get("/_fake/bills/{day}.csv")
    async def download(request: Request, day: date) -> Response:
        raw = await authenticated(request)
        if isinstance(raw, Response):
            return raw
        text = app.state.bill_files.get(day.isoformat()) or bill_csv(day)
        return signed(text, media_type="text/plain; charset=utf-8")

    return app
