"""A local Alipay OpenAPI gateway (`/gateway.do`) that checks and makes real RSA2 signatures.

Requests are verified against the app's public key over the sorted `k=v&...` of every parameter but
`sign`; responses are `{"<method>_response": {...}, "sign": "..."}`, signed with the platform's key
over the exact text of the inner object, as python-alipay-sdk checks them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from fastapi import FastAPI, Request
from fastapi.responses import Response

from shared.testing.fakes.faults import install_faults

_DEMO = re.compile(r"^demo-([A-Za-z0-9_-]{1,64})$")
Handler = Callable[[dict[str, str], dict[str, Any]], tuple[dict[str, Any] | None, dict[str, Any] | None]]


def sign_rsa2(private_key_pem: str, message: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return base64.b64encode(signature).decode()


def verify_rsa2(public_key_pem: str, message: str, signature: str) -> bool:
    key = serialization.load_pem_public_key(public_key_pem.encode())
    try:
        key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(),  # type: ignore[union-attr]
                   hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def signing_string(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")


def _digits(appid: str, name: str, salt: str, count: int) -> str:
    number = int.from_bytes(hashlib.sha256(f"{salt}:{appid}:{name}".encode()).digest()[:8], "big")
    return str(number % 10**count).zfill(count)


def _error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def create_alipay_fake(appid: str, app_public_key_pem: str, alipay_private_key_pem: str) -> FastAPI:
    app = FastAPI(title="Alipay (local fake)", openapi_url=None)
    install_faults(app)

    def oauth_token(params: dict[str, str], biz: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        match = _DEMO.match(params.get("code", ""))
        if params.get("grant_type") != "authorization_code" or match is None:
            return None, _error("40002", "Invalid Arguments", "isv.code-invalid", "授权码code无效")
        name = match.group(1)
        return {"user_id": "2088" + _digits(appid, name, "user", 12), "open_id": "0" + _digits(appid, name, "open", 20),
                "access_token": "authusr" + secrets.token_hex(12), "expires_in": 1296000,
                "refresh_token": "authusr" + secrets.token_hex(12), "re_expires_in": 2592000}, None

    # One handler per OpenAPI method: adding a method is adding a function here.
    app.state.handlers = {"alipay.system.oauth.token": oauth_token}

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
            return respond(method, _error("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数"),
                           error=True)
        signature = params.get("sign", "")
        if not signature or not verify_rsa2(app_public_key_pem, signing_string(params), signature):
            return respond(method, _error("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错"),
                           error=True)
        handler = app.state.handlers.get(method)
        if handler is None:
            return respond(method, _error("40004", "Business Failed", "isv.invalid-method", "不存在的方法名"),
                           error=True)
        biz = json.loads(params["biz_content"]) if params.get("biz_content") else {}
        result, failure = handler(params, biz)
        if failure is not None:
            return respond(method, failure, error=True)
        return respond(method, {"code": "10000", "msg": "Success", **(result or {})})

    return app
