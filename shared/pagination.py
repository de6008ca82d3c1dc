"""Opaque list cursors: `?limit=&cursor=` in, `next_cursor` out.

A cursor is a position in one of a list's orderings (a `Keyset`): the sort key of the last row a page
held, its id last. The next page is what sorts after that key, so rows that arrive or leave meanwhile
never shift a page (an offset would: a newest-first list would repeat rows as cases arrive), and the
database reads it from the ordering's index instead of counting past every earlier row.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import ColumnElement, Select, literal, tuple_

from shared.errors import Problem

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
CursorParam = Annotated[str | None, Query(max_length=300, description="next_cursor of the previous page")]

Row = TypeVar("Row")


class InvalidCursor(Problem):
    status, code, title = 422, "invalid_cursor", "Invalid cursor"


@dataclass(frozen=True)
class SortKey:
    """One part of an ordering: the SQL expression, how to read it off a loaded row, its Python type."""

    expression: Any
    read: Callable[[Any], Any]
    python_type: type


def key(column: Any) -> SortKey:
    """A sort key on a mapped column (`Complaint.submitted_at`): read from the row by its attribute name."""
    name, type_ = column.key, column.type
    python_type = getattr(type_, "impl", type_).python_type  # a TypeDecorator says `object`; its impl knows
    return SortKey(column, lambda row: getattr(row, name), python_type)


@dataclass(frozen=True)
class Keyset:
    """An ordering a list offers, named in its cursors. The last key must be unique (the id); keys hold no
    NULLs (a NULL compares as nothing). All keys run one way, so `(a, b, id) > (...)` is one range of the
    index on (a, b, id)."""

    name: str
    keys: tuple[SortKey, ...]
    descending: bool = False

    def order_by(self) -> list[Any]:
        return [k.expression.desc() if self.descending else k.expression.asc() for k in self.keys]

    def after(self, cursor: str | None) -> ColumnElement[bool] | None:
        """The rows that come after the cursor's position; None for the first page."""
        if not cursor:
            return None
        values = self._decode(cursor)
        row = tuple_(*(k.expression for k in self.keys))
        bound = tuple_(*(literal(v, k.expression.type) for k, v in zip(self.keys, values, strict=True)))
        return row < bound if self.descending else row > bound

    def page(self, query: Select[Any], cursor: str | None, limit: int) -> Select[Any]:
        """The query for one page, and one row more: `next_cursor` is given only when that row exists."""
        after = self.after(cursor)
        if after is not None:
            query = query.where(after)
        return query.order_by(*self.order_by()).limit(limit + 1)

    def next_cursor(self, rows: Sequence[Row], limit: int) -> str | None:
        """The cursor after the last row of the page, when `rows` (limit + 1 asked) holds more."""
        if len(rows) <= limit:
            return None
        return self.encode(rows[limit - 1])

    def encode(self, row: Any) -> str:
        values = [_plain(k.read(row)) for k in self.keys]
        raw = json.dumps([self.name, values], separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _decode(self, cursor: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            name, values = json.loads(raw)
            if name != self.name or not isinstance(values, list) or len(values) != len(self.keys):
                raise ValueError(raw)
            return [_typed(v, k.python_type) for k, v in zip(self.keys, values, strict=True)]
        except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
            raise InvalidCursor("The cursor is not one this list gave out for this ordering.") from exc


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"a sort key of type {type(value).__name__} cannot go into a cursor")


def _typed(value: Any, python_type: type) -> Any:
    if python_type is datetime:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
        if at is None or at.tzinfo is None:
            raise ValueError(value)
        return at
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is bool:
        if not isinstance(value, bool):
            raise ValueError(value)
        return value
    if python_type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(value)
        return value
    if python_type is not object and not isinstance(value, python_type):
        raise ValueError(value)
    return value
