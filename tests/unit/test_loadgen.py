"""The benchmarks' load generator against real loopback servers: answers counted, errors by status, and
several replicas' ports shared the way a Service shares connections over pods."""

from __future__ import annotations

import asyncio
from collections import Counter

from bench.loadgen import closed_loop, open_loop


class Server:
    """A minimal HTTP/1.1 keep-alive server: every request answered with `status` and an empty body."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests = 0
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line[15:]) for line in head.split(b"\r\n") if line[:15].lower() == b"content-length:"), 0
                )
                await reader.readexactly(length)
                self.requests += 1
                writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def pick(rng):  # noqa: ANN001, ANN201 - a loadgen Pick
    return ("POST", "/v1/complaints", {"Content-Type": "application/json"}, b'{"n": %d}' % rng.randrange(10))


async def test_closed_loop_spreads_its_clients_over_the_replicas() -> None:
    async with Server() as a, Server() as b:
        result = await closed_loop([a.port, b.port], pick, 0.3, 4)
    assert result.errors == 0
    assert len(result.latencies_ms) == a.requests + b.requests
    assert a.connections == b.connections == 2  # clients 0 and 2 on one replica, 1 and 3 on the other
    assert a.requests > 0 and b.requests > 0


async def test_open_loop_sends_in_turn_and_counts_errors_by_status() -> None:
    async with Server() as a, Server(status=503) as b:
        result = await open_loop([a.port, b.port], pick, 0.5, 100)
    assert len(result.latencies_ms) == 50
    assert a.requests == b.requests == 25
    assert result.failed == Counter({503: 25})
    assert result.failures == "503 x25"


async def test_one_port_as_before() -> None:
    async with Server() as a:
        result = await closed_loop(a.port, pick, 0.2, 2)
    assert result.errors == 0 and a.requests == len(result.latencies_ms) > 0


def test_machine_cpu_counts_the_machine_s_own_work_only() -> None:
    import os

    from bench.loadgen import machine_cpu_seconds

    hz = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal guest guest_nice
    line = "cpu  1000 20 300 90000 400 5 6 700 80 9"
    assert machine_cpu_seconds(line) == (1000 + 20 + 300 + 5 + 6) / hz
    assert machine_cpu_seconds("cpu  1 0 0 0 0 0 0") == 1 / hz  # older kernels: no steal or guest fields
    assert machine_cpu_seconds() > 0  # this machine's own
