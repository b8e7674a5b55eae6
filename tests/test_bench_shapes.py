"""Part 4 of `make bench` (benchmarks/bench_shapes.py) without Rasa: the paced
load counts a backlog, the per-process counters read /proc, and the report's
figures add up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from benchmarks import bench_shapes
from benchmarks.loadgen import build_request, closed_loop, paced
from deploy.servers import family_pids, group_pids, process_usage


async def slow_server(seconds: float):
    """An HTTP server on a free port answering one request at a time, each
    after `seconds` (as one Rasa event loop busy with a message)."""
    lock = asyncio.Lock()

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode().split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":")[1])
                await reader.readexactly(length)
                async with lock:
                    await asyncio.sleep(seconds)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def requests(port: int, clients: int, each: int) -> list[list[bytes]]:
    raw = build_request("POST", "127.0.0.1", port, "/", b"{}")
    return [[raw] * each for _ in range(clients)]


async def test_paced_keeps_its_rate_below_capacity():
    server, port = await slow_server(0.002)
    async with server:
        run = await paced(
            "127.0.0.1", port, requests(port, 4, 100), rate=40, max_seconds=1.0
        )
    assert run.errors == 0
    assert 36 <= run.count <= 44, run.count
    assert run.ms(95) < 50


async def test_paced_counts_the_wait_of_a_backlog():
    # 25 ms a request, one at a time: at most 40/s; asked for 80/s, the
    # messages wait longer and longer, and the latency says so.
    server, port = await slow_server(0.025)
    async with server:
        paced_run = await paced(
            "127.0.0.1", port, requests(port, 8, 100), rate=80, max_seconds=1.0
        )
        closed = await closed_loop(
            "127.0.0.1", port, requests(port, 1, 100), max_seconds=0.5
        )
    assert paced_run.rate < 42, paced_run.rate  # what the server can do
    assert paced_run.ms(95) > 300, paced_run.ms(95)
    assert closed.ms(95) < 100  # one client alone never waits


def test_process_usage_reads_cpu_and_memory_of_a_group():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time\nx = sum(range(10**7))\ntime.sleep(30)"],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            used = process_usage(group_pids(child.pid))
            if used.cpu_seconds > 0.05:
                break
            time.sleep(0.1)
        assert group_pids(child.pid) == [child.pid]
        assert used.processes == 1 and used.cpu_seconds > 0.05
        assert used.rss_kb > 1000
        assert child.pid in family_pids(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert process_usage([child.pid]).processes == 0


def measured(shape_processes: dict[str, float], count: int) -> dict:
    cpu = dict(shape_processes)
    return {
        "rate": 40.0,
        "p50_ms": 20.0,
        "p95_ms": 80.0,
        "p99_ms": 120.0,
        "max_ms": 300.0,
        "messages": count,
        "cpu_ms": {**cpu, "load generator": 2.0, "other work on the machine": 10.0},
        "rss_kb": dict.fromkeys(cpu, 100 * 1024),
    }


def test_report_places_every_millisecond_and_reasons_about_more_servers():
    scaled_cpu = {
        "Rasa 1": 15.0,
        "Rasa 2": 15.0,
        "action server 1": 0.5,
        "action server 2": 0.5,
        "nginx": 0.4,
        "web app": 0.0,
        "PostgreSQL": 3.0,
        "Redis": 0.6,
    }
    single_cpu = {"Rasa": 27.0, "action server": 1.0}

    def shape(label, cpu, frozen):
        result = {
            "label": label,
            "processes": list(cpu),
            "rss_idle_kb": dict.fromkeys(cpu, 50 * 1024),
            "gc_frozen": frozen,
            "rounds": 2,
        }
        for kind in ("sat16", "sat64", "paced"):
            result[kind] = measured(cpu, 400)
        return result

    data = {
        "shape_seconds": 10.0,
        "load_part4": (3.0, 2.5, 2.0),
        "shapes": {
            "shipped": shape("single", single_cpu, [800_000]),
            "nofreeze": shape("single, gc.freeze off", single_cpu, [None]),
            "scaled": shape("scaled", scaled_cpu, [800_000, 800_000]),
        },
    }
    text = "\n".join(bench_shapes.report(data, 2))
    for name in [*scaled_cpu, "load generator", "other work on the machine"]:
        assert f"| {name} |" in text
    cap = bench_shapes.capacity(data["shapes"]["scaled"], 2)
    assert cap["rasa_ms"] == 30.0 and cap["servers"] == 2
    assert round(cap["rest_ms"], 2) == 5.0
    # 2000 ms of CPU a second over 30 + 5 + 2 ms a message.
    assert round(cap["cores_ceiling"], 1) == round(2000 / 37, 1)
    assert "is not met" in text  # 40 msg/s
    # Each message costs 30 ms of Rasa CPU (on whichever server took it): one
    # server at 85% busy carries 28 msg/s, four 113, with 35 ms of our
    # servers' CPU a message.
    rows = bench_shapes.larger_machine(cap)
    assert [r[1] for r in rows] == ["28", "57", "85", "113"]
    assert rows[3][2] == "4.0"
    assert "### gc.freeze after the model loads" in text
    assert bench_shapes.headline_rows(data)[0][1:3] == ["40.0", "40.0"]
