"""One OpenAPI document for the whole public API: the gateway's own operations and every public path of
the services behind it, with the security each operation asks for and the answers the gateway itself
may give in front of a service."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.gateway.auth import InvalidToken
from services.gateway.partners import HEADERS as PARTNER_HEADERS
from services.gateway.routes import ROUTES, anonymous, route_for
from shared.errors import (
    GatewayTimeout,
    NotFound,
    PayloadTooLarge,
    Problem,
    ServiceUnavailable,
    TooManyRequests,
    add_problem_responses,
)

log = logging.getLogger("gateway.openapi")
_OPENAPI_TTL = 60.0
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# Named security schemes: people send a bearer access token; partners and government channel centres
# sign each request with four headers (services/gateway/partners.py), which together are one scheme.
_PARTNER_SCHEMES = {f"partner{h.removeprefix('X-Partner-')}": h for h in PARTNER_HEADERS}
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access token of `POST /v1/auth/.../login` (tourists, staff).",
    },
    **{
        name: {
            "type": "apiKey",
            "in": "header",
            "name": header,
            "description": "Partner request signing, HMAC-SHA256 over the request (tools/partner_sign.py): "
            "all four headers together.",
        }
        for name, header in _PARTNER_SCHEMES.items()
    },
}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
PARTNER: list[dict[str, list[str]]] = [{name: [] for name in _PARTNER_SCHEMES}]
# Served to anyone; a bearer token, when one is sent, is checked and its identity used.
ANONYMOUS: list[dict[str, list[str]]] = [{}, {"bearer": []}]
NO_TOKEN: list[dict[str, list[str]]] = []  # logging in, and the probes
# Partner operations that intake answers (services/gateway/partner_routes.py), and the operation that does;
# each government channel's work order (`POST /callbacks/{channel}`) is answered as a submission too.
FORWARDED = {
    ("post", "/partner/v1/complaints"): ("post", "/v1/complaints"),
    ("get", "/partner/v1/complaints/{complaint_id}"): ("get", "/v1/complaints/{complaint_id}"),
}


async def merged_openapi(request: Request) -> JSONResponse:
    """The gateway's schema with every public path of the services behind it."""
    state = request.app.state
    cached = getattr(state, "openapi_cache", None)
    if cached and time.monotonic() - cached[0] < _OPENAPI_TTL:
        return JSONResponse(cached[1])
    schema = copy.deepcopy(request.app.openapi())
    services = sorted({service for _, service in ROUTES})
    results = await asyncio.gather(
        *(state.clients[s].request("GET", "/openapi.json") for s in services), return_exceptions=True
    )
    complete = True
    for service, result in zip(services, results, strict=True):
        if isinstance(result, BaseException) or result.status_code != 200:
            complete = False
            log.warning("OpenAPI of %s unavailable: %s", service, result)
            continue
        _merge(schema, result.json(), service)
    secure(schema)
    _forwarded(schema)
    if complete:
        state.openapi_cache = (time.monotonic(), schema)
    return JSONResponse(schema)


def _merge(schema: dict[str, Any], downstream: dict[str, Any], service: str) -> None:
    for path, item in downstream.get("paths", {}).items():
        if route_for(path) == service:
            for method, operation in item.items():
                if isinstance(operation, dict) and method in _METHODS:
                    operation.setdefault("tags", []).append(f"service:{service}")
                    _proxied(method, path, operation)
            schema.setdefault("paths", {})[path] = item
    components = schema.setdefault("components", {})
    for kind, entries in downstream.get("components", {}).items():
        components.setdefault(kind, {}).update(entries)


def _proxied(method: str, path: str, operation: dict[str, Any]) -> None:
    """What the gateway may answer in front of the service: a missing or bad token (anonymous operations
    too, when a token is sent), the rate limit, the upload limit, the service down or slow."""
    responses = operation.setdefault("responses", {})
    add_problem_responses(responses, InvalidToken, TooManyRequests, ServiceUnavailable, GatewayTimeout)
    if "requestBody" in operation:
        add_problem_responses(responses, PayloadTooLarge)
    if "{" in path:  # a value that names nothing (404), or that cannot be forwarded (a control character: 400)
        add_problem_responses(responses, NotFound, Problem)
    operation["security"] = ANONYMOUS if anonymous(method.upper(), path) else BEARER


def secure(schema: dict[str, Any]) -> None:
    """The security schemes, and each operation's own: partner-signed, anonymous, a login, or a bearer."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schema["security"] = BEARER
    signed = {h.lower() for h in PARTNER_HEADERS}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in _METHODS or "security" in operation:
                continue
            parameters = operation.get("parameters", [])
            if any(p.get("in") == "header" and p.get("name", "").lower() in signed for p in parameters):
                # The signature headers are the scheme, not parameters a client fills in one by one.
                operation["parameters"] = [
                    p for p in parameters if not (p.get("in") == "header" and p["name"].lower() in signed)
                ]
                operation["security"] = PARTNER
            elif path.startswith("/v1/auth/") and path.endswith(("/login", "/refresh")) or path.startswith("/health/"):
                operation["security"] = NO_TOKEN
            else:
                operation["security"] = BEARER
                # Every request with a token is checked (401) and counted against its identity (429).
                add_problem_responses(operation.setdefault("responses", {}), InvalidToken, TooManyRequests)


def _forwarded(schema: dict[str, Any]) -> None:
    """A partner's request is answered by intake: the partner operation may answer what intake's does
    (services/gateway/partner_routes.py forwards them), and what the gateway does when intake is down."""
    paths = schema.get("paths", {})
    for path, item in paths.items():
        for method, operation in item.items():
            target = FORWARDED.get((method, path)) or (
                ("post", "/v1/complaints") if method == "post" and path.startswith("/callbacks/") else None
            )
            if not isinstance(operation, dict) or target is None:
                continue
            responses = operation.setdefault("responses", {})
            add_problem_responses(responses, ServiceUnavailable, GatewayTimeout)
            upstream = paths.get(target[1], {}).get(target[0], {}).get("responses", {})
            for status, answer in upstream.items():
                if status.startswith("4") and status != "401":  # intake's 401 is the gateway's token, not theirs
                    _merge_response(responses, status, answer)


def _merge_response(responses: dict[str, Any], status: str, answer: dict[str, Any]) -> None:
    mine = responses.get(status)
    if mine is None:
        responses[status] = copy.deepcopy(answer)
        return
    for media, content in answer.get("content", {}).items():
        into = mine.setdefault("content", {}).setdefault(media, {})
        into.setdefault("schema", content.get("schema"))
        into.setdefault("examples", {}).update(copy.deepcopy(content.get("examples", {})))
    codes = mine.get("description", "").split(", ") + answer.get("description", "").split(", ")
    mine["description"] = ", ".join(dict.fromkeys(c for c in codes if c))


def install_openapi(app: FastAPI) -> None:
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != app.openapi_url]
    app.add_api_route(app.openapi_url, merged_openapi, include_in_schema=False)
