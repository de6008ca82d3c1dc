"""Keyset cursors: opaque, tied to their ordering, and refused with 422 invalid_cursor when tampered with."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from services.intake.repository.queue import NEWEST, URGENCY
from shared.pagination import InvalidCursor


def forged(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def test_a_cursor_holds_the_last_rows_sort_key_and_belongs_to_its_ordering() -> None:
    row = SimpleNamespace(queue_rank=0, queue_at=datetime(2026, 11, 20, 2, 33, tzinfo=UTC), id="cmp_01")
    cursor = URGENCY.encode(row)
    assert json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))) == [
        "urgency",
        [0, "2026-11-20T02:33:00+00:00", "cmp_01"],
    ]
    assert URGENCY.after(cursor) is not None
    assert URGENCY.next_cursor([row, row], 1) == cursor and URGENCY.next_cursor([row], 1) is None
    with pytest.raises(InvalidCursor):
        NEWEST.after(cursor)  # another ordering's position means nothing here


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "bzo1MA",  # not base64 JSON; an old offset cursor ("o:50")
        forged("urgency", [0, "2026-11-20T02:33:00", "cmp_01"]),  # a time without its offset
        forged("urgency", ["0", "2026-11-20T02:33:00+00:00", "cmp_01"]),  # a rank that is not a number
        forged("urgency", [True, "2026-11-20T02:33:00+00:00", "cmp_01"]),
        forged("urgency", [0, "2026-11-20T02:33:00+00:00"]),  # a key short
    ],
)
def test_a_cursor_this_api_did_not_give_out_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        URGENCY.after(cursor)
