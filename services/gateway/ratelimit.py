"""Rate limits per identity and per IP (token buckets), and a cap on the requests a replica has in progress.

By default each replica keeps its buckets in memory and limits on its own, so N replicas allow up to N times
the rate. With `GATEWAY_REDIS_URL` set the buckets live in Redis, one per key for all replicas, and the limits
hold across them; while Redis cannot be reached a replica falls back to its own buckets (and logs it) rather
than refusing or waving through everything.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from shared.errors import Overloaded, TooManyRequests, problem_response

log = logging.getLogger("gateway.ratelimit")


def _refusal(retry_after: int) -> TooManyRequests:
    return TooManyRequests(
        f"Too many requests; try again in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


class RateLimiter:
    """Token buckets in this process's memory: `per_minute` requests a minute per key, in bursts up to that."""

    def __init__(
        self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.monotonic = monotonic
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    async def hit(self, key: str) -> None:
        """Take one token for `key`; raise a 429 problem with Retry-After when there is none."""
        self.take(key)

    def take(self, key: str) -> None:
        if self.capacity <= 0:
            return
        now = self.monotonic()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise _refusal(max(1, math.ceil((1.0 - tokens) / self.rate)))
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_keys:
            self._prune(now)

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, last) in self._buckets.items() if tokens + (now - last) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]


# One token bucket per key, in one step on the Redis server (its clock, so replicas' clocks need not agree):
# refill since the last take, take one if there is one, keep the bucket as long as it takes to fill up.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens, last = tonumber(bucket[1]) or capacity, tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {taken, tostring(tokens)}
"""


class SharedRateLimiter:
    """The same token buckets in Redis, shared by every replica. `client`: a `redis.asyncio.Redis`."""

    def __init__(self, client: Any, name: str, per_minute: int, *, prefix: str = "gateway:") -> None:
        self.local = RateLimiter(per_minute)  # while Redis is away
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.prefix = f"{prefix}ratelimit:{name}:"
        self._take = client.register_script(_TAKE)
        self._redis_down = False

    async def hit(self, key: str) -> None:
        if self.capacity <= 0:
            return
        try:
            taken, tokens = await self._take(keys=[self.prefix + key], args=[self.capacity, self.rate])
        except Exception as exc:  # the connection, a timeout, a failover: limit here until Redis answers again
            if not self._redis_down:
                log.warning("Redis unreachable for rate limits (%s): this replica limits on its own", exc)
                self._redis_down = True
            self.local.take(key)
            return
        if self._redis_down:
            log.info("Redis is back: rate limits are shared again")
            self._redis_down = False
        if not int(taken):
            raise _refusal(max(1, math.ceil((1.0 - float(tokens)) / self.rate)))


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
            refusal = Overloaded(
                f"The gateway has {self.limit} requests in progress; retry shortly.", headers={"Retry-After": "1"}
            )
            await problem_response(refusal)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
