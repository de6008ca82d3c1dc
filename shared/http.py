"""The one internal HTTP client: timeouts, bounded retries, request-id, trace and identity propagation.

One long-lived `ServiceClient` per downstream service, opened and closed in the caller's lifespan.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token
from shared.contracts.identity import Identity
from shared.errors import GatewayTimeout, ServiceUnavailable
from shared.logging import current_request_id
from shared.tracing import inject

REQUEST_ID_HEADER = "X-Request-ID"
log = logging.getLogger("shared.http")

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
POOLS = 8  # connection pools per downstream service (see ServiceClient.__init__)


class ServiceClient:
    """Calls one downstream service, signing the caller's identity into each request."""

    def __init__(
        self,
        name: str,
        base_url: str,
        secret: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.name = name
        self.tracer = tracer  # None: tracing off, no span and no traceparent
        self.secret = secret
        self.retries = retries
        # httpcore's pool looks at every connection it holds on each request and each response (a socket
        # readability check apiece): with 50 kept-alive connections in one pool that was a quarter of the
        # gateway's CPU under load. Several small pools, taken in turn, keep each look short. Each keeps up to
        # 16 connections alive (it holds no more than it once needed at the same time): with 6, those past the
        # sixth were closed after their request and opened again for the next, 4 % of the gateway's CPU at
        # concurrency 32.
        pools = 1 if transport is not None else POOLS
        self._clients = [
            httpx.AsyncClient(
                base_url=base_url,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
                limits=httpx.Limits(max_connections=200 // pools, max_keepalive_connections=128 // pools),
                transport=transport,
            )
            for _ in range(pools)
        ]
        self._turns = itertools.cycle(self._clients)

    @property
    def _client(self) -> httpx.AsyncClient:
        return next(self._turns)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def _headers(self, identity: Identity | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        if identity is not None:
            headers[INTERNAL_TOKEN_HEADER] = issue_internal_token(identity, self.secret)
        if self.tracer is not None:
            inject(headers)
        return headers

    def _span(self, method: str, path: str) -> Any:
        """A client span, current while the call runs (a raised error is recorded on it)."""
        assert self.tracer is not None
        return self.tracer.start_as_current_span(
            f"{method} {self.name}", kind=SpanKind.CLIENT,
            attributes={"http.request.method": method, "url.path": path, "server.address": self.name,
                        "peer.service": self.name},
        )

    @staticmethod
    def _answered(span: trace.Span, response: httpx.Response) -> httpx.Response:
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 500:
            span.set_status(Status(StatusCode.ERROR))
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        identity: Identity | None = None,
        headers: dict[str, str] | None = None,
        retry: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; retries connection failures (and timeouts of idempotent calls) with backoff.

        Raises `ServiceUnavailable` (503) when the service cannot be reached and `GatewayTimeout` (504)
        when it does not answer in time, so callers never hang and never turn that into a 500.
        """
        method = method.upper()
        if self.tracer is None:
            return await self._request(method, path, identity, headers, retry, kwargs)
        with self._span(method, path) as span:
            return self._answered(span, await self._request(method, path, identity, headers, retry, kwargs))

    async def _request(self, method: str, path: str, identity: Identity | None, headers: dict[str, str] | None,
                       retry: bool | None, kwargs: dict[str, Any]) -> httpx.Response:
        may_retry_timeout = retry if retry is not None else method in _IDEMPOTENT
        attempt = 0
        while True:
            try:
                return await self._client.request(
                    method, path, headers=self._headers(identity, headers), **kwargs
                )
            except httpx.ConnectError as exc:
                # Nothing reached the service: always safe to try again.
                if attempt >= self.retries:
                    raise ServiceUnavailable(
                        f"The {self.name} service cannot be reached.", code="service_unavailable"
                    ) from exc
            except httpx.TimeoutException as exc:
                if not may_retry_timeout or attempt >= self.retries:
                    raise GatewayTimeout(f"The {self.name} service did not answer in time.") from exc
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise ServiceUnavailable(f"The {self.name} service failed to answer.") from exc
            attempt += 1
            delay = 0.05 * (2 ** (attempt - 1))
            log.warning("retrying %s %s on %s (attempt %d)", method, path, self.name, attempt + 1)
            await asyncio.sleep(delay)

    async def send_stream(self, request: httpx.Request) -> httpx.Response:
        """Forward a prepared request (the gateway's proxy); no retries, the body may be a stream."""
        if self.tracer is None:
            return await self._send(request)
        with self._span(request.method, request.url.path) as span:
            inject(request.headers)  # built before this span existed: the traceparent names this span
            return self._answered(span, await self._send(request))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._client.send(request)
        except httpx.ConnectError as exc:
            raise ServiceUnavailable(f"The {self.name} service cannot be reached.") from exc
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(f"The {self.name} service did not answer in time.") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"The {self.name} service failed to answer.") from exc

    def build_request(self, method: str, path: str, *, identity: Identity | None, **kwargs: Any) -> httpx.Request:
        headers = kwargs.pop("headers", None)
        return self._client.build_request(method, path, headers=self._headers(identity, headers), **kwargs)
