"""The pages the gateway serves itself: the officials' console (`/console/`), the public figures
(`/public/`), the page a scanned assured consumption code opens (`/c/<code>` -> `/code/#<code>`), the
tourists' progress page (`/p/#<token>`, services/gateway/progress.py) and
what they use (`/assets/`: the stylesheet, the SVG charts). Static files, no build
step and nothing fetched from elsewhere: they call the same public API as every other client, so
they can do nothing the API would not let their user do."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB = Path(__file__).resolve().parent / "web"

# Scripts and styles from the gateway only; no frames; no referrer leaves with a complaint id in it.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                                "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
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


def install_pages(app: FastAPI) -> None:
    for name in ("console", "public", "code", "p", "assets"):
        app.mount(f"/{name}", Pages(directory=WEB / name, html=True), name=name)

    async def home() -> Any:
        return RedirectResponse("/console/")

    app.add_api_route("/", home, include_in_schema=False)

    async def scanned(code: str) -> Any:
        """What a QR image encodes: the code's page, which reads the public profile from the API."""
        return RedirectResponse(f"/code/#{quote(code, safe='')}", headers=SECURITY_HEADERS)

    app.add_api_route("/c/{code}", scanned, include_in_schema=False)
