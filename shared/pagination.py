"""Opaque list cursors: `?limit=&cursor=` in, `next_cursor` out."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import Query

from shared.errors import Problem

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
CursorParam = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]


class InvalidCursor(Problem):
    status, code, title = 422, "invalid_cursor", "Invalid cursor"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; 0 for none."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        offset = int(value)
        if kind != "o" or offset < 0:
            raise ValueError(raw)
        return offset
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("The cursor is not one this API gave out.") from exc
