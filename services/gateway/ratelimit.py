"""Rate limits per identity and per IP: token buckets in this process's memory.

Each replica limits on its own, so N replicas allow up to N times the rate; for a hard global
limit put the limit in the ingress as well.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from shared.errors import TooManyRequests


class RateLimiter:
    def __init__(self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.monotonic = monotonic
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def hit(self, key: str) -> None:
        """Take one token for `key`; raise a 429 problem with Retry-After when there is none."""
        if self.capacity <= 0:
            return
        now = self.monotonic()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            retry_after = max(1, math.ceil((1.0 - tokens) / self.rate))
            self._buckets[key] = (tokens, now)
            raise TooManyRequests(f"Too many requests; try again in {retry_after} s.",
                                  headers={"Retry-After": str(retry_after)}, retry_after=retry_after)
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_keys:
            self._prune(now)

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, last) in self._buckets.items()
                if tokens + (now - last) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
