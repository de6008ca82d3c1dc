"""The internal client on a real loopback server: what arrives, what comes back, and how failures surface."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.auth import INTERNAL_TOKEN_HEADER, verify_internal_token
from shared.contracts.identity import Identity, Role
from shared.errors import GatewayTimeout, ServiceUnavailable
from shared.http import REQUEST_ID_HEADER, ServiceClient
from shared.logging import reset_request_id, set_request_id
from shared.testing.fakes.server import ServerThread, free_port

SECRET = "internal-test-secret-0123456789abcdef"
ALICE = Identity(subject="con_01JD3V0W8Q6M4Y2C1B9T7X5N3K", role=Role.consumer)


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with what it received: method, path, query, headers, body and how the body was framed."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    answer = json.dumps(
        {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "headers": headers,
            "body": body.decode(),
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"content-type", b"application/json"),
                (b"location", b"/v1/complaints/cmp_1"),
                (b"set-cookie", b"seen=" + scope["path"].encode() + b"; Path=/"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def server() -> Any:
    with ServerThread(echo) as running:
        yield running


async def test_a_call_carries_the_identity_request_id_query_and_body_and_returns_the_answer(server: Any) -> None:
    client = ServiceClient("intake", server.url, SECRET)
    token = set_request_id("req_http_test")
    try:
        response = await client.request(
            "POST",
            "/v1/complaints?limit=5&q=%E6%B5%B7",
            identity=ALICE,
            json={"description": "导游强制购物"},
            headers={"Idempotency-Key": "k1"},
        )
    finally:
        reset_request_id(token)
        await client.aclose()
    assert response.status_code == 201 and response.headers["location"] == "/v1/complaints/cmp_1"
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/v1/complaints", "limit=5&q=%E6%B5%B7")
    assert json.loads(seen["body"]) == {"description": "导游强制购物"}
    assert seen["headers"]["idempotency-key"] == "k1"
    assert seen["headers"][REQUEST_ID_HEADER.lower()] == "req_http_test"
    assert verify_internal_token(seen["headers"][INTERNAL_TOKEN_HEADER.lower()], SECRET).subject == ALICE.subject
    assert "accept-encoding" not in seen["headers"]  # answers come back uncompressed


@pytest.mark.parametrize("length_known", [True, False])
async def test_a_forwarded_upload_streams_through_whole(server: Any, length_known: bool) -> None:
    chunks = [b"a" * 70_000, "海南放心游".encode(), b"z" * 10]

    async def upload() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    headers = {"content-type": "application/octet-stream"}
    if length_known:
        headers["content-length"] = str(sum(map(len, chunks)))
    client = ServiceClient("intake", server.url, SECRET)
    try:
        response = await client.send_stream(
            client.build_request("POST", "/v1/evidence", identity=ALICE, headers=headers, content=upload())
        )
    finally:
        await client.aclose()
    seen = response.json()
    assert seen["body"].encode() == b"".join(chunks)
    assert ("content-length" in seen["headers"]) is length_known
    assert ("transfer-encoding" in seen["headers"]) is not length_known


async def test_a_service_nobody_listens_on_is_503_after_the_retries() -> None:
    client = ServiceClient("credit", f"http://127.0.0.1:{free_port()}", SECRET, retries=1)
    try:
        with pytest.raises(ServiceUnavailable) as raised:
            await client.request("POST", "/internal/event-batches", json={})
    finally:
        await client.aclose()
    assert raised.value.code == "service_unavailable"


@contextlib.asynccontextmanager
async def raw_server(handle: Any) -> AsyncIterator[str]:
    """A TCP server that reads the request and then does what `handle` does with the connection."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await handle(writer)

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listening.close()


async def test_a_service_that_does_not_answer_in_time_is_504_and_a_post_is_not_sent_twice() -> None:
    calls = 0

    async def silent(writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(2)
        writer.close()

    async with raw_server(silent) as url:
        client = ServiceClient("intake", url, SECRET, timeout=0.3, retries=2)
        try:
            with pytest.raises(GatewayTimeout):
                await client.request("POST", "/v1/complaints", json={})
        finally:
            await client.aclose()
    assert calls == 1


@pytest.mark.parametrize(("method", "sent"), [("GET", 3), ("POST", 1)])
async def test_a_connection_dropped_before_the_answer_is_503_and_only_an_idempotent_call_is_sent_again(
    method: str, sent: int
) -> None:
    calls = 0

    async def hang_up(writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        await writer.drain()
        writer.close()

    async with raw_server(hang_up) as url:
        client = ServiceClient("intake", url, SECRET, retries=2)
        try:
            with pytest.raises(ServiceUnavailable) as raised:
                await client.request(method, "/v1/complaints/cmp_1")
        finally:
            await client.aclose()
    assert "failed to answer" in raised.value.detail
    assert calls == sent  # the service may have acted on the POST: it is not sent twice


async def test_no_cookie_travels_from_one_call_to_the_next(server: Any) -> None:
    """Calls are made for different users: what one answer sets must not ride along with the next."""
    client = ServiceClient("intake", server.url.replace("127.0.0.1", "localhost"), SECRET)
    try:
        first = await client.request("GET", "/v1/complaints/cmp_1", identity=ALICE)
        again = await client.request("GET", "/v1/complaints/cmp_2", identity=ALICE)
    finally:
        await client.aclose()
    assert first.headers["set-cookie"].startswith("seen=")  # answers keep their headers
    assert "cookie" not in again.json()["headers"]


async def test_a_closed_client_opens_nothing_again() -> None:
    client = ServiceClient("credit", f"http://127.0.0.1:{free_port()}", SECRET, retries=0)
    await client.aclose()
    with pytest.raises(ServiceUnavailable):
        await client.request("GET", "/health/live")
