"""Local Douyin and Kuaishou login APIs, each checking the app's credentials like the real one.

A login code `demo-<name>` maps to an id that is stable for that name and app; any other code is
refused with the provider's own error (Douyin 40018, Kuaishou 100200100).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI, Form, Request

from shared.testing.fakes.faults import install_faults

_DEMO = re.compile(r"^demo-([A-Za-z0-9_-]{1,64})$")


def _stable(salt: str, appid: str, name: str) -> str:
    digest = hashlib.sha256(f"{salt}:{appid}:{name}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:28]


def create_douyin_fake(appid: str, secret: str) -> FastAPI:
    app = FastAPI(title="Douyin (local fake)", openapi_url=None)
    install_faults(app)

    @app.post("/api/apps/v2/jscode2session")
    async def code2session(request: Request) -> dict[str, Any]:
        body = await request.json()
        if body.get("appid") != appid:
            return {"err_no": 40015, "err_tips": "bad appid", "data": None}
        if body.get("secret") != secret:
            return {"err_no": 40017, "err_tips": "bad secret", "data": None}
        match = _DEMO.match(str(body.get("code") or ""))
        if match is None:
            return {"err_no": 40018, "err_tips": "bad code", "data": None}
        name = match.group(1)
        return {
            "err_no": 0,
            "err_tips": "success",
            "log_id": "fake",
            "data": {
                "openid": "dy_" + _stable("openid", appid, name),
                "unionid": "dyu_" + _stable("u", "", name),
                "session_key": _stable("session", appid, name),
                "anonymous_openid": "",
            },
        }

    return app


def create_kuaishou_fake(appid: str, secret: str) -> FastAPI:
    app = FastAPI(title="Kuaishou (local fake)", openapi_url=None)
    install_faults(app)

    @app.post("/oauth2/mp/code2session")
    async def code2session(
        app_id: str = Form(""), app_secret: str = Form(""), js_code: str = Form("")
    ) -> dict[str, Any]:
        if app_id != appid or app_secret != secret:
            return {"result": 100200101, "error_msg": "invalid app_id or app_secret"}
        match = _DEMO.match(js_code)
        if match is None:
            return {"result": 100200100, "error_msg": "invalid js_code"}
        name = match.group(1)
        return {
            "result": 1,
            "open_id": "ks_" + _stable("openid", appid, name),
            "session_key": _stable("session", appid, name),
        }

    return app


def create_mini_fakes(douyin: tuple[str, str], kuaishou: tuple[str, str]) -> FastAPI:
    """Both on one server for `make run`: Douyin under /douyin, Kuaishou under /kuaishou."""
    app = FastAPI(title="Douyin and Kuaishou (local fakes)", openapi_url=None)
    app.mount("/douyin", create_douyin_fake(*douyin))
    app.mount("/kuaishou", create_kuaishou_fake(*kuaishou))
    return app
