"""`make bench`: Polkuopas's speed figures on this machine, Rasa stock against
Polkuopas as shipped.

    .venv/bin/python -m benchmarks.bench [--out reports/bench.md] [--quick]

"Rasa stock" is the same trained model served by `rasa run` as Rasa comes:
bot/polkuopas_rasa/speedups.py not installed (benchmarks/rasa_side/sitecustomize.py
makes the channel's `install()` do nothing), Rasa's own SQL tracker store,
spaCy with its NER, and rasa_sdk's action server (`python -m rasa_sdk`, what
`rasa run actions` starts) serving the same actions. "Polkuopas as shipped" is
`rasa run` with bot/endpoints.yml and our action server, as `make run` starts
them. Every server is a subprocess on a free loopback port, with a temporary
client store seeded with the demo data and personal tokens, and stopped at the
end (exactly the process groups started here). Parts:

1. Rasa in-process (benchmarks/bench_rasa.py in .venv-rasa): NLU parse
   latency, conversation turns with each Rasa-side change on top of the one
   before (what each change buys), and a check that Rasa stock and Polkuopas
   as shipped answer and store exactly alike. Its model loads while the two
   `rasa run` of part 3 start; it measures once they are up and idle.
2. The action server alone: ours against rasa_sdk's Sanic server on the same
   actions, with the request Rasa 3.6 really sends (captured in part 1), at 1
   and 16 connections; and ours with changes 8-14 undone from outside
   (benchmarks/app_side/), one after the other, for what each bought.
3. End to end through the REST channel with a personal token, Rasa stock and
   Polkuopas as shipped side by side (and as shipped with TensorFlow's default
   thread pools, for what change 15 buys): one conversation, 16 conversations
   back to back (saturation), and turn 1 against turn 100 of one long
   conversation.
4. Single Rasa against the scale-out shape (benchmarks/bench_shapes.py):
   Polkuopas as shipped, the same with gc.freeze off, and `make run-scaled`'s
   shape (nginx, two Rasa servers, PostgreSQL, Redis, two action servers, the
   web app; started once parts 1-3 are done), each at 16 and 64 conversations
   and paced at 30 messages a second, with the CPU and memory of every server
   process.
5. The report: a side-by-side table on stdout and Markdown in --out.

Every figure is the median of the repeats named next to it; every load loop is
bounded by a number of requests and by time, and the whole run by --budget
(fewer repeats when the machine is slow). The CPU time the servers used per
request (from /proc) is given next to the wall-clock figures: on a shared
machine it moves much less than they do. Exit code 1 if a server fails to
start, stops, answers wrongly, or runs with the wrong speed-ups.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from benchmarks import bench_shapes
from benchmarks.loadgen import Run, build_request, closed_loop, json_body
from benchmarks.reporting import command_output, cpu_model, fmt, memory_gb, table
from benchmarks.servers import (
    ACTION_SECRET,
    RATE_LIMITS_RAISED,
    SECRET_HEADER,
    DemoStore,
    our_action_server,
    rasa_server,
    sdk_action_server,
)
from deploy.run_scaled import Scaled
from deploy.servers import BOT_PYTHON, HOST, Server, ServerFailed, free_port
from polkuopas.settings import PROJECT_ROOT

BENCH = Path(__file__).resolve().parent
MODEL = PROJECT_ROOT / "bot" / "models" / "polkuopas.tar.gz"
QUESTION = "kuka on minun työvalmentajani?"
EXPECTED = b"Sari Lehtonen"
CLIENT = "demo-suvi"
# Rasa sizes TensorFlow's thread pools from these (bot/polkuopas_rasa/speedups.py).
TF_THREAD_VARIABLES = (
    "TF_INTER_OP_PARALLELISM_THREADS",
    "TF_INTRA_OP_PARALLELISM_THREADS",
)
# Seconds part 4 needs (the scaled shape's start and its runs), kept from part 1.
SHAPES_RESERVE = 380.0
# What the Rasa logs say (bot/polkuopas_rasa/speedups.py, rasa_side/sitecustomize.py).
INSTALLED_LINE = b"polkuopas speed-ups installed"
NOT_INSTALLED_LINE = b"polkuopas speed-ups not installed"
TOO_LATE_LINE = b"TensorFlow already runs"

# Our action server with changes 8-14 undone (benchmarks/app_side/), each
# row one change more than the row above; the last is ours as shipped.
_ALL = ("route", "log", "store", "json", "shape", "fastpath", "ujson_out")
LADDER: list[tuple[str, tuple[str, ...], str]] = [
    ("before", _ALL, "ours before 8-14"),
    ("+8", _ALL[1:], "+ 8 plain route"),
    ("+9", _ALL[2:], "+ 9 no INFO line per action"),
    ("+10", _ALL[3:], "+ 10 plain SQL in load_view"),
    ("+11", _ALL[4:], "+ 11 ujson for the body"),
    ("+12", _ALL[5:], "+ 12 isinstance shape check"),
    ("+13", _ALL[6:], "+ 13 /webhook before the middleware"),
    ("ours", (), "+ 14 ujson for the answer = ours as shipped"),
]
SDK_SERVERS: list[tuple[str, tuple[str, ...], str]] = [
    ("rasa_sdk-10", ("store",), "rasa_sdk 3.21 (Sanic) before 10"),
    ("rasa_sdk", (), "rasa_sdk 3.21 (Sanic), `python -m rasa_sdk`"),
]


class Failure(Exception):
    """The benchmark cannot go on (the message says why)."""


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def median(values) -> float:
    values = [v for v in values if v == v]  # no NaN
    return statistics.median(values) if values else float("nan")


@dataclass
class Budget:
    seconds: float
    start: float = field(default_factory=time.monotonic)

    def used(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.seconds - self.used()


@dataclass
class Measured:
    """One bounded run against a set of servers, with the CPU each one used."""

    run: Run
    cpu_by_server: list[float]

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_ms(None)

    def cpu_ms(self, index: int | None) -> float:
        """CPU ms per request of server `index`, or of all of them."""
        if not self.run.count:
            return 0.0
        used = sum(self.cpu_by_server) if index is None else self.cpu_by_server[index]
        return used / self.run.count * 1000


async def measure(
    servers: list[Server], port: int, requests, *, max_seconds: float, check
) -> Measured:
    for server in servers:
        server.check_alive()
    before = [s.cpu_seconds() for s in servers]
    run = await closed_loop(HOST, port, requests, max_seconds=max_seconds, check=check)
    cpu = [s.cpu_seconds() - b for s, b in zip(servers, before, strict=True)]
    for server in servers:
        server.check_alive()
    if run.errors:
        raise Failure(
            f"{run.errors} bad answers from {servers[0].name}: {run.first_error}"
        )
    return Measured(run, cpu)


def expect_answer(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    if EXPECTED not in body:
        return f"no {EXPECTED.decode()!r} in {body[:300]!r}"
    return None


# --- machine and settings ---------------------------------------------------------


def machine_info() -> dict[str, Any]:
    versions = command_output(
        [
            str(BOT_PYTHON),
            "-c",
            "import importlib.metadata as m, platform; print(platform.python_version(),"
            " *(m.version(p) for p in ('rasa', 'tensorflow', 'sanic', 'SQLAlchemy',"
            " 'jsonschema')))",
        ]
    ).split()
    from importlib.metadata import version

    return {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gb": memory_gb(),
        "kernel": platform.release(),
        "load_before": os.getloadavg(),
        "app_python": platform.python_version(),
        "app_packages": {
            p: version(p)
            for p in ("rasa-sdk", "fastapi", "uvicorn", "uvloop", "httptools", "sanic")
        },
        "bot_python": versions[0] if versions else "?",
        "bot_packages": dict(
            zip(
                ["rasa", "tensorflow", "sanic", "SQLAlchemy", "jsonschema"],
                versions[1:],
                strict=False,
            )
        ),
    }


def product_endpoints() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "bot" / "endpoints.yml").read_text()) or {}


CACHED_STORE = "polkuopas_rasa.trackerstore.CachedSQLTrackerStore"


def shipped_tracker_store() -> dict[str, Any]:
    """bot/endpoints.yml's tracker store (the bench needs its SQLite store)."""
    tracker = dict(product_endpoints().get("tracker_store") or {})
    if tracker.get("type") not in ("SQL", CACHED_STORE) or (
        tracker.get("dialect", "sqlite") != "sqlite"
    ):
        raise Failure(
            f"bot/endpoints.yml: the bench knows the SQLite tracker stores SQL and "
            f"{CACHED_STORE}, not {tracker}"
        )
    return tracker


def store_options() -> dict[str, Any]:
    """The shipped CachedSQLTrackerStore's own options (max_events, ...)."""
    tracker = shipped_tracker_store()
    if tracker.get("type") != CACHED_STORE:
        return {}
    return {
        k: v
        for k, v in tracker.items()
        if k not in ("type", "dialect", "db", "url", "port", "username", "password")
    }


def endpoints_for(tracker_db: Path, *, stock: bool) -> dict[str, Any]:
    """bot/endpoints.yml with a temporary tracker database; the action
    endpoint as shipped, its URL from POLKUOPAS_ACTION_URL (set per Rasa
    process). `stock`: Rasa's own SQL tracker store instead."""
    endpoints = product_endpoints()
    action = dict(endpoints.get("action_endpoint") or {})
    action["url"] = "${POLKUOPAS_ACTION_URL}"
    endpoints["action_endpoint"] = action
    tracker = shipped_tracker_store()
    if stock:
        tracker = {"type": "SQL", "dialect": "sqlite"}
    tracker["db"] = str(tracker_db)
    endpoints["tracker_store"] = tracker
    return endpoints


def check_speedups(stacks: list[Stack]) -> None:
    """Rasa stock runs without the speed-ups, Polkuopas as shipped with them."""
    for stack in stacks:
        log = stack.rasa.log.read_bytes()
        wanted = NOT_INSTALLED_LINE if stack.key == "stock" else INSTALLED_LINE
        if wanted not in log:
            raise Failure(
                f"{stack.rasa.name}: no {wanted.decode()!r} in {stack.rasa.log}"
            )
        if TOO_LATE_LINE in log:
            raise Failure(f"{stack.rasa.name}: {TOO_LATE_LINE.decode()!r}")


# --- part 1: Rasa in-process -----------------------------------------------------


class InProcess:
    """Part 1 as a subprocess in the bot environment (benchmarks/bench_rasa.py).

    It loads the model while the `rasa run` servers of part 3 start, then waits
    for the `go` file, so that nothing else starts while it measures.
    """

    def __init__(self, root: Path, action: Server, args, budget: Budget):
        self.root, self.out = root, root / "rasa-inprocess.json"
        self.go = root / "go"
        self.log = root / "rasa-inprocess.log"
        endpoints = root / "endpoints-inprocess.yml"
        endpoints.write_text(
            yaml.safe_dump(endpoints_for(root / "tracker-inprocess.db", stock=True)),
            encoding="utf-8",
        )
        self.action_url = action.url + "/webhook"
        # What is left for part 1 once parts 2 and 3 have theirs.
        self.seconds = max(150.0, min(420.0, budget.left() - 250 - SHAPES_RESERVE))
        self.command = [
            str(BOT_PYTHON), str(BENCH / "bench_rasa.py"),
            "--model", str(args.model), "--endpoints", str(endpoints),
            "--out", str(self.out), "--work", str(root),
            "--turns", str(args.turns), "--rounds", "1" if args.quick else "2",
            "--store-options", json.dumps(store_options()),
            "--budget", str(self.seconds - 30),
            "--wait-for", str(self.go),
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.reader: threading.Thread | None = None

    def start(self) -> None:
        say(f"part 1: Rasa in-process (model load, NLU, turns); log {self.log}")
        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT / "bot"),
            "POLKUOPAS_ACTION_URL": self.action_url,
            "POLKUOPAS_ACTION_SECRET": ACTION_SECRET,
        }
        with self.log.open("w") as handle:
            self.process = subprocess.Popen(
                self.command,
                env=env,
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=handle,
                text=True,
                start_new_session=True,
            )
        self.started = time.monotonic()

        def echo(stream) -> None:
            for line in stream:
                print(line, end="", flush=True)

        self.reader = threading.Thread(
            target=echo, args=(self.process.stdout,), daemon=True
        )
        self.reader.start()

    def measure_now(self) -> None:
        self.go.touch()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def result(self) -> dict[str, Any]:
        assert self.process is not None
        # `seconds` is what part 1 plans with; the hard stop leaves it room.
        left = self.started + self.seconds + 150 - time.monotonic()
        try:
            self.process.wait(timeout=max(1.0, left))
        except subprocess.TimeoutExpired:
            self.stop()
            raise Failure(
                f"Rasa in-process part took over {self.seconds + 150:.0f} s"
            ) from None
        if self.reader is not None:
            self.reader.join(timeout=5)
        if self.process.returncode != 0 or not self.out.exists():
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
            raise Failure(f"Rasa in-process part failed; {self.log} ends:\n{tail}")
        return json.loads(self.out.read_text())


# --- part 2: the action servers ----------------------------------------------------


def fallback_request() -> dict[str, Any]:
    # The request the action server's own tests send (tests/ is a namespace
    # package from the repository root, where `make bench` runs).
    from tests.test_action_server import action_call

    body = action_call()
    body["tracker"]["latest_message"]["entities"] = [
        {"entity": "role", "value": "tyovalmentaja", "start": 13, "end": 27}
    ]
    return body


async def bench_action_servers(
    root: Path, store: DemoStore, requests: dict[str, Any], args, budget: Budget
) -> dict[str, Any]:
    short = requests.get("3") or fallback_request()
    long = requests.get(str(args.turns))
    servers: dict[str, Server] = {}
    for key, revert, _ in LADDER:
        servers[key] = our_action_server(root, store.path, tag=key, revert=revert)
    for key, revert, _ in SDK_SERVERS:
        servers[key] = sdk_action_server(root, store.path, tag=key, revert=revert)
    try:
        for server in servers.values():
            server.launch()
        for server in servers.values():
            server.wait_until_up(90)
        say(
            "part 2: action servers up: "
            + ", ".join(f"{k} {s.started_in:.1f}s" for k, s in servers.items())
        )
        # Encoded as Rasa's aiohttp client does (json.dumps, ASCII escapes).
        bodies = {"turn 3": json.dumps(short).encode()}
        if long:
            bodies[f"turn {args.turns}"] = json.dumps(long).encode()
        results: dict[tuple[str, str, int], list[Measured]] = {}
        plan = [(k, "turn 3", 1) for k in servers] + [
            (k, "turn 3", 16) for k in servers
        ]
        if long:
            plan += [
                (k, f"turn {args.turns}", 1)
                for k in ("before", "ours", "rasa_sdk-10", "rasa_sdk")
            ]
        rounds = 2 if args.quick else 3
        for round_no in range(1, rounds + 1):
            if round_no > 2 and budget.left() < 200:
                say("time budget: no further action-server round")
                break
            for key, body_name, connections in plan:
                server = servers[key]
                raw = build_request(
                    "POST",
                    HOST,
                    server.port,
                    "/webhook",
                    bodies[body_name],
                    {SECRET_HEADER: ACTION_SECRET},  # rasa_sdk ignores it
                )
                per_client = 1200 if connections == 1 else 100
                if body_name != "turn 3":
                    per_client = 250
                await closed_loop(HOST, server.port, [[raw] * 20], max_seconds=5)
                measured = await measure(
                    [server],
                    server.port,
                    [[raw] * per_client for _ in range(connections)],
                    max_seconds=1.5,
                    check=expect_answer,
                )
                results.setdefault((key, body_name, connections), []).append(measured)
            say(
                f"round {round_no}: "
                + ", ".join(
                    f"{k} {results[(k, 'turn 3', 1)][-1].run.rate:.0f}/s"
                    for k in servers
                )
                + " (1 connection)"
            )
    finally:
        for server in servers.values():
            server.stop()
    rows = []
    for (key, body_name, connections), runs in results.items():
        rows.append(
            {
                "server": key,
                "request": body_name,
                "connections": connections,
                "repeats": len(runs),
                "rps": median(m.run.rate for m in runs),
                "p50_ms": median(m.run.ms(50) for m in runs),
                "p95_ms": median(m.run.ms(95) for m in runs),
                "cpu_ms": median(m.cpu_ms_per_request for m in runs),
            }
        )
    return {
        "rows": rows,
        "request_bytes": {k: len(v) for k, v in bodies.items()},
        "captured": "3" in requests,
    }


# --- part 3: end to end ------------------------------------------------------------


@dataclass
class Stack:
    key: str
    label: str
    rasa: Server
    action: Server

    @property
    def servers(self) -> list[Server]:
        return [self.rasa, self.action]


def chat_request(port: int, token: str, sender: str) -> bytes:
    return build_request(
        "POST",
        HOST,
        port,
        "/webhooks/rest/webhook",
        json_body({"sender": sender, "message": QUESTION}),
        {"Authorization": f"Bearer {token}"},
    )


async def bench_end_to_end(stacks: list[Stack], token: str, args, budget: Budget):
    results: dict[str, dict[str, list]] = {s.key: {} for s in stacks}

    def add(stack: Stack, name: str, value: Any) -> None:
        results[stack.key].setdefault(name, []).append(value)

    for stack in stacks:
        port = stack.rasa.port
        warm = [chat_request(port, token, f"warm{i}") for i in range(3)]
        await measure(
            stack.servers, port, [warm * 4], max_seconds=60, check=expect_answer
        )
    rounds = 1 if args.quick else 3
    for round_no in range(1, rounds + 1):
        if round_no > 2 and budget.left() < 70:
            say("time budget: no further end-to-end round")
            break
        for stack in stacks:
            port = stack.rasa.port
            tag = f"{stack.key}-r{round_no}"
            single = await measure(
                stack.servers,
                port,
                [[chat_request(port, token, f"one-{tag}")] * 40],
                max_seconds=25,
                check=expect_answer,
            )
            add(stack, "single", single)
            saturation = await measure(
                stack.servers,
                port,
                [[chat_request(port, token, f"sat-{tag}-{c}")] * 40 for c in range(16)],
                max_seconds=12,
                check=expect_answer,
            )
            add(stack, "saturation", saturation)
            if round_no <= 2:
                long = await measure(
                    stack.servers,
                    port,
                    [[chat_request(port, token, f"long-{tag}")] * args.turns],
                    max_seconds=60,
                    check=expect_answer,
                )
                add(stack, "long", long)
            say(
                f"round {round_no} {stack.key:8s}: one conversation p50 "
                f"{single.run.ms(50):.0f} ms p95 {single.run.ms(95):.0f} ms; "
                f"16 conversations {saturation.run.rate:.1f} msg/s; "
                + (
                    f"turn 1 {long.run.latencies[0] * 1000:.0f} ms, turn "
                    f"{long.run.count} {long.run.latencies[-1] * 1000:.0f} ms"
                    if round_no <= 2
                    else ""
                )
            )
    summary = {}
    for stack in stacks:
        r = results[stack.key]
        longs = r.get("long", [])
        summary[stack.key] = {
            "label": stack.label,
            "repeats": len(r["single"]),
            "single_p50_ms": median(m.run.ms(50) for m in r["single"]),
            "single_p95_ms": median(m.run.ms(95) for m in r["single"]),
            "single_cpu_ms": median(m.cpu_ms_per_request for m in r["single"]),
            "sat_rate": median(m.run.rate for m in r["saturation"]),
            "sat_p50_ms": median(m.run.ms(50) for m in r["saturation"]),
            "sat_p95_ms": median(m.run.ms(95) for m in r["saturation"]),
            "sat_cpu_ms": median(m.cpu_ms_per_request for m in r["saturation"]),
            "sat_rasa_cpu_ms": median(m.cpu_ms(0) for m in r["saturation"]),
            "sat_action_cpu_ms": median(m.cpu_ms(1) for m in r["saturation"]),
            "long_repeats": len(longs),
            "long_turns": min((m.run.count for m in longs), default=0),
            "turn1_ms": median(m.run.latencies[0] * 1000 for m in longs),
            "turn_last_ms": median(m.run.latencies[-1] * 1000 for m in longs),
            "first5_ms": median(
                statistics.median(m.run.latencies[:5]) * 1000 for m in longs
            ),
            "last5_ms": median(
                statistics.median(m.run.latencies[-5:]) * 1000 for m in longs
            ),
        }
    return summary


# --- report --------------------------------------------------------------------------


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(out)


def headline(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    e2e = data.get("e2e", {})
    act = {
        (r["server"], r["request"], r["connections"]): r
        for r in data.get("actions", {}).get("rows", [])
    }
    stock, shipped = e2e.get("stock", {}), e2e.get("shipped", {})

    def pair(key: str, digits: int = 1) -> list[str]:
        nan = float("nan")
        return [fmt(stock.get(key, nan), digits), fmt(shipped.get(key, nan), digits)]

    def action(server: str, conns: int, key: str, digits: int = 0) -> str:
        row = act.get((server, "turn 3", conns))
        return fmt(row[key], digits) if row else "–"

    nlu = data.get("rasa", {}).get("nlu", {})
    lean = nlu.get("without_unused", nlu)

    def parse(result: dict) -> str:
        if not result:
            return "–"
        return f"{fmt(result['p50_ms'])} / {fmt(result['p95_ms'])}"

    rows = [
        ["NLU parse p50 / p95, in-process (ms)", parse(nlu), parse(lean), ""],
        ["saturation, 16 conversations (msg/s)", *pair("sat_rate"), ">= 60"],
        ["one conversation p50 (ms)", *pair("single_p50_ms", 0), ""],
        ["one conversation p95 (ms)", *pair("single_p95_ms", 0), "< 100"],
        ["long conversation turn 1 (ms)", *pair("turn1_ms", 0), ""],
        [
            f"long conversation turn {stock.get('long_turns', 100)} (ms)",
            *pair("turn_last_ms", 0),
            "no growth",
        ],
        ["  median of turns 1-5 (ms)", *pair("first5_ms", 0), ""],
        ["  median of the last 5 turns (ms)", *pair("last5_ms", 0), ""],
        ["Rasa CPU per message (ms)", *pair("sat_rasa_cpu_ms", 1), ""],
        ["action server CPU per message (ms)", *pair("sat_action_cpu_ms", 1), ""],
        [
            "action server alone, 1 connection: req/s",
            action("rasa_sdk", 1, "rps"),
            action("ours", 1, "rps"),
            ">= rasa_sdk",
        ],
        [
            "action server alone, 1 connection: p95 (ms)",
            action("rasa_sdk", 1, "p95_ms", 2),
            action("ours", 1, "p95_ms", 2),
            "",
        ],
        [
            "action server alone, 16 connections: req/s",
            action("rasa_sdk", 16, "rps"),
            action("ours", 16, "rps"),
            ">= rasa_sdk",
        ],
        [
            "action server alone, 16 connections: p95 (ms)",
            action("rasa_sdk", 16, "p95_ms", 2),
            action("ours", 16, "p95_ms", 2),
            "",
        ],
    ]
    return ["figure", "Rasa stock", "Polkuopas as shipped", "aim"], rows


def reading(data: dict[str, Any]) -> list[str]:
    """A few sentences on what limits the figures (from this run's numbers)."""
    shipped = data.get("e2e", {}).get("shipped")
    nlu = data.get("rasa", {}).get("nlu", {})
    if not shipped or not nlu:
        return []
    lean = nlu.get("without_unused", nlu)
    parts = {c["component"]: c["ms_per_message"] for c in nlu.get("components", [])}
    rate, cpu = shipped["sat_rate"], shipped["sat_rasa_cpu_ms"]
    lines = [
        f"Where the time goes as shipped: Rasa used {fmt(cpu)} ms of CPU "
        f"per message at saturation; parsing alone used {fmt(lean.get('cpu_ms'))} "
        "ms of CPU per message in-process (wall time per component, Rasa stock: "
        + ", ".join(
            f"{name} {fmt(parts[name])} ms"
            for name in ("DIETClassifier", "SpacyNLP")
            if name in parts
        )
        + "). Rasa handles messages one at a time on one event loop (TensorFlow "
        "adds threads only inside a parse), so the NLU pipeline in "
        "bot/config.yml sets the ceiling of one Rasa process."
    ]
    if rate < 60:
        lines[0] += (
            f" At {fmt(rate)} msg/s the aim of 60 is not reached in this run: "
            "beyond the changes below it takes a cheaper NLU pipeline (DIET's size, "
            "the spaCy pipes the lemmas need), a machine not shared with other "
            "work, or more Rasa processes (part 4 below: the scale-out shape, "
            "its CPU per message, and what more Rasa servers would give)."
        )
    return [*lines, ""]


def report(data: dict[str, Any], args) -> str:
    info, rasa = data["machine"], data.get("rasa", {})
    model, nlu = rasa.get("model", {}), rasa.get("nlu", {})
    action = product_endpoints().get("action_endpoint") or {}
    action_headers = ", ".join(f"`{h}`" for h in action.get("headers") or {}) or "none"
    lines = [
        "# Polkuopas benchmarks",
        "",
        f"Generated by `make bench` (benchmarks/bench.py) on {info['date']} in "
        f"{data['seconds']:.0f} s. Figures, not timed tests: on a shared machine "
        "they move from run to run; each is the median of the repeats given. The "
        "CPU time the servers used per request (read from /proc) moves much less "
        "than the wall-clock figures and is given next to them.",
        "",
        load_note(data),
        "",
        "## Machine, model and settings",
        "",
        f"- machine: {info['nproc']} cores ({info['cpu']}), {info['memory_gb']} GB, "
        f"Linux {info['kernel']}; load average before "
        f"{'/'.join(f'{x:.1f}' for x in info['load_before'])}, after "
        f"{'/'.join(f'{x:.1f}' for x in data['load_after'])}; 1-minute load "
        "when each part began: "
        + ", ".join(f"{k} {v[0]:.1f}" for k, v in data.get("load", {}).items())
        + " (other work shares the machine)",
        f"- app environment: Python {info['app_python']}, "
        + ", ".join(f"{k} {v}" for k, v in info["app_packages"].items()),
        f"- bot environment: Python {info['bot_python']}, "
        + ", ".join(f"{k} {v}" for k, v in info["bot_packages"].items()),
        f"- model: `{Path(model.get('path', args.model)).name}` id "
        f"`{model.get('model_id', '?')}`, trained {model.get('trained_at', '?')}, "
        f"loaded in {fmt(model.get('load_seconds', float('nan')))} s in-process",
        "- prediction graph: " + ", ".join(model.get("predict_nodes", [])),
        "- Polkuopas as shipped: `rasa run` with bot/endpoints.yml as it is "
        f"(action endpoint with headers {action_headers}, the bench sets the URL "
        "and a secret; tracker store "
        f"`{json.dumps(product_endpoints().get('tracker_store'))}`, `db` on a "
        "temporary file; Rasa's default in-memory lock store), the speed-ups "
        "installed by the channel (checked in its log), and our action server "
        "(`python -m polkuopas.action_server`)",
        "- Rasa stock: the same model and channel, `rasa run` with Rasa's "
        '`{"type": "SQL", "dialect": "sqlite"}` tracker store and the same '
        "action endpoint; the channel's `polkuopas_rasa.speedups.install()` made a "
        "no-op by benchmarks/rasa_side/sitecustomize.py (checked in its log), "
        "so spaCy keeps its NER; rasa_sdk's action server (its Sanic server "
        "as `rasa run actions` starts it, through `python -m "
        "benchmarks.sdk_actions`) serving the same actions",
        f'- the question: "{QUESTION}" as {CLIENT} (personal token), which '
        "runs `action_responsible` on the action server; every answer is checked "
        f'for "{EXPECTED.decode()}"',
        "- the chat channel's rate limits raised far above the load for both "
        "(POLKUOPAS_RATE_LIMIT_* in benchmarks/servers.py; the limiter still "
        "runs): the bench sends 16 conversations back to back with one token",
        "- all traffic on 127.0.0.1; keep-alive HTTP/1.1 clients "
        "(benchmarks/loadgen.py); the servers run one process each (uvicorn "
        "with uvloop and httptools; Sanic with one worker)",
        "",
        "## Summary",
        "",
    ]
    header, rows = headline(data)
    lines += table(header, rows)
    shapes = bench_shapes.headline_rows(data)
    if shapes:
        lines += ["", "Single Rasa against the scale-out shape (part 4):", ""]
        lines += table(
            ["figure", "single Rasa", "scaled (nginx, 2 Rasa)", "aim"], shapes
        )
    lines += [
        "",
        '"Polkuopas as shipped" has changes 1-15 (listed at the end, with where '
        "each lives): the Rasa patches, spaCy without NER, "
        "`CachedSQLTrackerStore` with a window of "
        f"{store_options().get('max_events', 0)} events, and our action server "
        "with changes 8-14, TensorFlow with one thread per pool (15); not the "
        "MemoizationPolicy option. The action-server "
        "rows put rasa_sdk's server in the Rasa stock column (the request of "
        "turn 3; its own table has more).",
        "",
    ]
    lines += reading(data)
    lines += bench_shapes.report(data, info["nproc"] or 1)
    if nlu:
        lines += [
            "## NLU parse latency (in-process)",
            "",
            f"`Agent.parse_message` on the {nlu['sentences']} sentences of "
            f"tests/nlu/eval.yml, median of {nlu['passes']} passes (the two "
            "pipelines' passes interleaved).",
            "",
        ]
        rows = [
            [
                "Rasa stock (spaCy with its NER)",
                fmt(nlu["p50_ms"]),
                fmt(nlu["p95_ms"]),
                fmt(nlu["mean_ms"]),
                fmt(nlu.get("cpu_ms")),
            ]
        ]
        if "without_unused" in nlu:
            other = nlu["without_unused"]
            rows.append(
                [
                    "as shipped: spaCy without NER (change 5)",
                    fmt(other["p50_ms"]),
                    fmt(other["p95_ms"]),
                    fmt(other["mean_ms"]),
                    fmt(other.get("cpu_ms")),
                ]
            )
        lines += table(["pipeline", "p50 ms", "p95 ms", "mean ms", "CPU ms"], rows)
        lines += ["", "Per component, Rasa stock (ms per message):", ""]
        lines += table(
            ["component", "ms/message"],
            [
                [c["component"], fmt(c["ms_per_message"], 2)]
                for c in nlu["components"]
                if c["ms_per_message"] >= 0.01
            ],
        )
        if nlu.get("spacy_pipes"):
            lines += [
                "",
                "Inside `SpacyNLP`, per spaCy pipe (ms per message; Rasa loads "
                "the model without `parser`; nothing in bot/config.yml reads "
                "`ner`'s entities):",
                "",
            ]
            lines += table(
                ["spaCy pipe", "ms/message"],
                [[p["pipe"], fmt(p["ms_per_message"], 2)] for p in nlu["spacy_pipes"]],
            )
        lines.append("")
    e2e = data.get("e2e")
    if e2e:
        lines += [
            "## End to end (REST channel, personal token)",
            "",
            "`POST /webhooks/rest/webhook` with `Authorization: Bearer <token>`. "
            "One conversation: 40 turns back to back. Saturation: 16 "
            "conversations, each sending its next message when the answer "
            "arrives (at most 40 each, 12 s). Long: one conversation of "
            f"{args.turns} turns. CPU: Rasa's and the action server's processes, "
            "per message, during the saturation runs. The middle row is "
            "Polkuopas as shipped with Rasa's TF_INTER_OP_PARALLELISM_THREADS "
            "and TF_INTRA_OP_PARALLELISM_THREADS set to 0 (TensorFlow's default "
            "pool sizes): change 15 can only be measured between processes, as "
            "TensorFlow fixes its threads when it first runs.",
            "",
        ]
        lines += table(
            [
                "stack",
                "one conv. p50 / p95 ms",
                "16 conv. msg/s",
                "16 conv. p50 / p95 ms",
                "CPU ms/msg Rasa + action",
                f"turn 1 / turn {args.turns} ms",
                "turns 1-5 / last 5 ms",
                "repeats",
            ],
            [
                [
                    s["label"],
                    f"{fmt(s['single_p50_ms'], 0)} / {fmt(s['single_p95_ms'], 0)}",
                    fmt(s["sat_rate"]),
                    f"{fmt(s['sat_p50_ms'], 0)} / {fmt(s['sat_p95_ms'], 0)}",
                    f"{fmt(s['sat_rasa_cpu_ms'])} + {fmt(s['sat_action_cpu_ms'])}",
                    f"{fmt(s['turn1_ms'], 0)} / {fmt(s['turn_last_ms'], 0)}",
                    f"{fmt(s['first5_ms'], 0)} / {fmt(s['last5_ms'], 0)}",
                    f"{s['repeats']} (long: {s['long_repeats']})",
                ]
                for s in e2e.values()
            ],
        )
        lines.append("")
    turns = rasa.get("turns", {}).get("variants")
    if turns:
        lines += [
            "## What costs, and what each change buys (Rasa in-process)",
            "",
            "One Rasa process, one model load (Rasa stock); each row adds one "
            "change of bot/polkuopas_rasa/speedups.py to the row above "
            "(`install()` with and without its parts; spaCy's NER switched off "
            "in the loaded model; the tracker stores on temporary SQLite "
            "files); per row one conversation of "
            f"{args.turns} turns of the question (median of the rounds given), "
            'our action server as shipped. "Rasa CPU" is the Rasa process\'s CPU '
            "time per turn.",
            "",
        ]
        lines += table(
            [
                "variant",
                "turns 1-5 ms",
                "last 5 turns ms",
                "mean ms",
                "p95 ms",
                "Rasa CPU ms/turn",
                "rounds",
            ],
            [
                [
                    v["label"],
                    fmt(v["first_ms"]),
                    fmt(v["last_ms"]),
                    fmt(v["mean_ms"]),
                    fmt(v["p95_ms"]),
                    fmt(v["cpu_ms_per_turn"]),
                    str(v["rounds"]),
                ]
                for v in turns
            ],
        )
        check = rasa["turns"].get("check")
        if check:
            lines += [
                "",
                f"Check, in the same process: {check['turns']} turns of mixed "
                "questions (benchmarks/bench_rasa.py, CHECK_SCRIPT: a path "
                "chosen by button, two misses in a row, personal and general "
                "questions; anonymous and as demo-suvi) with Rasa stock and as "
                "shipped (changes 1-7): **same answers: "
                f"{'yes' if check['same_answers'] else 'NO'}; same stored events: "
                f"{'yes' if check['same_rows'] else 'NO'}** (the stored events "
                "compared without their timestamps, model id and message id).",
            ]
            lines += [f"- {note}" for note in check["notes"]]
        lines.append("")
    actions = data.get("actions")
    if actions:
        names = {k: label for k, _, label in LADDER + SDK_SERVERS}
        sizes = ", ".join(
            f"{k} {v / 1000:.0f} kB" for k, v in actions["request_bytes"].items()
        )
        lines += [
            "## The action server alone",
            "",
            "The same ten actions, the same store: ours "
            "(`python -m polkuopas.action_server`, FastAPI on uvicorn) and "
            "rasa_sdk's own server (`python -m benchmarks.sdk_actions`, "
            "rasa_sdk's main), side by side in one run, each a single "
            "process. The body is "
            + (
                "the request Rasa 3.6 built for `action_responsible` in part 1"
                if actions["captured"]
                else "tests/test_action_server.py's action_call() (no capture)"
            )
            + f" ({sizes}; the domain included, as Rasa sends it). Each run: "
            "at most 1,200 requests per connection (100 at 16 connections, 250 "
            "of the long body) or 1.5 s, after 20 warm-up requests. The first "
            "rows are ours with changes 8-14 undone from outside "
            "(benchmarks/app_side/polkuopas_bench_revert.py), each row one "
            "change more than the row above, down to ours as shipped; change 10 "
            "is in the actions' store, so it serves rasa_sdk's server too "
            '("before 10": without it).',
            "",
        ]
        order = [k for k, _, _ in LADDER + SDK_SERVERS]
        rows = sorted(
            actions["rows"],
            key=lambda r: (
                r["request"] != "turn 3",
                r["connections"],
                order.index(r["server"]),
            ),
        )
        lines += table(
            ["server", "request", "connections", "req/s", "p50 ms", "p95 ms",
             "CPU ms/req", "repeats"],
            [
                [
                    names[r["server"]],
                    r["request"],
                    str(r["connections"]),
                    fmt(r["rps"], 0),
                    fmt(r["p50_ms"], 2),
                    fmt(r["p95_ms"], 2),
                    fmt(r["cpu_ms"], 2),
                    str(r["repeats"]),
                ]
                for r in rows
            ],
        )  # fmt: skip
        lines.append("")
    lines += CHANGES.splitlines()
    return "\n".join(lines) + "\n"


CHANGES = """\
## The changes, and where they are in the product

All fifteen are in the product; "Rasa stock" above is the same model
without them. None changes what the assistant answers or what it stores:
tests/test_speedups.py (benchmarks/check_speedups.py, run inside Rasa) compares
each Rasa-side change with what it replaces, tests/test_action_server.py holds
the action server's protocol, the end-to-end tests run the whole assistant with
bot/endpoints.yml, and the check above compares whole conversations.

Rasa side: bot/polkuopas_rasa/speedups.py. bot/polkuopas_rasa/channel.py calls its
`install()` (changes 1-5) when Rasa imports the channel, before the model
loads; bot/endpoints.yml names its tracker store (changes 6-7). Both are
written for Rasa 3.6.21: on any other version `install()` logs a warning and
patches nothing, and the tracker store works as Rasa's SQLTrackerStore.

1. **Validate action-server responses with one cached validator.** Rasa 3.6.21
   calls `jsonschema.validate(result, schema)` on every custom action response,
   and jsonschema 4.17 first checks the schema itself against the metaschema:
   tens of milliseconds on every turn that calls the action server. The schema
   is a constant, so its validator is built once; the response is still
   validated, raising what `jsonschema.validate` raises, with Rasa's message.
2. **Cache the event type look-up** (`Event.resolve_by_type` walks every
   subclass of `Event` for each event it deserialises).
3. **Do not format the conversation for a debug event that is dropped**
   (RulePolicy calls `format_tracker_states` on every prediction; it is
   formatted when its logger is enabled for DEBUG, as before).
4. **Keep-alive to the action server**: Rasa opens a new aiohttp session, so
   a new TCP connection, for every action call; one session per endpoint is
   kept (idle connections closed after 2 s, before uvicorn's 5 s).
5. **spaCy without its unused NER.** Rasa's `SpacyNLP` loads the spaCy model
   without `parser` and runs every other pipe on every message; nothing in
   bot/config.yml reads the named entities (`ner`, with its own tok2vec; there
   is no SpacyEntityExtractor), so it is removed from the pipeline when
   SpacyNLP loads the model. On tests/nlu/eval.yml the tokens, lemmas, tags,
   morphology and vectors are identical with and without it
   (benchmarks/check_speedups.py), so the model's features and answers are too.
6. **`CachedSQLTrackerStore`**: Rasa's SQL tracker store on SQLite (the same
   table and rows; every event is still written at every turn) that keeps the
   trackers of recent conversations in memory instead of re-reading and
   replaying the whole conversation every turn, knows how many events are
   saved instead of counting them, writes a turn's events in one multi-row
   INSERT instead of one ORM object each, and keeps one SQLite connection
   (SQLAlchemy 1.4 opens one per query for SQLite files) in WAL mode with
   `synchronous=NORMAL`. A cached tracker is used only if it holds exactly what
   was saved (a turn that failed half-way is re-read from SQLite), for at most
   an hour after its last turn, not in the turn after a session started, and
   never with an event broker. It assumes one Rasa process per tracker
   database (Rasa's in-memory lock store); several Rasa processes on one
   database need `cache_size: 0` in bot/endpoints.yml.
7. **A window of the last events** (`max_events: 20` in bot/endpoints.yml): a
   tracker longer than twice `max_events` is cut at a turn boundary to about
   the last `max_events` events, the state at the cut carried over as a
   session start with the slots set (as `carry_over_slots_to_new_session`
   does). Prediction, Rasa's copies of the tracker and the request to the
   action server then stay the same size however long the conversation gets;
   the stored conversation is complete. It suits this assistant: its rules
   look at the last turn, the MemoizationPolicy at three states,
   action_fallback at the previous user message, and no rule uses
   `conversation_start`. A rule, story or form that needs a longer history
   would need a larger window.

Action server side (the numbers are the rows of the action-server table):

8. `actions/polkuopas/action_server.py`: `POST /webhook` is a plain Starlette
   route (`app.add_route`), taking the executor from `request.app.state`. It
   was a FastAPI route whose `def get_executor` dependency FastAPI solved on
   every request, in a worker thread.
9. `actions/polkuopas/bot_actions.py`, `PolkuopasAction.run`: the line per
   action call is logged at DEBUG, not INFO.
10. `actions/polkuopas/store.py`: `find_client`, `step_history` and
    `find_followup` (the three look-ups of `load_view`) are plain
    `self.db.query("SELECT ...", [...])`; sqlite-utils' `rows_where` first
    lists the tables and views, three more statements per look-up. It serves
    rasa_sdk's server as much as ours.
11. `action_server.py`, `_read_action_call`: the body is parsed with
    `ujson.loads`, as rasa_sdk's Sanic does (pyproject.toml declares ujson);
    what ujson refuses but `json` reads (a BOM, UTF-16, deep nesting) still
    goes to `json.loads`.
12. `action_server.py`, `valid_shape`: the request's shape is checked with
    `isinstance` instead of being validated into pydantic models, which copied
    the whole tracker. It refuses exactly what the models refused
    (tests/test_action_server.py compares them on generated requests).
13. `action_server.py`, `ActionServerApp`: `POST /webhook` is served before
    FastAPI's middleware stack (error pages, telemetry hooks, body limits,
    exit stacks), which cost more than the route itself; the route answers
    every error itself. The other routes and methods go through FastAPI.
14. `action_server.py`, `UJSONResponse`: the answer is written with
    `ujson.dumps` (the same JSON; NaN refused as before) instead of
    `json.dumps`.

And one more on the Rasa side, in `install()` too:

15. **TensorFlow with one thread per pool** (inter-op and intra-op), unless
    Rasa's TF_INTER_OP_PARALLELISM_THREADS / TF_INTRA_OP_PARALLELISM_THREADS
    are set (then Rasa's values stand). Rasa predicts one message at a time
    and DIET's matrices are small: TensorFlow's default pools (one thread per
    core) only add hand-offs and spinning, which take CPU from the action
    server and the next request on a 2-core machine. The 192 sentences of
    tests/nlu/eval.yml parse to byte-identical results (intents, confidences,
    rankings, entities) with and without it. On a machine with many cores
    and one Rasa process, setting the variables may serve single messages
    faster.

Not taken: dropping the MemoizationPolicy (the "option" row) would change
bot/config.yml and buys little.
"""


# --- main ---------------------------------------------------------------------


def print_summary(data: dict[str, Any]) -> None:
    header, rows = headline(data)
    print()
    print(text_table(header, rows))
    shapes = bench_shapes.headline_rows(data)
    if shapes:
        print()
        print(text_table(["figure", "single", "scaled", "aim"], shapes))
    print()


def load_note(data: dict[str, Any]) -> str:
    """The load average as `uptime` gives it, at the start and the end, and
    whether other work kept the machine busy."""
    before, after = data["machine"]["load_before"], data["load_after"]
    cores = data["machine"]["nproc"] or 1
    busiest = max([before[0], after[0]] + [v[0] for v in data["load"].values()])
    return (
        "Load average (1/5/15 min, as `uptime` shows it) when the run began: "
        + "/".join(f"{x:.2f}" for x in before)
        + "; when it ended: "
        + "/".join(f"{x:.2f}" for x in after)
        + f"; {cores} cores. "
        + (
            f"The machine was busy with other work during this run (a 1-minute "
            f"load of up to {busiest:.1f} on {cores} cores, this run's own "
            "servers included): the wall-clock figures are lower and noisier "
            "than on a quiet machine; the CPU per message much less so."
            if busiest > cores
            else "The machine was quiet apart from this run."
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(PROJECT_ROOT / "reports" / "bench.md"))
    parser.add_argument("--model", default=str(MODEL))
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--budget", type=float, default=960.0, help="seconds")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--shapes-only", action="store_true", help="part 4 alone (a smoke run)"
    )
    parser.add_argument(
        "--shape-seconds", type=float, default=10.0, help="seconds a part 4 run"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    if not Path(args.model).exists():
        say(f"no trained model at {args.model}: run `make train` first")
        return 1
    budget = Budget(args.budget)
    root = Path(tempfile.mkdtemp(prefix="polkuopas-bench-"))
    say(f"work folder {root}; machine: {os.cpu_count()} cores")
    data: dict[str, Any] = {"machine": machine_info(), "load": {}}
    servers: list[Server] = []
    failed = True
    try:
        demo = DemoStore.create(root / "store.db")
        token = demo.tokens[CLIENT]
        ours = our_action_server(root, demo.path, tag="e2e-ours")
        sdk = sdk_action_server(root, demo.path, tag="e2e-rasa_sdk")
        servers += [ours] if args.shapes_only else [ours, sdk]
        for server in servers:
            server.start(90)

        def rasa(tag: str, *, stock: bool = False, **extra_env: str) -> Server:
            return rasa_server(
                root,
                tag,
                model=Path(args.model),
                store=demo.path,
                endpoints=endpoints_for(root / f"tracker-{tag}.db", stock=stock),
                action_url=(sdk if stock else ours).url + "/webhook",
                stock=stock,
                extra_env=extra_env,
            )

        stacks = [
            Stack("stock", "Rasa stock (and rasa_sdk)", rasa("stock", stock=True), sdk),
            Stack(
                "threads",
                "as shipped but 15 (TensorFlow's default threads)",
                # Rasa's own variables; 0: TensorFlow's default pool sizes.
                rasa("threads", **dict.fromkeys(TF_THREAD_VARIABLES, "0")),
                ours,
            ),
            Stack("shipped", "Polkuopas as shipped", rasa("shipped"), ours),
        ]
        if args.shapes_only:
            stacks = stacks[-1:]
        # Part 4's second single Rasa: as shipped but without gc.freeze.
        nofreeze = rasa("nofreeze", POLKUOPAS_GC_FREEZE="false")
        # The `rasa run` of parts 3 and 4 load their model while part 1 loads
        # its own; part 1 measures once they are up (and idle).
        say("starting `rasa run`: Rasa stock and Polkuopas as shipped (parts 3, 4)")
        for server in [stack.rasa for stack in stacks] + [nofreeze]:
            servers.append(server)
            server.launch()
        if not args.shapes_only:
            inprocess = InProcess(root, ours, args, budget)
            inprocess.start()
        try:
            for server in [stack.rasa for stack in stacks] + [nofreeze]:
                server.wait_until_up(600)
            check_speedups(stacks)
            say(
                "Rasa servers up: "
                + ", ".join(f"{s.key} {s.rasa.started_in:.0f}s" for s in stacks)
            )
            if not args.shapes_only:
                inprocess.measure_now()
                data["load"]["part 1"] = os.getloadavg()
                data["rasa"] = inprocess.result()
        finally:
            if not args.shapes_only:
                inprocess.stop()

        if not args.shapes_only:
            data["load"]["part 2"] = os.getloadavg()
            data["actions"] = asyncio.run(
                bench_action_servers(
                    root, demo, data["rasa"]["turns"]["requests"], args, budget
                )
            )
            say("part 3: end to end through the REST channel")
            data["load"]["part 3"] = os.getloadavg()
            data["e2e"] = asyncio.run(bench_end_to_end(stacks, token, args, budget))
            for stack in stacks[:2]:  # part 4 needs only the shipped one
                stack.rasa.stop()
            sdk.stop()

        shipped = stacks[-1]
        data["shapes"] = bench_shapes_part(
            root, args, token, shipped, nofreeze, ours, data
        )
        failed = False
    except (ServerFailed, Failure, bench_shapes.Failure) as exc:
        say(f"FAILED: {exc}")
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        for server in reversed(servers):
            server.stop()
    data["seconds"] = budget.used()
    data["load_after"] = os.getloadavg()
    if not failed:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report(data, args), encoding="utf-8")
        (root / "bench.json").write_text(json.dumps(data, indent=1, default=str))
        print_summary(data)
        say(f"report written to {out} ({data['seconds']:.0f} s)")
    if args.keep or failed:
        say(f"logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


def bench_shapes_part(
    root: Path, args, token: str, shipped: Stack, nofreeze: Server, ours: Server, data
) -> dict[str, Any]:
    """Part 4: single Rasa (with and without gc.freeze), then the scaled shape
    (benchmarks/bench_shapes.py)."""
    rounds = 1 if args.quick else 2
    data["shape_seconds"] = args.shape_seconds
    data["load_part4"] = os.getloadavg()
    data["load"]["part 4"] = data["load_part4"]
    say("part 4: single Rasa, with and without gc.freeze")
    single = [
        bench_shapes.Shape(
            key,
            label,
            rasa.port,
            token,
            {"Rasa": rasa.pids, "action server": ours.pids},
            [rasa.log],
        )
        for key, label, rasa in (
            ("shipped", "single Rasa (as shipped)", shipped.rasa),
            ("nofreeze", "single Rasa, gc.freeze off", nofreeze),
        )
    ]
    results = asyncio.run(
        bench_shapes.bench_shapes(
            single, QUESTION, expect_answer, rounds=rounds,
            seconds=args.shape_seconds, say=say,
        )
    )  # fmt: skip
    for server in (shipped.rasa, nofreeze, ours):
        server.stop()
    # The scaled shape in a folder PostgreSQL's own user reaches (as root).
    folder = Path(tempfile.mkdtemp(prefix="polkuopas-bench-scaled-"))
    folder.chmod(0o755)
    scaled = Scaled(
        folder / "scaled", free_port(), say=say, extra_env=RATE_LIMITS_RAISED
    )
    say("part 4: starting the scaled shape (make run-scaled's code)")
    try:
        scaled.start()
        shape = bench_shapes.Shape(
            "scaled",
            "scaled (nginx, 2 Rasa)",
            scaled.port,
            scaled.issue_token(CLIENT),
            scaled.processes(),
            [scaled.servers[name].log for name in ("rasa-1", "rasa-2")],
        )
        results.update(
            asyncio.run(
                bench_shapes.bench_shapes(
                    [shape], QUESTION, expect_answer, rounds=rounds,
                    seconds=args.shape_seconds, say=say,
                )
            )
        )  # fmt: skip
    finally:
        scaled.stop()
        if args.keep:
            say(f"the scaled shape's logs are in {scaled.log}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
