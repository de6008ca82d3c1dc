"""The one internal HTTP client: timeouts, bounded retries, request-id, trace and identity propagation.

One long-lived `ServiceClient` per downstream service, opened and closed in the caller's lifespan. Callers
see httpx's requests and responses; the wire underneath is aiohttp's connection pool (`AiohttpTransport`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import aiohttp
import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token
from shared.background import backoff
from shared.contracts.identity import Identity
from shared.errors import GatewayTimeout, ServiceUnavailable
from shared.i18n import current_language
from shared.logging import current_request_id
from shared.tracing import inject

REQUEST_ID_HEADER = "X-Request-ID"
log = logging.getLogger("shared.http")

RETRY_FIRST, RETRY_CAP = timedelta(milliseconds=50), timedelta(seconds=1)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Far under the services' own idle timeout (`keep_alive_seconds`, 75 s), so a server never closes a connection
# just as it is reused, even when a loaded event loop is late by seconds.
KEEPALIVE_SECONDS = 4.0


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface on aiohttp's connection pool, for the calls between our services.

    A call through httpx's client and its own transport (httpcore on anyio: stream and lock wrappers, a pool
    that looks at every connection it holds on each request) cost 1.35 ms of CPU on the benchmark machine,
    a third of the gateway's CPU under load; through this transport 0.45 ms. Responses are read whole
    (internal answers are JSON or an export); failures are raised as httpx's exceptions.
    """

    def __init__(self, *, timeout: float, connect_timeout: float, max_connections: int = 200) -> None:
        # sock_read: each read of the answer; connect: waiting for a pooled connection plus opening one.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=connect_timeout, sock_read=timeout
        )
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None  # made on first use, inside the running loop
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=KEEPALIVE_SECONDS)
        # No cookies kept between calls made for different users. No Accept-Encoding: our services answer
        # uncompressed; were one to compress, httpx decodes the body once (aiohttp leaves it as it came).
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding", "User-Agent"),
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:  # a call still running at shutdown must not open a pool nobody closes
            raise httpx.ConnectError("the client is closed", request=request)
        session = self._session or self._open()
        headers = request.headers.multi_items()
        try:
            body: Any = request.content or None
        except httpx.RequestNotRead:  # the gateway forwarding an upload as it arrives: aiohttp frames it
            body = request.stream
            headers = [(k, v) for k, v in headers if k != "transfer-encoding"]
        try:
            async with session.request(
                request.method, str(request.url), headers=headers, data=body, allow_redirects=False
            ) as answer:
                content = await answer.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
        except aiohttp.ClientConnectorError as exc:  # nothing was sent
            raise httpx.ConnectError(str(exc), request=request) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except aiohttp.ClientError as exc:  # the connection dropped, or the answer was not HTTP
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(answer.status, headers=answer.raw_headers, content=content, request=request)

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


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
        self.base_url = base_url.rstrip("/")
        # Requests go straight to the transport: no cookies, redirects or auth flows to run (httpx's client
        # layer cost as much again as aiohttp's whole request). Tests pass an in-process one (ASGITransport).
        self._transport = transport or AiohttpTransport(timeout=timeout, connect_timeout=min(timeout, 2.0))

    async def aclose(self) -> None:
        await self._transport.aclose()

    def _headers(self, identity: Identity | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        if not any(name.lower() == "accept-language" for name in headers):
            # The caller's language goes along: a problem the service answers with is the caller's to read.
            headers["Accept-Language"] = "en" if current_language() == "en" else "zh-CN"
        if identity is not None:
            headers[INTERNAL_TOKEN_HEADER] = issue_internal_token(identity, self.secret)
        if self.tracer is not None:
            inject(headers)
        return headers

    def _span(self, method: str, path: str) -> Any:
        """A client span, current while the call runs (a raised error is recorded on it)."""
        assert self.tracer is not None
        return self.tracer.start_as_current_span(
            f"{method} {self.name}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": method,
                "url.path": path,
                "server.address": self.name,
                "peer.service": self.name,
            },
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

    async def _request(
        self,
        method: str,
        path: str,
        identity: Identity | None,
        headers: dict[str, str] | None,
        retry: bool | None,
        kwargs: dict[str, Any],
    ) -> httpx.Response:
        # A call that may have reached the service (it timed out, or the connection dropped before the answer)
        # is sent again only when that is harmless: an idempotent method, or the caller says so.
        may_resend = retry if retry is not None else method in _IDEMPOTENT
        attempt = 0
        while True:
            try:
                return await self._send(self.build_request(method, path, identity=identity, headers=headers, **kwargs))
            except httpx.ConnectError as exc:
                # Nothing reached the service: always safe to try again.
                if attempt >= self.retries:
                    raise ServiceUnavailable(f"The {self.name} service cannot be reached.") from exc
            except httpx.TimeoutException as exc:
                if not may_resend or attempt >= self.retries:
                    raise GatewayTimeout(f"The {self.name} service did not answer in time.") from exc
            except httpx.TransportError as exc:
                if not may_resend or attempt >= self.retries:
                    raise ServiceUnavailable(f"The {self.name} service failed to answer.") from exc
            attempt += 1
            delay = backoff(attempt, first=RETRY_FIRST, cap=RETRY_CAP).total_seconds()
            log.warning("retrying %s %s on %s (attempt %d)", method, path, self.name, attempt + 1)
            await asyncio.sleep(delay)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        await response.aread()
        return response

    async def send_stream(self, request: httpx.Request) -> httpx.Response:
        """Forward a prepared request (the gateway's proxy); no retries, the body may be a stream."""
        if self.tracer is None:
            return await self._forward(request)
        with self._span(request.method, request.url.path) as span:
            inject(request.headers)  # built before this span existed: the traceparent names this span
            return self._answered(span, await self._forward(request))

    async def _forward(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._send(request)
        except httpx.ConnectError as exc:
            raise ServiceUnavailable(f"The {self.name} service cannot be reached.") from exc
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(f"The {self.name} service did not answer in time.") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"The {self.name} service failed to answer.") from exc

    def build_request(
        self, method: str, path: str, *, identity: Identity | None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Request:
        """`path` may carry its query string, as the gateway forwards it."""
        return httpx.Request(method, self.base_url + path, headers=self._headers(identity, headers), **kwargs)
