"""JSON logs with the request id (and, when tracing, the trace and span ids) on every line, and personal data
masked before it is written."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

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


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        ids = current_ids()  # the span current where the line was logged: a request's, or a job pass's
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        for key in ("event_id", "event_type", "complaint_id", "status", "duration_ms", "path", "method"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


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
