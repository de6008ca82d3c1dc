"""The one clock. Services take a `Clock` so deadlines and reports are testable without sleeps."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from shared.errors import Problem

# Storage is UTC; days, reports and the providers' local timestamps are Asia/Shanghai.
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_text(at: datetime) -> str:
    """An instant as a person in China reads it: Asia/Shanghai, '2026年11月20日 10:00'."""
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


class DateOutOfRange(Problem):
    status, code, title = 422, "date_out_of_range", "Date out of range"


def local_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants that bound Asia/Shanghai days `first`..`last`, both included; a day at the very
    end of the calendar (0001-01-01, 9999-12-31), which has no such instants, is a 422."""
    try:
        start = datetime.combine(first, time(0), SHANGHAI).astimezone(UTC)
        return start, datetime.combine(last + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
    except OverflowError as exc:
        raise DateOutOfRange(f"No report or bill can cover {first} to {last}.", field="date") from exc


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, benchmarks, replays of history)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant.astimezone(UTC)


system_clock = SystemClock()
