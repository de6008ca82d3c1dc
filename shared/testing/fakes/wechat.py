"""A local WeChat API: access tokens, mini-program code-to-session, phone numbers, subscribe messages.

It speaks what wechatpy sends (plain JSON with `errcode`) and checks the app's credentials. A login
code of the form `demo-<name>` maps to an openid that is stable for that name; any other is refused
with 40029, as WeChat refuses an invalid code. Subscribe messages are kept in `app.state.sent_messages`;
an openid put in `app.state.exhausted_subscriptions` gets 43101 (the user has no subscription left).

Access tokens come from `GET /cgi-bin/token` (a new token each call) or `POST /cgi-bin/stable_token` (the same
token while it has more than 5 minutes left, as WeChat's stable token does; `force_refresh` issues a new one and
ends the old). `app.state.token_fetches` counts the calls of both; `expire_tokens(app)` (or
`POST /_fake/expire-tokens`) ends every token, which WeChat then answers with 42001.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from typing import Any

from fastapi import FastAPI, Request

from shared.testing.fakes.faults import install_faults

_DEMO = re.compile(r"^demo-([A-Za-z0-9_-]{1,64})$")
_PHONE = re.compile(r"^demo-phone-(1[3-9]\d{9})$")


def _stable(appid: str, name: str, salt: str, length: int) -> str:
    digest = hashlib.sha256(f"{salt}:{appid}:{name}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def openid_for(appid: str, name: str) -> str:
    """The openid the fake gives the login code `demo-<name>` under `appid` (tests name payees with it)."""
    return "o" + _stable(appid, name, "openid", 27)


def create_wechat_fake(appid: str, secret: str) -> FastAPI:
    """The fake as an ASGI app; misbehaviour through `app.state.faults` or `POST /_fake/faults`."""
    app = FastAPI(title="WeChat (local fake)", openapi_url=None)
    app.state.sent_messages = []
    app.state.exhausted_subscriptions = set()
    app.state.tokens = set()
    app.state.expired_tokens = set()
    app.state.stable_token = None  # (token, expires at on time.monotonic())
    app.state.token_fetches = 0
    install_faults(app)

    def credentials_error(query_appid: str | None, query_secret: str | None) -> dict[str, Any] | None:
        if query_appid != appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query_secret != secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    def token_error(request: Request) -> dict[str, Any] | None:
        token = request.query_params.get("access_token")
        if token in app.state.expired_tokens:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if token not in app.state.tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        return None

    def issue() -> str:
        issued = "fake-token-" + secrets.token_urlsafe(24)
        app.state.tokens.add(issued)
        return issued

    @app.get("/cgi-bin/token")
    async def token(grant_type: str = "", appid: str | None = None, secret: str | None = None) -> dict[str, Any]:
        app.state.token_fetches += 1
        if grant_type != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        error = credentials_error(appid, secret)
        if error:
            return error
        return {"access_token": issue(), "expires_in": 7200}

    @app.post("/cgi-bin/stable_token")
    async def stable_token(request: Request) -> dict[str, Any]:
        app.state.token_fetches += 1
        body = await request.json()
        if body.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        error = credentials_error(body.get("appid"), body.get("secret"))
        if error:
            return error
        now, current = time.monotonic(), app.state.stable_token
        if current is not None and not body.get("force_refresh") and current[1] - now > 300:
            return {"access_token": current[0], "expires_in": int(current[1] - now)}
        if current is not None and body.get("force_refresh"):
            app.state.tokens.discard(current[0])
        app.state.stable_token = (issue(), now + 7200)
        return {"access_token": app.state.stable_token[0], "expires_in": 7200}

    @app.post("/_fake/expire-tokens")
    async def expire() -> dict[str, Any]:
        return {"expired": expire_tokens(app)}

    @app.get("/sns/jscode2session")
    async def code_to_session(
        appid: str | None = None, secret: str | None = None, js_code: str = "", grant_type: str = ""
    ) -> dict[str, Any]:
        error = credentials_error(appid, secret)
        if error:
            return error
        assert appid is not None  # credentials_error matched it with the fake's own
        match = _DEMO.match(js_code)
        if grant_type != "authorization_code" or match is None:
            return {"errcode": 40029, "errmsg": "invalid code"}
        name = match.group(1)
        session_key = base64.b64encode(hashlib.sha256(f"sk:{appid}:{name}".encode()).digest()[:16]).decode()
        return {
            "openid": openid_for(appid, name),
            "session_key": session_key,
            "unionid": "u" + _stable(appid, name, "unionid", 27),
        }

    @app.post("/cgi-bin/message/subscribe/send")
    async def send_subscribe_message(request: Request) -> dict[str, Any]:
        error = token_error(request)
        if error:
            return error
        body = await request.json()
        if not body.get("touser") or not body.get("template_id"):
            return {"errcode": 47003, "errmsg": "argument invalid"}
        if body["touser"] in app.state.exhausted_subscriptions:
            return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
        app.state.sent_messages.append(body)
        return {"errcode": 0, "errmsg": "ok"}

    @app.post("/wxa/business/getuserphonenumber")
    async def phone_number(request: Request) -> dict[str, Any]:
        error = token_error(request)
        if error:
            return error
        match = _PHONE.match((await request.json()).get("code", ""))
        if match is None:
            return {"errcode": 40029, "errmsg": "invalid code"}
        phone = match.group(1)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86"},
        }

    return app


def expire_tokens(app: FastAPI) -> int:
    """End every access token the fake has issued, as their two hours running out would."""
    expired = len(app.state.tokens)
    app.state.expired_tokens |= app.state.tokens
    app.state.tokens = set()
    app.state.stable_token = None
    return expired
