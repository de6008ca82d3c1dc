"""Every field of every log line is masked: the access log's path, extras, exception text, not only the message."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from shared.logging import JsonFormatter
from tests.support import Stack

PHONE, MASKED = "13812341234", "138****1234"
ID_NUMBER, ID_MASKED = "460100199001011234", "460100********1234"


class JsonLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(JsonFormatter("test"))
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.raw.append(self.format(record))


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[JsonLines]:
    caplog.set_level(logging.INFO)
    handler = JsonLines()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


def format_record(msg: str, *args: Any, exc: BaseException | None = None, **extra: Any) -> tuple[str, dict]:
    record = logging.LogRecord(
        "x.access", logging.INFO, __file__, 1, msg, args, (type(exc), exc, exc.__traceback__) if exc else None
    )
    record.__dict__.update(extra)
    raw = JsonFormatter("gateway").format(record)
    return raw, json.loads(raw)


def test_a_phone_in_the_path_an_extra_or_an_exception_is_masked_everywhere() -> None:
    try:
        raise ValueError(f"no subject for {PHONE}")
    except ValueError as exc:
        raw, line = format_record(
            "GET %s %s",
            f"/v1/codes/{PHONE}",
            404,
            exc=exc,
            path=f"/v1/codes/{PHONE}",
            method="GET",
            status=404,
            contact={"phone": PHONE, "ids": [ID_NUMBER]},
            caller=f"tourist {PHONE}",
        )
    assert PHONE not in raw and ID_NUMBER not in raw
    assert line["message"] == f"GET /v1/codes/{MASKED} 404"
    assert line["path"] == f"/v1/codes/{MASKED}" and line["status"] == 404 and line["method"] == "GET"
    assert line["contact"] == {"phone": MASKED, "ids": [ID_MASKED]} and line["caller"] == f"tourist {MASKED}"
    assert f"no subject for {MASKED}" in line["exception"]


def test_a_phone_in_a_client_supplied_request_id_is_masked() -> None:
    raw, line = format_record("called", request_id=f"req-{PHONE}")
    assert PHONE not in raw and line["request_id"] == f"req-{MASKED}"


async def test_the_access_log_of_a_request_with_a_phone_in_its_path_is_masked(
    stack: Stack, log_lines: JsonLines
) -> None:
    await stack.gateway.get(f"/v1/codes/{PHONE}")
    access = [json.loads(raw) for raw in log_lines.raw if json.loads(raw)["logger"] == "gateway.access"]
    assert access and all(line["path"] == f"/v1/codes/{MASKED}" for line in access)
    assert not [raw for raw in log_lines.raw if PHONE in raw]
