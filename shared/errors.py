"""One exception base and one error format: RFC 9457 problem+json with a stable `code`.

Raise a `Problem` subclass (or `Problem(...)` directly) anywhere; `install_error_handlers` renders
it, FastAPI's validation errors and any unexpected exception in the same shape. Its `title` and `detail`
speak the request's language (shared/i18n.py: Chinese unless `Accept-Language` prefers English); its
`code` is the same in both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.i18n import HTTP_CODES, Language, current_language, field_error, language_from_headers, words
from shared.logging import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://errors.assured-tour.example/"
log = logging.getLogger("shared.errors")
_F = TypeVar("_F", bound=Callable[..., Any])


class FieldError(BaseModel):
    field: str = Field(examples=["body.amount_fen"])
    message: str = Field(examples=["Input should be greater than or equal to 0"])


# Said on every answer (shared.app's request middleware adds it); a 500 is sent from outside that
# middleware (Starlette's ServerErrorMiddleware), so its handler says it itself.
NOSNIFF_HEADERS = {"X-Content-Type-Options": "nosniff"}


class ProblemDetail(BaseModel):
    """The body of every error response (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[TYPE_BASE + "invalid_transition"])
    title: str = Field(examples=["Invalid transition"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["A complaint in state closed cannot be responded to."])
    code: str = Field(examples=["invalid_transition"])
    request_id: str | None = Field(default=None, examples=["req_01JD3V0W8Q6M4Y2C1B9T7X5N3K"])
    errors: list[FieldError] | None = None


class Problem(Exception):
    """A user-facing error with an HTTP status and a stable machine-readable code."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        message: str | None = None,
        params: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        """`detail` is the English sentence; the Chinese is the catalogue's (shared/i18n.py) for `message`
        (a variant of the code, "validation_failed.reason") or the code, filled from `params` and `extra`."""
        self.status = status or type(self).status
        self.code = code or type(self).code
        self.title = title or type(self).title
        self.detail = detail or self.title
        self.headers = headers or {}
        self.message = message
        self.params = params or {}
        self.extra = extra
        super().__init__(self.detail)

    def body(self, language: Language | None = None) -> dict[str, Any]:
        return problem_body(
            self.status,
            self.code,
            self.title,
            self.detail,
            language=language,
            message=self.message,
            params=self.params,
            **self.extra,
        )


class NotFound(Problem):
    status, code, title = 404, "not_found", "Not found"


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(Problem):
    status, code, title = 403, "forbidden", "Not allowed"


class Conflict(Problem):
    status, code, title = 409, "conflict", "Conflict"


class InvalidTransition(Problem):
    status, code, title = 409, "invalid_transition", "Invalid transition"


class ValidationFailed(Problem):
    """A field that passed the schema but not a rule (a date in the future, a reason a decision needs)."""

    status, code, title = 422, "validation_failed", "Invalid request"


class TimestampInFuture(Problem):
    status, code, title = 422, "timestamp_in_future", "Timestamp in the future"


# Answers more than one service gives (the gateway gives intake's own, or passes them on): defined here once.
class ComplaintNotFound(NotFound):
    code, title = "complaint_not_found", "Complaint not found"


class CaseNotFound(NotFound):
    """No complaint has this case number and phone (the progress look-up)."""

    code, title = "case_not_found", "Case not found"


class AlreadyEvaluated(Conflict):
    code, title = "already_evaluated", "Already evaluated"


class ActionNotAllowed(Forbidden):
    """The caller's role or part does not allow this step (intake's complaints and returns, compensation's
    claims and recovery orders)."""

    code, title = "action_not_allowed", "Action not allowed"


class MerchantNotFound(NotFound):
    """No such merchant (credit's register; compensation's deposits of the merchants it knows)."""

    code, title = "merchant_not_found", "Merchant not found"


class UnknownRegion(Problem):
    status, code, title = 422, "unknown_region", "Unknown region"


class IdempotencyKeyReused(Problem):
    status, code, title = 409, "idempotency_key_reused", "Idempotency key reused"


class PayloadTooLarge(Problem):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(Problem):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class TooManyRequests(Problem):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(Problem):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class Overloaded(ServiceUnavailable):
    """More work than this replica takes at once (requests in progress, a free database connection): retry."""

    code, title = "overloaded", "Overloaded"


class GatewayTimeout(Problem):
    status, code, title = 504, "upstream_timeout", "Upstream timed out"


# What every service's handlers and its internal-token check answer with.
class MalformedJson(Problem):
    status, code, title = 400, "malformed_json", "Malformed JSON"


class ConcurrentUpdate(Conflict):
    """Optimistic locking: another request changed the same record first."""

    code, title = "concurrent_update", "Concurrent update"


class DatabaseUnavailable(ServiceUnavailable):
    """A lost or refused database connection (a restart, a failover): the client may retry."""

    code, title = "database_unavailable", "Database unavailable"


class InternalTokenMissing(Unauthorized):
    code, title = "internal_token_missing", "Internal token missing"


class InternalTokenInvalid(Unauthorized):
    code, title = "internal_token_invalid", "Internal token invalid"


class InternalTokenExpired(Unauthorized):
    code, title = "internal_token_expired", "Internal token expired"


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    language: Language | None = None,
    message: str | None = None,
    params: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A problem's body in `language` (by default the request's): `title` and `detail` are the English."""
    title, detail = words(
        code, title=title, detail=detail, language=language, key=message, values={**extra, **(params or {})}
    )
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": current_request_id(),
    }
    body.update(extra)
    return body


def problem_response(problem: Problem, language: Language | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(language),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**problem.headers, "Content-Language": _content_language(language)},
    )


def _content_language(language: Language | None) -> str:
    return "en" if (language or current_language()) == "en" else "zh-CN"


def _problem_json(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None, *, language: Language | None = None
) -> JSONResponse:
    """A body problem_body made (in `language`) as the response, saying its language."""
    headers = {**(headers or {}), "Content-Language": _content_language(language)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def raises(*problems: type[Problem]) -> Callable[[_F], _F]:
    """Mark a dependency with the problems it raises: every operation that depends on it, however deep,
    documents them (`document_problems`), so a role check declares its 403 once, not at each route."""

    def mark(dependency: _F) -> _F:
        dependency.__problems__ = problems  # type: ignore[attr-defined]
        return dependency

    return mark


def problems_raised_by(route: Any) -> list[type[Problem]]:
    """The problems the dependencies of a FastAPI `APIRoute` declare with `raises`."""
    found: list[type[Problem]] = []
    dependant = getattr(route, "dependant", None)
    pending = list(dependant.dependencies) if dependant is not None else []
    while pending:
        dependant = pending.pop()
        found.extend(p for p in getattr(dependant.call, "__problems__", ()) if p not in found)
        pending.extend(dependant.dependencies)
    return found


def problem_responses(*problems: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an endpoint: documents each problem it may answer with in the OpenAPI schema."""
    by_status: dict[int, list[type[Problem]]] = {}
    for problem in problems:
        by_status.setdefault(problem.status, []).append(problem)
    out: dict[int | str, dict[str, Any]] = {}
    for status, group in sorted(by_status.items()):
        examples = {p.code: {"value": problem_body(p.status, p.code, p.title, p.title, language="en")} for p in group}
        out[status] = {
            "model": ProblemDetail,
            "description": ", ".join(p.code for p in group),
            "content": {PROBLEM_MEDIA_TYPE: {"examples": examples}},
        }
    return out


# What FastAPI documents for a request it refuses, and what this format sends instead.
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetail"}
_JSON_BODY_EXAMPLE = {
    MalformedJson.code: {
        "value": problem_body(
            MalformedJson.status,
            MalformedJson.code,
            MalformedJson.title,
            "The request body is not valid JSON.",
            language="en",
        )
    }
}
_FORM_BODY_EXAMPLE = {
    "malformed_body": {
        "value": problem_body(400, "malformed_body", "Malformed body", "Invalid multipart data.", language="en")
    }
}
_VALIDATION_EXAMPLE = {
    "validation_failed": {
        "value": problem_body(
            422,
            "validation_failed",
            "Invalid request",
            "Invalid fields: body.amount_fen",
            language="en",
            errors=[{"field": "body.amount_fen", "message": "Input should be greater than or equal to 0"}],
        )
    }
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document made to say what `install_error_handlers` sends: every problem response as
    `application/problem+json` with the `ProblemDetail` schema, the 422 of a refused request as
    `validation_failed` (not FastAPI's `HTTPValidationError`, which is never sent), and the 400 of a body
    that cannot be parsed (`malformed_json`, `malformed_body` for a form) on every operation that takes one.
    Changes `schema` in place and returns it."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        components.pop(name, None)
    definitions = ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(definitions.pop("$defs", {}))
    components["ProblemDetail"] = definitions
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                content = response.get("content", {})
                if status == "422" and _is_fastapi_validation(content):
                    response["description"] = "validation_failed"
                    response["content"] = {
                        PROBLEM_MEDIA_TYPE: {"schema": dict(_PROBLEM_REF), "examples": dict(_VALIDATION_EXAMPLE)}
                    }
                elif PROBLEM_MEDIA_TYPE in content:
                    if content.get("application/json", {}).get("schema") == _PROBLEM_REF:
                        del content["application/json"]
                    content[PROBLEM_MEDIA_TYPE]["schema"] = dict(_PROBLEM_REF)
                    if status == "422":  # the business rule's refusal, and the request's
                        _add_example(responses, "422", "validation_failed", _VALIDATION_EXAMPLE)
            body_types = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body_types:
                _add_example(responses, "400", MalformedJson.code, _JSON_BODY_EXAMPLE)
            if any(t.startswith(("multipart/", "application/x-www-form-urlencoded")) for t in body_types):
                _add_example(responses, "400", "malformed_body", _FORM_BODY_EXAMPLE)
    return schema


def add_problem_responses(responses: dict[str, Any], *problems: type[Problem]) -> None:
    """Document more problems in an operation's (JSON) `responses`, beside those it already names."""
    for problem in problems:
        value = problem_body(problem.status, problem.code, problem.title, problem.title, language="en")
        example = {problem.code: {"value": value}}
        _add_example(responses, str(problem.status), problem.code, example)


def _is_fastapi_validation(content: dict[str, Any]) -> bool:
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] in _FASTAPI_VALIDATION


def _add_example(responses: dict[str, Any], status: str, code: str, example: dict[str, Any]) -> None:
    """One more problem an operation may answer with, beside those it already documents at `status`."""
    response = responses.setdefault(status, {"description": code, "content": {}})
    if code not in response["description"].split(", "):
        response["description"] = f"{response['description']}, {code}" if response.get("content") else code
    media = response.setdefault("content", {}).setdefault(PROBLEM_MEDIA_TYPE, {"schema": dict(_PROBLEM_REF)})
    media.setdefault("schema", dict(_PROBLEM_REF))
    media.setdefault("examples", {}).update(example)


def _database_unavailable() -> DatabaseUnavailable:
    return DatabaseUnavailable("The database is not reachable right now; retry shortly.", headers={"Retry-After": "1"})


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def install_error_handlers(app: FastAPI) -> None:
    # Each handler answers in the request's own language (the request-id middleware also sets it for the
    # problems that pure-ASGI middleware sends, shared/app.py).
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, language_from_headers(request.headers))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        language = language_from_headers(request.headers)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem_response(MalformedJson("The request body is not valid JSON."), language)
        errors = [
            {"field": _field_name(tuple(e.get("loc", ()))), "message": field_error(e, language)} for e in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        body = problem_body(
            422,
            "validation_failed",
            "Invalid request",
            f"Invalid fields: {fields}",
            language=language,
            params={"fields": fields},
            errors=errors,
        )
        return _problem_json(body, 422, language=language)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own 400 is a body it could not parse (a broken multipart form).
        language = language_from_headers(request.headers)
        code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        title = str(exc.detail) if exc.detail else "Error"
        body = problem_body(exc.status_code, code, title, title, language=language)
        return _problem_json(body, exc.status_code, getattr(exc, "headers", None), language=language)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return problem_response(ConcurrentUpdate("Someone else changed this at the same moment; reload and retry."))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error turned into 409: %s", exc.orig)
        return problem_response(Conflict("This conflicts with a record that already exists."))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        # A lost or refused database connection (a restart, a failover) is a 503 the client may retry;
        # the pool drops the dead connection, so the next request gets a fresh one. Anything else the
        # driver raises is a bug, and a 500.
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            log.warning("database unavailable: %s", exc.orig)
            return problem_response(_database_unavailable())
        return await _unexpected(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _busy(request: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("no database connection free: %s", exc)
        return problem_response(Overloaded("The service is overloaded; retry shortly.", headers={"Retry-After": "1"}))

    @app.exception_handler(OSError)
    async def _unreachable(request: Request, exc: OSError) -> JSONResponse:
        # asyncpg raises the socket's own error when the server refuses or drops a new connection.
        if isinstance(exc, ConnectionError | TimeoutError):
            log.warning("database connection failed: %s", exc)
            return problem_response(_database_unavailable())
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        language = language_from_headers(request.headers)
        body = problem_body(500, "internal_error", "Internal error", "An unexpected error occurred.", language=language)
        return _problem_json(body, 500, NOSNIFF_HEADERS, language=language)
