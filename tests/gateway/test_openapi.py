"""The merged OpenAPI document says what the API sends: problem+json errors (never FastAPI's
`HTTPValidationError`), named security schemes, and for each operation who may call it."""

from __future__ import annotations

import json
from typing import Any

from services.gateway.routes import anonymous
from shared.errors import PROBLEM_MEDIA_TYPE
from tests.support import Stack

METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM = {"$ref": "#/components/schemas/ProblemDetail"}


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in schema["paths"].items() for m, op in item.items() if m in METHODS]


async def test_every_refused_request_is_documented_as_the_problem_it_is(stack: Stack) -> None:
    schema = (await stack.gateway.get("/openapi.json")).json()
    assert "HTTPValidationError" not in json.dumps(schema) and "ValidationError" not in schema["components"]["schemas"]
    refusing = 0
    for method, path, op in operations(schema):
        for status, response in op["responses"].items():
            if status[0] in "45" and not path.startswith("/health/"):  # not ready: a Health body
                assert set(response["content"]) == {PROBLEM_MEDIA_TYPE}, (method, path, status, response["content"])
                assert response["content"][PROBLEM_MEDIA_TYPE]["schema"] == PROBLEM, (method, path, status)
        if op.get("parameters") or "requestBody" in op:
            refusing += 1
            assert "422" in op["responses"], (method, path)
            assert "validation_failed" in op["responses"]["422"]["description"], (method, path)
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            assert "malformed_json" in op["responses"]["400"]["description"], (method, path)
    assert refusing >= 76  # the operations that documented HTTPValidationError before
    problem = schema["components"]["schemas"]["ProblemDetail"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])


async def test_each_operation_names_who_may_call_it(stack: Stack) -> None:
    schema = (await stack.gateway.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    signed = {s["name"] for s in schemes.values() if s["type"] == "apiKey"}
    assert signed == {"X-Partner-Key", "X-Partner-Timestamp", "X-Partner-Nonce", "X-Partner-Signature"}
    assert schema["security"] == [{"bearer": []}]
    seen = set()
    for method, path, op in operations(schema):
        security = op["security"]
        if path.startswith(("/partner/", "/callbacks/")):
            kind = "partner"
            assert security == [{name: [] for name, s in schemes.items() if s["type"] == "apiKey"}], (method, path)
            assert not any(p["in"] == "header" and p["name"] in signed for p in op.get("parameters", [])), path
        elif anonymous(method.upper(), path):
            kind = "anonymous"
            assert {} in security, (method, path)
        elif path.endswith(("/login", "/refresh")) or path.startswith("/health/"):
            kind = "no token"
            assert security == [], (method, path)
        else:
            kind = "bearer"
            assert security == [{"bearer": []}], (method, path)
            assert {"401", "429"} <= set(op["responses"]), (method, path)
        seen.add(kind)
    assert seen == {"partner", "anonymous", "no token", "bearer"}
    for path in ("/v1/regions", "/v1/codes/{code}", "/v1/lists/{list_name}"):
        assert {} in schema["paths"][path]["get"]["security"], path
    assert "403" in schema["paths"]["/v1/ledger/check"]["get"]["responses"], "a role check's 403, from its dependency"
