"""The pages the gateway serves itself: the officials' console (`/console/`; the complaint channels' names
and labels at `/console/channels.js`, from their modules), the public figures (`/public/`), the page a
scanned assured consumption code opens (`/c/<code>` -> `/code/#<code>`), the tourists' progress page
(`/p/#<token>`, services/gateway/progress.py), what they use (`/assets/`: the stylesheet, the SVG charts)
and the API docs (`/docs`, Swagger UI served from `/docs/assets/`; `/redoc`, ReDoc from `/redoc/assets/`).
Static files, no build step and nothing fetched from elsewhere: they call the same public API as every
other client, so they can do nothing the API would not let their user do."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from swagger_ui_bundle import swagger_ui_path

from shared import channels

REDOC_DIR = Path(str(files("fastapi_standalone_docs") / "static" / "redoc"))

WEB = Path(__file__).resolve().parent / "web"

# Scripts and styles from the gateway only; no frames; no referrer leaves with a complaint id in it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class Pages(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        if path.endswith((".html", ".js", ".css")) or path in ("", "."):
            response.headers["Cache-Control"] = "no-cache"  # revalidate: a new release shows at once
        return response


class SwaggerAssets(StaticFiles):
    """Swagger UI's own files from the pinned swagger-ui-bundle package: only the three the docs page loads."""

    FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in self.FILES:
            return Response("Not Found", status_code=404, media_type="text/plain")
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def docs_page(app: FastAPI) -> HTMLResponse:
    """Swagger UI with every asset from the gateway (a CDN is out of reach for many users in China), no
    validator badge (it loads an image from elsewhere), and a policy that lets only its own inline
    start-up script run, by hash."""
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} · 接口文档",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
        oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
        swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
    )
    body = bytes(page.body)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in re.findall(rb"<script>(.*?)</script>", body, re.S)
    )
    # Swagger UI styles its widgets through the DOM (CSSOM), which a policy does not restrict.
    policy = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        f"script-src 'self' {hashes}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return HTMLResponse(
        body, headers={**SECURITY_HEADERS, "Content-Security-Policy": policy, "Cache-Control": "no-cache"}
    )


class RedocAssets(StaticFiles):
    """ReDoc's standalone build from the pinned fastapi-standalone-docs package: the one file the page loads."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path != "redoc.standalone.js":
            return Response("Not Found", status_code=404, media_type="text/plain")
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def redoc_page(app: FastAPI) -> HTMLResponse:
    """ReDoc, every asset from the gateway and no web fonts from elsewhere. ReDoc styles itself with <style>
    elements it writes (styled-components) and searches in a worker it makes from a blob: the policy lets
    those, and no script but its own file."""
    page = get_redoc_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} · 接口文档",
        redoc_js_url="/redoc/assets/redoc.standalone.js",
        redoc_favicon_url="/docs/assets/favicon-32x32.png",
        with_google_fonts=False,
    )
    policy = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return HTMLResponse(
        bytes(page.body), headers={**SECURITY_HEADERS, "Content-Security-Policy": policy, "Cache-Control": "no-cache"}
    )


def install_docs(app: FastAPI) -> None:
    """Replace FastAPI's /docs and /redoc (which load Swagger UI and ReDoc from a CDN) by the same pages with
    local assets."""
    if not app.docs_url:
        return
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != app.docs_url]
    page = docs_page(app)

    async def docs() -> Any:
        return page

    app.add_api_route(app.docs_url, docs, include_in_schema=False)
    app.mount("/docs/assets", SwaggerAssets(directory=Path(str(swagger_ui_path))), name="docs-assets")
    if app.redoc_url:
        app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != app.redoc_url]
        reference = redoc_page(app)

        async def redoc() -> Any:
            return reference

        app.add_api_route(app.redoc_url, redoc, include_in_schema=False)
        app.mount("/redoc/assets", RedocAssets(directory=REDOC_DIR), name="redoc-assets")


def channels_script() -> str:
    """The complaint channels the console offers and their labels, as their modules declare them (and the
    modules this gateway loaded: GATEWAY_GOVERNMENT_CHANNELS)."""
    known = channels.all_channels()

    def labels(lang: str) -> str:
        return json.dumps({f"channel.{c.name}": getattr(c, f"label_{lang}") for c in known}, ensure_ascii=False)

    return (
        "// The complaint channels, from their modules (shared/channels/): served by the gateway.\n"
        '"use strict";\n'
        f"Object.assign(window.I18N.zh, {labels('zh')});\n"
        f"Object.assign(window.I18N.en, {labels('en')});\n"
        f"window.CHANNEL_NAMES = {json.dumps([c.name for c in known])};\n"
    )


def install_pages(app: FastAPI) -> None:
    async def channels_js() -> Any:
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        return Response(channels_script(), media_type="text/javascript; charset=utf-8", headers=headers)

    app.add_api_route("/console/channels.js", channels_js, include_in_schema=False)  # before the static mount
    for name in ("console", "public", "code", "p", "assets"):
        app.mount(f"/{name}", Pages(directory=WEB / name, html=True), name=name)

    async def home() -> Any:
        return RedirectResponse("/console/")

    app.add_api_route("/", home, include_in_schema=False)

    async def scanned(code: str) -> Any:
        """What a QR image encodes: the code's page, which reads the public profile from the API."""
        return RedirectResponse(f"/code/#{quote(code, safe='')}", headers=SECURITY_HEADERS)

    app.add_api_route("/c/{code}", scanned, include_in_schema=False)
    install_docs(app)
