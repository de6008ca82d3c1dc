"""The merged OpenAPI document says what the API sends: problem+json errors (never FastAPI's
`HTTPValidationError`), named security schemes, and for each operation who may call it."""

from __future__ import annotations

import json
import re
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


# The operations the mini-programs and the public pages call: their summaries are Chinese.
TOURISTS = [
    ("post", "/v1/auth/wechat/login"),
    ("post", "/v1/auth/alipay/login"),
    ("post", "/v1/auth/refresh"),
    ("post", "/v1/complaints"),
    ("get", "/v1/complaints"),
    ("get", "/v1/complaints/{complaint_id}"),
    ("get", "/v1/complaints/{complaint_id}/timeline"),
    ("post", "/v1/complaints/{complaint_id}/evidence"),
    ("post", "/v1/complaints/{complaint_id}/acceptances"),
    ("post", "/v1/complaints/{complaint_id}/rejections"),
    ("post", "/v1/complaints/{complaint_id}/evaluations"),
    ("post", "/v1/complaints/{complaint_id}/withdrawals"),
    ("post", "/v1/complaints/{complaint_id}/compensation-requests"),
    ("post", "/v1/returns"),
    ("post", "/v1/progress/lookups"),
    ("get", "/v1/progress"),
    ("post", "/v1/progress/evaluations"),
    ("get", "/v1/public/figures"),
    ("get", "/v1/codes/{code}"),
    ("post", "/v1/codes/{code}/ratings"),
]


async def test_each_operation_has_one_described_tag_a_short_unique_id_and_an_example_body(stack: Stack) -> None:
    schema = (await stack.gateway.get("/openapi.json")).json()
    described = {t["name"]: t.get("description", "") for t in schema["tags"]}
    assert all(described.values()), [name for name, text in described.items() if not text]
    ids = []
    for method, path, op in operations(schema):
        assert len(op["tags"]) == 1 and op["tags"][0] in described, (method, path, op["tags"])
        ids.append(op["operationId"])
        assert re.fullmatch(r"[a-z][a-z0-9_]{1,39}", op["operationId"]), (method, path, op["operationId"])
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            assert "example" in content or "examples" in content, (method, path, media)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [t["name"] for t in schema["tags"]] == list(dict.fromkeys(t["name"] for t in schema["tags"]))
    # A few that generated clients call by these names.
    by_id = {op["operationId"]: (method, path) for method, path, op in operations(schema)}
    assert by_id["submit_complaint"] == ("post", "/v1/complaints")
    assert by_id["wechat_login"] == ("post", "/v1/auth/wechat/login")
    assert by_id["progress_accept_response"] == ("post", "/v1/progress/acceptances")
    assert by_id["complaints_accept_response"] == ("post", "/v1/complaints/{complaint_id}/acceptances")
    # The example of a complaint is the model's own, whole.
    example = schema["paths"]["/v1/complaints"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert example["region_code"] == "460200" and example["remedy"] == "refund"


async def test_a_filed_complaint_is_documented_with_its_schema(stack: Stack) -> None:
    schema = (await stack.gateway.get("/openapi.json")).json()
    created = schema["paths"]["/v1/complaints"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ComplaintOut"
    assert "ComplaintOut" in schema["components"]["schemas"]


async def test_the_tourists_operations_are_summarised_in_chinese(stack: Stack) -> None:
    schema = (await stack.gateway.get("/openapi.json")).json()
    for method, path in TOURISTS:
        summary = schema["paths"][path][method]["summary"]
        assert re.search(r"[\u4e00-\u9fff]", summary), (method, path, summary)
    for method, path, op in operations(schema):
        if anonymous(method.upper(), path) and not path.startswith("/health/"):
            assert re.search(r"[\u4e00-\u9fff]", op["summary"]), (method, path, op["summary"])


async def test_redoc_is_served_with_its_asset_from_the_gateway(stack: Stack) -> None:
    page = await stack.gateway.get("/redoc")
    assert page.status_code == 200
    assert "https://" not in page.text and "http://" not in page.text.replace("http://www.w3.org", "")
    assert '<script src="/redoc/assets/redoc.standalone.js">' in page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]
    asset = await stack.gateway.get("/redoc/assets/redoc.standalone.js")
    assert asset.status_code == 200 and len(asset.content) > 500_000
    assert (await stack.gateway.get("/redoc/assets/redoc.standalone.js.LICENSE.txt")).status_code == 404


async def test_every_reference_in_the_document_resolves_within_it(stack: Stack) -> None:
    """A schema pasted in with its own `$defs` leaves `#/$defs/...` references that no viewer can follow
    (ReDoc stops with "Invalid reference token: $defs"): every `$ref` points into the document's components."""
    schema = (await stack.gateway.get("/openapi.json")).json()
    refs = re.findall(r'"\$ref":\s*"([^"]+)"', json.dumps(schema))
    assert refs and all(r.startswith("#/components/") for r in refs), sorted({r for r in refs if "components" not in r})
    names = set(schema["components"]["schemas"])
    assert {r.rsplit("/", 1)[1] for r in refs if r.startswith("#/components/schemas/")} <= names
