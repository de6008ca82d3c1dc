"""Rate limits per identity and per IP (token buckets in this process's memory), and a cap on the
requests a replica has in progress.

Each replica limits on its own, so N replicas allow up to N times the rate; for a hard global
limit put the limit in the ingress as well.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from shared.errors import ServiceUnavailable, TooManyRequests, problem_response


class RateLimiter:
    def __init__(
        self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
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
            raise TooManyRequests(
                f"Too many requests; try again in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
                retry_after=retry_after,
            )
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_keys:
            self._prune(now)

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, last) in self._buckets.items() if tokens + (now - last) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]


class InFlightLimit:
    """At most `limit` requests in progress in this replica: past it a request is answered 503 `overloaded`
    (Retry-After: 1) at once, rather than queued behind the others until it times out, so that an overload
    costs refusals, not the replica's memory and everyone's latency. Health probes, metrics and the other
    services' event deliveries (`/internal/`: each producer sends one batch at a time, and a refusal would
    only delay webhooks and tourists' messages) are never refused. 0: no limit. Pure ASGI, inside the
    request-id middleware: a refusal is logged and counted."""

    EXEMPT = ("/health/", "/metrics", "/internal/")

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope.get("path", "").startswith(self.EXEMPT):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            refusal = ServiceUnavailable(
                f"The gateway has {self.limit} requests in progress; retry shortly.",
                code="overloaded",
                headers={"Retry-After": "1"},
            )
            await problem_response(refusal)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
