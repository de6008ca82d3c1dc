"""One OpenAPI document for the whole public API: the gateway's own operations and every public path of
the services behind it, with the security each operation asks for and the answers the gateway itself
may give in front of a service. For readers and generated clients: one described tag per operation, a
short operation id, an example on every request body, and Chinese summaries where tourists' front ends
(the mini-programs, the public pages) call."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.gateway.errors import InvalidToken
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


async def merged_openapi(request: Request) -> Response:
    """The gateway's schema with every public path of the services behind it. The answer's bytes are what is
    kept: the document is some 750 KB, and encoding it again for every reader took seconds on a busy machine."""
    state = request.app.state
    cached = getattr(state, "openapi_cache", None)
    if cached and time.monotonic() - cached[0] < _OPENAPI_TTL:
        return Response(cached[1], media_type="application/json")
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
    for_readers(schema)
    answer = JSONResponse(schema)
    if complete:
        state.openapi_cache = (time.monotonic(), answer.body)
    return answer


def _merge(schema: dict[str, Any], downstream: dict[str, Any], service: str) -> None:
    for path, item in downstream.get("paths", {}).items():
        if route_for(path) == service:
            for method, operation in item.items():
                if isinstance(operation, dict) and method in _METHODS:
                    operation["x-service"] = service  # who answers; the tag says what it is about
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
    if app.openapi_url is None:
        return  # no document to merge into
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != app.openapi_url]
    app.add_api_route(app.openapi_url, merged_openapi, include_in_schema=False)


# --- for readers and generated clients ------------------------------------------------------------------
# One tag per operation (the docs show each once), in this order, each described; an operation that its
# router and its route both tag keeps the route's own, the more specific.
TAGS: dict[str, str] = {
    "auth": "登录与会话 · Logins (mini-programs, staff) and sessions: access and refresh tokens.",
    "complaints": "投诉 · Complaints: filing, the queue, evidence, the timeline and every lifecycle action.",
    "progress": "办理进度 · The tourist's progress page: a signed link, or the case number and phone.",
    "returns": "无理由退货 · 30-day no-reason returns and their supervision.",
    "imports": "导入 · Importing a channel's work orders (a 12345 export).",
    "notices": "舆情通报 · Public-opinion notices from a command centre: linking them to cases and replying.",
    "catalogues": "目录与报表 · Regions, industries, the officials' reports and the open figures.",
    "compensation": "先行赔付 · Advance compensation: funds, deposits, rules, claims, payouts, recoveries.",
    "merchants": "商户 · Merchants settling in, their review and profile.",
    "practitioners": "从业人员 · Tour guides and drivers.",
    "codes": "放心消费码 · The assured consumption code: its image, public profile, ratings, suspension.",
    "credit": "信用档案 · The credit archive: records, scores, grades and external scores.",
    "lists": "红黑名单 · The red, key-supervision and dishonest lists, notices and decisions.",
    "repair": "信用修复 · Credit repair applications and decisions.",
    "benefits": "信易游 · Benefits for tourists with good credit.",
    "partners": "合作方管理 · Partners' keys and webhooks, for administrators.",
    "partner API": "合作方接口 · The signed API partners push complaints through.",
    "government channels": "政务渠道 · Work orders from the 12345, 12301 and 12315 centres.",
    "health": "健康检查 · Liveness and readiness probes.",
}

# Summaries in Chinese where the mini-programs and the public pages call (the English stays the description).
SUMMARIES_ZH: dict[tuple[str, str], str] = {
    ("post", "/v1/auth/wechat/login"): "微信小程序登录",
    ("post", "/v1/auth/alipay/login"): "支付宝小程序登录",
    ("post", "/v1/auth/douyin/login"): "抖音小程序登录",
    ("post", "/v1/auth/kuaishou/login"): "快手小程序登录",
    ("post", "/v1/auth/refresh"): "刷新登录凭证",
    ("post", "/v1/auth/logout"): "退出登录",
    ("get", "/v1/me"): "当前用户",
    ("post", "/v1/complaints"): "提交投诉",
    ("get", "/v1/complaints"): "我的投诉（工作人员：投诉队列）",
    ("get", "/v1/complaints/{complaint_id}"): "投诉详情",
    ("get", "/v1/complaints/{complaint_id}/timeline"): "办理过程",
    ("get", "/v1/complaints/{complaint_id}/progress"): "办理进度",
    ("post", "/v1/complaints/{complaint_id}/evidence"): "上传证据",
    ("get", "/v1/complaints/{complaint_id}/evidence"): "证据列表",
    ("get", "/v1/complaints/{complaint_id}/evidence/{file_id}"): "下载证据",
    ("post", "/v1/complaints/{complaint_id}/acceptances"): "接受商家答复",
    ("post", "/v1/complaints/{complaint_id}/rejections"): "不接受商家答复，申请调解",
    ("post", "/v1/complaints/{complaint_id}/escalations"): "超时后申请督办",
    ("post", "/v1/complaints/{complaint_id}/withdrawals"): "撤回投诉",
    ("post", "/v1/complaints/{complaint_id}/evaluations"): "评价办理情况",
    ("post", "/v1/complaints/{complaint_id}/compensation-requests"): "申请先行赔付",
    ("post", "/v1/complaints/{complaint_id}/progress-links"): "生成进度查询链接",
    ("post", "/v1/returns"): "申请无理由退货",
    ("get", "/v1/returns"): "我的退货申请",
    ("get", "/v1/returns/{return_id}"): "退货申请详情",
    ("post", "/v1/returns/{return_id}/escalations"): "退货申请督办",
    ("post", "/v1/returns/{return_id}/withdrawals"): "撤回退货申请",
    ("post", "/v1/progress/lookups"): "按案件编号和电话查询进度",
    ("get", "/v1/progress"): "查看办理进度",
    ("post", "/v1/progress/acceptances"): "接受商家答复（进度页）",
    ("post", "/v1/progress/rejections"): "不接受商家答复（进度页）",
    ("post", "/v1/progress/evaluations"): "评价办理情况（进度页）",
    ("get", "/v1/regions"): "地区目录",
    ("get", "/v1/regions/{region_code}"): "地区及其继承的设置",
    ("get", "/v1/industries"): "行业目录",
    ("get", "/v1/public/figures"): "公开统计数据",
    ("get", "/v1/codes/{code}"): "扫放心消费码：商户公开信息",
    ("post", "/v1/codes/{code}/ratings"): "评价商户",
    ("get", "/v1/lists/{list_name}"): "公开名单",
    ("get", "/v1/benefits"): "信易游权益",
    ("get", "/v1/benefits/signing-key"): "权益凭证验签公钥",
    ("get", "/v1/benefits/jwks.json"): "权益凭证验签公钥（JWKS）",
    ("get", "/v1/benefits/eligibility"): "查询权益资格",
    ("post", "/v1/benefits/redemptions"): "使用权益",
}


def for_readers(schema: dict[str, Any]) -> None:
    """One described tag per operation, short unique operation ids, an example on every request body and the
    Chinese summaries. Changes `schema` in place."""
    operations = [
        (method, path, operation)
        for path, item in schema.get("paths", {}).items()
        for method, operation in item.items()
        if method in _METHODS and isinstance(operation, dict)
    ]
    for method, path, operation in operations:
        tags = operation.get("tags") or ["other"]
        described = [t for t in tags if t in TAGS]
        operation["tags"] = [described[-1] if described else tags[-1]]
        if (method, path) in SUMMARIES_ZH:
            operation["summary"] = SUMMARIES_ZH[(method, path)]
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            if "example" not in content and "examples" not in content:
                content["example"] = example_of(content.get("schema", {}), schema, media)
    used = {operation["tags"][0] for _, _, operation in operations}
    # A tag with no description is listed last, as itself: the OpenAPI tests ask that every one be described.
    schema["tags"] = [{"name": name, "description": text} for name, text in TAGS.items() if name in used] + [
        {"name": name} for name in sorted(used - set(TAGS))
    ]
    _operation_ids(operations)


def _operation_ids(operations: list[tuple[str, str, dict[str, Any]]]) -> None:
    """The handler's name (FastAPI's id without its path and method), prefixed with the tag where two
    operations share a name: `submit_complaint`, `progress_accept_response`, `complaints_accept_response`."""
    names = {}
    for method, path, operation in operations:
        suffix = re.sub(r"\W", "_", path) + "_" + method
        current = operation.get("operationId") or suffix
        names[id(operation)] = current.removesuffix(suffix) or current
    counts = Counter(names.values())
    taken: set[str] = set()
    for _, _, operation in operations:
        name = names[id(operation)]
        if counts[name] > 1:
            name = re.sub(r"\W", "_", operation["tags"][0]) + "_" + name
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        taken.add(unique)
        operation["operationId"] = unique


_SAMPLES = {"date-time": "2026-11-20T12:00:00Z", "date": "2026-11-20", "binary": "receipt.jpg", "email": "a@b.cn"}


def example_of(node: dict[str, Any], schema: dict[str, Any], media: str = "application/json", depth: int = 0) -> Any:
    """An example value for a JSON schema node: its own example, its model's first example, or one built from
    its properties (their examples, defaults, first enum value, or a value of their type)."""
    if depth > 6:
        return None
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return example_of(schema.get("components", {}).get("schemas", {}).get(name, {}), schema, media, depth + 1)
    for key in ("example", "default", "const"):
        if key in node and node[key] is not None:
            return node[key]
    if node.get("examples"):
        examples = node["examples"]
        return examples[0] if isinstance(examples, list) else next(iter(examples.values())).get("value")
    if node.get("enum"):
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        choices = [c for c in node.get(key, []) if c.get("type") != "null"]
        if choices:
            return example_of(choices[0], schema, media, depth + 1)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        required = set(node.get("required", []))
        return {
            name: example_of(prop, schema, media, depth + 1)
            for name, prop in properties.items()
            if name in required or "examples" in prop or "example" in prop or "$ref" in prop
        }
    if kind == "array":
        return [example_of(node.get("items", {}), schema, media, depth + 1)]
    if kind == "integer":
        return max(0, node.get("minimum", 0))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return _SAMPLES.get(node.get("format", ""), "…")
