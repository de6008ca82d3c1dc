"""A lean load generator: HTTP/1.1 keep-alive on raw asyncio streams, closed and open loops, CPU and RSS.

httpx spent a whole core of this 2-core machine to send 600 requests a second, which would have
measured the client; this sends 8,000 a second on a fraction of one. Each benchmark prints the
client's own CPU time beside its figures so that this stays checked.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# What to send: method, path, extra headers, body.
Request = tuple[str, str, dict[str, str], bytes]
Pick = Callable[[random.Random], Request]
# Where to send: one port, or several replicas' ports (connections spread over them in turn, as a
# Kubernetes Service spreads them over pods).
Ports = int | Sequence[int]


def _ports(ports: Ports) -> list[int]:
    return [ports] if isinstance(ports, int) else list(ports)


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        message = head.encode() + b"\r\n" + body
        for attempt in (1, 2):  # the server closes a connection idle past its keep-alive: reconnect once
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            self.writer.write(message)
            try:
                answer = await self.reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        length = 0
        for line in answer.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(answer[9:12])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Result:
    latencies_ms: list[float]
    failed: Counter[int]  # answers that were not 2xx, by status (0: the connection failed)
    seconds: float
    client_cpu: float

    @property
    def errors(self) -> int:
        return sum(self.failed.values())

    @property
    def failures(self) -> str:
        """`503 x12, 504 x3`: what the errors were."""
        return ", ".join(f"{status} x{n:,}" for status, n in sorted(self.failed.items()))

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[98]

    def row(self, label: str, width: int = 50) -> str:
        return (
            f"{label:<{width}}{len(self.latencies_ms):>9,}{self.rate:>8.0f}{self.p50:>9.2f}{self.p99:>9.2f}"
            f"{self.errors:>8}{self.client_cpu:>12.1f}"
        )


HEADER = f"{'':<50}{'requests':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'client CPU':>12}"


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _ok(status: int) -> bool:
    return 200 <= status < 300


async def closed_loop(ports: Ports, pick: Pick, seconds: float, concurrency: int, seed: int = 1) -> Result:
    """`concurrency` clients, each sending its next request when the last answer arrives."""
    targets = _ports(ports)
    latencies: list[float] = []
    failed: Counter[int] = Counter()
    cpu = _cpu()
    start = time.perf_counter()
    deadline = start + seconds

    async def worker(n: int) -> None:
        rng, conn = random.Random(seed * 1000 + n), Connection(targets[n % len(targets)])
        try:
            while time.perf_counter() < deadline:
                request = pick(rng)
                t = time.perf_counter()
                try:
                    status = await conn.send(*request)
                except (OSError, asyncio.IncompleteReadError):
                    status = 0
                latencies.append((time.perf_counter() - t) * 1000)
                if not _ok(status):
                    failed[status] += 1
        finally:
            conn.close()

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return Result(latencies, failed, time.perf_counter() - start, _cpu() - cpu)


async def open_loop(ports: Ports, pick: Pick, seconds: float, rate: float, seed: int = 1) -> Result:
    """Requests at a fixed rate whatever the answers do; latency from the scheduled send time, so
    queueing in the client or the server is not hidden. Idle connections are reused; with several
    ports the requests go to each in turn."""
    targets = _ports(ports)
    latencies: list[float] = []
    failed: Counter[int] = Counter()
    idle: dict[int, list[Connection]] = {port: [] for port in targets}
    rng = random.Random(seed)
    cpu = _cpu()
    start = time.perf_counter()

    async def one(scheduled: float, request: Request, port: int) -> None:
        conn = idle[port].pop() if idle[port] else Connection(port)
        try:
            status = await conn.send(*request)
        except (OSError, asyncio.IncompleteReadError):
            status = 0
            conn.close()
        latencies.append((time.perf_counter() - scheduled) * 1000)
        if not _ok(status):
            failed[status] += 1
        idle[port].append(conn)

    tasks = []
    for i in range(int(seconds * rate)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, pick(rng), targets[i % len(targets)])))
    await asyncio.gather(*tasks)
    for conns in idle.values():
        for conn in conns:
            conn.close()
    return Result(latencies, failed, seconds, _cpu() - cpu)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds(stat: str | None = None) -> float:
    """CPU the whole machine has spent on its own work so far, every core, from /proc/stat's `cpu` line (or
    `stat`, its text): user, nice, system, irq and softirq. Left out: idle and I/O wait; steal (the
    hypervisor running other machines); guest time, which user and nice already include. The figure is
    the machine's, whatever runs on it: measure on an otherwise idle machine."""
    if stat is None:
        with open("/proc/stat", encoding="ascii") as file:
            stat = file.readline()
    user, nice, system, _idle, _iowait, irq, softirq, *_ = (int(n) for n in stat.split()[1:])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class OwnCPU:
    """CPU spent by the processes a benchmark runs, the client and the PostgreSQL backends serving its database:
    on a machine shared with other work the whole machine's CPU is not the benchmark's. A backend that ends
    between two readings loses what it spent since the first; the pools keep theirs open."""

    def __init__(self, pids: Sequence[int], database: str) -> None:
        self.pids = list(pids)
        self.database = database

    def backends(self) -> dict[int, float]:
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    title = file.read()
                if title.startswith(b"postgres: ") and f" {self.database} ".encode() in title:
                    found[int(entry)] = cpu_seconds(int(entry))
            except OSError:  # ended meanwhile
                continue
        return found

    def reading(self) -> tuple[float, dict[int, float]]:
        own = _cpu() + sum(cpu_seconds(pid) for pid in self.pids)
        return own, self.backends()

    def since(self, before: tuple[float, dict[int, float]]) -> float:
        own, backends = self.reading()
        return own - before[0] + sum(cpu - before[1].get(pid, 0.0) for pid, cpu in backends.items())

    async def idle(self, seconds: float = 3.0) -> float:
        """CPU a second with no load (the services' background workers polling): subtracted from a run's, so
        that a slow run on a busy machine does not pin that on its few requests."""
        before = self.reading()
        await asyncio.sleep(seconds)
        return self.since(before) / seconds
