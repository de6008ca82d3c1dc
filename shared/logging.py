"""JSON logs with the request id (and, when tracing, the trace and span ids) on every line, and personal data
masked before it is written."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from shared.tracing import current_ids

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Mainland mobile numbers and 18-digit resident ID numbers, as they appear in free text.
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


def mask_phone(phone: str | None) -> str | None:
    """138****1234: the form every response but the owner's and every log line carries."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def mask_name(name: str | None) -> str | None:
    """王*: a person's name as every response but the owner's carries it (the surname only)."""
    if not name:
        return name
    name = name.strip()
    return name[0] + "*" * max(1, len(name) - 1) if len(name) > 1 else "*"


def mask_text(text: str) -> str:
    """Mask every phone and ID number that appears in free text."""
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "********" + m.group(3)[-4:], text)
    return _PHONE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


# What every LogRecord has; anything else on a record is an `extra` a caller passed, and is written too.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_NOT_WRITTEN = frozenset({"color_message"})  # uvicorn's copy of the message with terminal colours


def _masked(value: Any) -> Any:
    """`value` with every phone and ID number in its text masked, however deep in lists and mappings."""
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {mask_text(str(k)): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(v) for v in value]
    return mask_text(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Every field is masked (`mask_text`), not only the message: the access
    log's path, a client-supplied request id, each `extra`, the exception and stack text."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        ids = current_ids()  # the span current where the line was logged: a request's, or a job pass's
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        for key, value in vars(record).items():
            if (
                value is not None
                and key not in _RECORD_ATTRIBUTES
                and key not in _NOT_WRITTEN
                and not key.startswith("_")
                and key not in entry
            ):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps({key: _masked(value) for key, value in entry.items()}, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log line to stderr as one JSON object; uvicorn's loggers included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The access log repeats what the request middleware logs, without the request id.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
