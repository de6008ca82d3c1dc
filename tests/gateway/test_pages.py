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
    for path, kind in (
        ("/console/", "text/html"),
        ("/console/console.js", "javascript"),
        ("/assets/site.css", "text/css"),
        ("/public/", "text/html"),
        ("/code/", "text/html"),
        ("/code/code.js", "javascript"),
    ):
        response = await gateway.get(path)
        assert response.status_code == 200 and kind in response.headers["content-type"], path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
    assert (await gateway.get("/")).headers["location"] == "/console/"
    assert (await gateway.get("/console/nothing.js")).status_code == 404
    assert "/console/" not in (await gateway.get("/openapi.json")).json()["paths"]


async def test_the_print_version_and_the_poster_are_console_pages_under_the_same_policy(stack: Stack) -> None:
    gateway = stack.clients["gateway"]
    for path in (
        "/console/print.html",
        "/console/poster.html",
        "/console/print.js",
        "/console/poster.js",
        "/console/printable.js",
        "/assets/print.css",
        "/assets/lang.js",
    ):
        response = await gateway.get(path)
        assert response.status_code == 200, path
        assert "style-src 'self';" in response.headers["content-security-policy"], path
        assert "unsafe-inline" not in response.headers["content-security-policy"], path


async def test_the_docs_load_swagger_ui_from_the_gateway_under_a_policy_that_lets_only_its_own_script_run(
    stack: Stack,
) -> None:
    import base64
    import hashlib

    gateway = stack.clients["gateway"]
    response = await gateway.get("/docs")
    assert response.status_code == 200
    html = response.text
    assert not ADDRESS.findall(html), "the docs page refers to another host"
    assert '"validatorUrl": null' in html
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "default-src 'self'" in policy
    for script in re.findall(r"<script>(.*?)</script>", html, re.S):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    for asset, kind in (
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ):
        assert f"/docs/assets/{asset}" in html
        served = await gateway.get(f"/docs/assets/{asset}")
        assert served.status_code == 200 and kind in served.headers["content-type"], asset
    # Only what the page loads: not the package's sample page (which points at a demo API elsewhere).
    assert (await gateway.get("/docs/assets/index.html")).status_code == 404
    assert (await gateway.get("/docs/assets/swagger-initializer.js")).status_code == 404
