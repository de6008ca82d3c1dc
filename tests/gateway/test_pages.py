"""The console and the public page: served by the gateway itself, nothing fetched from elsewhere."""

from __future__ import annotations

import re

from services.gateway.pages import WEB
from tests.support import Stack

# The only address in the pages is SVG's namespace name, which is never fetched.
ADDRESS = re.compile(r"(?:https?:)?//(?!www\.w3\.org/2000/svg)[\w.-]+\.[a-z]{2,}", re.IGNORECASE)


def test_the_pages_load_nothing_from_elsewhere() -> None:
    files = [p for p in WEB.rglob("*") if p.suffix in (".html", ".js", ".css")]
    assert {p.parent.name for p in files} == {"console", "public", "code", "p", "assets"}
    for path in files:
        found = ADDRESS.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.name} refers to {found}"


async def test_the_gateway_serves_the_console_and_public_page_with_a_strict_policy(stack: Stack) -> None:
    gateway = stack.clients["gateway"]
    for path, kind in (("/console/", "text/html"), ("/console/console.js", "javascript"),
                       ("/assets/site.css", "text/css"), ("/public/", "text/html"), ("/code/", "text/html"),
                       ("/code/code.js", "javascript")):
        response = await gateway.get(path)
        assert response.status_code == 200 and kind in response.headers["content-type"], path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
    assert (await gateway.get("/")).headers["location"] == "/console/"
    assert (await gateway.get("/console/nothing.js")).status_code == 404
    assert "/console/" not in (await gateway.get("/openapi.json")).json()["paths"]
