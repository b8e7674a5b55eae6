"""A small HTTP/1.1 load generator on asyncio: keep-alive connections, bounded.

The client must cost much less than the servers it measures (both share the
machine's two cores), so it writes pre-built request bytes on raw asyncio
streams and reads only the status line, the headers it needs and the body.
Every run is bounded twice: by a number of requests and by a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.reporting import percentile


def build_request(
    method: str, host: str, port: int, path: str, body: bytes, headers=None
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: keep-alive",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=2**22
        )

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            raise HttpError(f"no body length in the response: {head!r}")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


@dataclass
class Run:
    """Latencies (seconds) of the requests of one bounded run."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0
    first_error: str = ""

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else math.nan


Check = Callable[[int, bytes], str | None]


def expect_200(status: int, body: bytes) -> str | None:
    return None if status == 200 else f"HTTP {status}: {body[:200]!r}"


async def exchange(
    conn: Connection, raw: bytes, since: float, run: Run, check: Check
) -> None:
    """Send one request and note its latency from `since`, or its error (a
    failed connection is closed; the next send opens a new one)."""
    try:
        status, body = await conn.send(raw)
    except (OSError, asyncio.IncompleteReadError, HttpError) as exc:
        run.errors += 1
        run.first_error = run.first_error or repr(exc)
        await conn.close()
        return
    run.latencies.append(time.perf_counter() - since)
    problem = check(status, body)
    if problem:
        run.errors += 1
        run.first_error = run.first_error or problem


async def closed_loop(
    host: str,
    port: int,
    requests: Sequence[Sequence[bytes]],
    *,
    max_seconds: float,
    check: Check = expect_200,
    new_connection_each: bool = False,
) -> Run:
    """`len(requests)` clients at once, each sending its own list back to back.

    Stops at the end of the lists or at `max_seconds`, whichever comes first.
    """
    run = Run()
    deadline = time.perf_counter() + max_seconds

    async def client(own: Sequence[bytes]) -> None:
        conn = Connection(host, port)
        try:
            for raw in own:
                if time.perf_counter() > deadline:
                    break
                if new_connection_each:
                    await conn.close()
                await exchange(conn, raw, time.perf_counter(), run, check)
        finally:
            await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(own) for own in requests))
    run.elapsed = time.perf_counter() - start
    return run


async def paced(
    host: str,
    port: int,
    requests: Sequence[Sequence[bytes]],
    *,
    rate: float,
    max_seconds: float,
    check: Check = expect_200,
) -> Run:
    """An open loop at `rate` requests a second: request k is due at k / rate
    seconds, taken by client k mod len(requests) (each client its own
    conversation and connection, one request at a time). Its latency runs
    from when it was due, so a client still waiting for its previous answer
    counts the wait too (no coordinated omission). Stops when a client's
    list ends or at `max_seconds`: a request not sent by then is not sent
    (an overloaded server does not stretch the run)."""
    run = Run()
    clients = len(requests)
    start = time.perf_counter()
    deadline = start + max_seconds

    async def client(index: int, own: Sequence[bytes]) -> None:
        conn = Connection(host, port)
        try:
            for turn, raw in enumerate(own):
                due = start + (turn * clients + index) / rate
                if due > deadline:
                    break
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                elif time.perf_counter() > deadline:
                    break
                await exchange(conn, raw, due, run, check)
        finally:
            await conn.close()

    await asyncio.gather(*(client(i, own) for i, own in enumerate(requests)))
    run.elapsed = time.perf_counter() - start
    return run


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
