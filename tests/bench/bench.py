"""`make bench`: Polkuopas's performance figures on this machine.

    .venv/bin/python tests/bench/bench.py [--out reports/bench.md] [--quick]

Starts every server itself, as subprocesses on free loopback ports, with a
temporary client store seeded with the demo data and personal tokens, and
stops them at the end (exactly the process groups it started). Parts:

1. Rasa in-process (tests/bench/bench_rasa.py in .venv-rasa): NLU parse
   latency, conversation turns with each Rasa-side change on top of the one
   before (what each change buys), and a check that the changes answer and
   store exactly as shipped. Its model loads while the two `rasa run` of part
   3 start; it measures once they are up and idle.
2. The action server alone: ours (FastAPI/uvicorn, `python -m
   polkuopas.action_server`) against rasa_sdk's Sanic server (`python -m
   rasa_sdk --actions polkuopas.sdk_actions`) on the same actions, with the
   request Rasa 3.6 really sends (captured in part 1), at 1 and 16 connections;
   plus our server with each proposed change.
3. End to end through the REST channel with a personal token (`rasa run` as
   shipped against `rasa run` with the proposed changes, side by side): one
   conversation, 16 conversations back to back (saturation), and turn 1
   against turn 100 of one long conversation.
4. The report: a side-by-side table on stdout and Markdown in --out.

Every figure is the median of the repeats named next to it; every load loop is
bounded by a number of requests and by time, and the whole run by --budget
(fewer repeats when the machine is slow). The CPU time the servers used per
request (from /proc) is given next to the wall-clock figures: on a shared
machine it moves much less than they do. Exit code 1 if a server fails to
start, stops, or answers wrongly.
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
from loadgen import Run, build_request, closed_loop, json_body
from servers import (
    ACTION_SECRET,
    BOT_PYTHON,
    HOST,
    PROJECT_ROOT,
    SECRET_HEADER,
    DemoStore,
    Server,
    ServerFailed,
    our_action_server,
    rasa_server,
    sdk_action_server,
)

BENCH = Path(__file__).resolve().parent
MODEL = PROJECT_ROOT / "bot" / "models" / "polkuopas.tar.gz"
QUESTION = "kuka on minun työvalmentajani?"
EXPECTED = b"Sari Lehtonen"
CLIENT = "demo-suvi"
MAX_EVENTS = 20

# The proposed action-server changes, cumulative (tests/bench/app_side/).
TUNE_STEPS: list[tuple[str, tuple[str, ...], str]] = [
    ("ours", (), "ours as shipped"),
    ("ours+8", ("route",), "+ 8 plain route"),
    ("ours+9", ("route", "log"), "+ 9 no INFO line per action"),
    ("ours+10", ("route", "log", "store"), "+ 10 plain SQL in load_view"),
    ("ours+11", ("route", "log", "store", "json"), "+ 11 ujson"),
    (
        "ours+all",
        ("route", "log", "store", "json", "shape"),
        "+ 12 isinstance shape check",
    ),
]
TUNED = TUNE_STEPS[-1][1]


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


def command_output(command: list[str]) -> str:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=60, check=False
        ).stdout.strip()
    except OSError:
        return ""


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
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
        "cpu": cpu,
        "memory_gb": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        ),
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


def endpoints_for(tracker_db: Path, *, proposed: bool) -> dict[str, Any]:
    """bot/endpoints.yml with a temporary tracker store; the action endpoint
    as shipped, its URL from POLKUOPAS_ACTION_URL (set per Rasa process);
    `proposed`: the SQL store replaced by CachedSQLTrackerStore."""
    endpoints = product_endpoints()
    action = dict(endpoints.get("action_endpoint") or {})
    action["url"] = "${POLKUOPAS_ACTION_URL}"
    endpoints["action_endpoint"] = action
    tracker = dict(endpoints.get("tracker_store") or {})
    if tracker.get("dialect", "sqlite") == "sqlite" and tracker.get("type") == "SQL":
        tracker["db"] = str(tracker_db)
        if proposed:
            tracker["type"] = "polkuopas_speedups.CachedSQLTrackerStore"
            tracker["max_events"] = MAX_EVENTS
    endpoints["tracker_store"] = tracker
    return endpoints


# --- part 1: Rasa in-process -----------------------------------------------------


class InProcess:
    """Part 1 as a subprocess in the bot environment (tests/bench/bench_rasa.py).

    It loads the model while the `rasa run` servers of part 3 start, then waits
    for the `go` file, so that nothing else starts while it measures.
    """

    def __init__(self, root: Path, action: Server, args, budget: Budget):
        self.root, self.out = root, root / "rasa-inprocess.json"
        self.go = root / "go"
        self.log = root / "rasa-inprocess.log"
        endpoints = root / "endpoints-inprocess.yml"
        endpoints.write_text(
            yaml.safe_dump(
                endpoints_for(root / "tracker-inprocess.db", proposed=False)
            ),
            encoding="utf-8",
        )
        self.action_url = action.url + "/webhook"
        # What is left for part 1 once parts 2 and 3 have theirs.
        self.seconds = max(150.0, min(420.0, budget.left() - 250))
        self.command = [
            str(BOT_PYTHON), str(BENCH / "bench_rasa.py"),
            "--model", str(args.model), "--endpoints", str(endpoints),
            "--out", str(self.out), "--work", str(root),
            "--turns", str(args.turns), "--rounds", "1" if args.quick else "2",
            "--max-events", str(MAX_EVENTS), "--budget", str(self.seconds - 30),
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
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from test_action_server import action_call

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
    for key, tune, _ in TUNE_STEPS:
        servers[key] = our_action_server(root, store.path, tag=key, tune=tune)
    servers["rasa_sdk"] = sdk_action_server(root, store.path)
    servers["rasa_sdk+store"] = sdk_action_server(
        root, store.path, tag="rasa_sdk+store", tune=("store",)
    )
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
                for k in ("ours", "ours+all", "rasa_sdk", "rasa_sdk+store")
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


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(" --- " for _ in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


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
    shipped, proposed = e2e.get("shipped", {}), e2e.get("proposed", {})

    def pair(key: str, digits: int = 1) -> list[str]:
        nan = float("nan")
        return [fmt(shipped.get(key, nan), digits), fmt(proposed.get(key, nan), digits)]

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
            f"long conversation turn {shipped.get('long_turns', 100)} (ms)",
            *pair("turn_last_ms", 0),
            "no growth",
        ],
        ["  median of turns 1-5 (ms)", *pair("first5_ms", 0), ""],
        ["  median of the last 5 turns (ms)", *pair("last5_ms", 0), ""],
        ["Rasa CPU per message (ms)", *pair("sat_rasa_cpu_ms", 1), ""],
        ["action server CPU per message (ms)", *pair("sat_action_cpu_ms", 1), ""],
        [
            "action server req/s, 1 connection (rasa_sdk: "
            f"{action('rasa_sdk', 1, 'rps')})",
            action("ours", 1, "rps"),
            action("ours+all", 1, "rps"),
            ">= rasa_sdk",
        ],
        [
            "action server req/s, 16 connections (rasa_sdk: "
            f"{action('rasa_sdk', 16, 'rps')})",
            action("ours", 16, "rps"),
            action("ours+all", 16, "rps"),
            ">= rasa_sdk",
        ],
    ]
    return ["figure", "as shipped", "with the changes", "aim"], rows


def reading(data: dict[str, Any]) -> list[str]:
    """A few sentences on what limits the figures (from this run's numbers)."""
    proposed = data.get("e2e", {}).get("proposed")
    nlu = data.get("rasa", {}).get("nlu", {})
    if not proposed or not nlu:
        return []
    lean = nlu.get("without_unused", nlu)
    parts = {c["component"]: c["ms_per_message"] for c in nlu.get("components", [])}
    rate, cpu = proposed["sat_rate"], proposed["sat_rasa_cpu_ms"]
    lines = [
        f"Where the time goes with the changes: Rasa used {fmt(cpu)} ms of CPU "
        f"per message at saturation; parsing alone used {fmt(lean.get('cpu_ms'))} "
        "ms of CPU per message in-process (wall time per component as shipped: "
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
            "beyond these changes it takes a cheaper NLU pipeline (DIET's size, "
            "the spaCy pipes the lemmas need), a machine not shared with other "
            "work, or a second Rasa process with conversations routed to a "
            "fixed process (Rasa's in-memory lock store serialises a "
            "conversation only within one process)."
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
        f"Generated by `make bench` (tests/bench/bench.py) on {info['date']} in "
        f"{data['seconds']:.0f} s. Figures, not timed tests: on a shared machine "
        "they move from run to run; each is the median of the repeats given. The "
        "CPU time the servers used per request (read from /proc) moves much less "
        "than the wall-clock figures and is given next to them.",
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
        "- shipped endpoints (bot/endpoints.yml), used as they are: action "
        f"endpoint with headers {action_headers} (the bench sets the URL and a "
        "secret); tracker store "
        f"`{json.dumps(product_endpoints().get('tracker_store'))}` (the bench "
        "points `db` at a temporary file); Rasa's default in-memory lock store",
        f'- the question: "{QUESTION}" as {CLIENT} (personal token), which '
        "runs `action_responsible` on the action server; every answer is checked "
        f'for "{EXPECTED.decode()}"',
        "- all traffic on 127.0.0.1; keep-alive HTTP/1.1 clients "
        "(tests/bench/loadgen.py); the servers run one process each (uvicorn "
        "with uvloop and httptools; Sanic with one worker)",
        "",
        "## Summary",
        "",
    ]
    header, rows = headline(data)
    lines += table(header, rows)
    lines += [
        "",
        '"With the changes": changes 1-12 (listed at the end), all applied: the '
        "Rasa patches, spaCy without NER, `CachedSQLTrackerStore` with a window "
        f"of {MAX_EVENTS} events, and our action server with changes 8-12; not "
        "the MemoizationPolicy option. The action-server rows compare ours with "
        "rasa_sdk's server as shipped; the table below also has rasa_sdk with "
        "change 10, which speeds up both.",
        "",
    ]
    lines += reading(data)
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
                "as shipped",
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
                    "change 5: spaCy without NER",
                    fmt(other["p50_ms"]),
                    fmt(other["p95_ms"]),
                    fmt(other["mean_ms"]),
                    fmt(other.get("cpu_ms")),
                ]
            )
        lines += table(["pipeline", "p50 ms", "p95 ms", "mean ms", "CPU ms"], rows)
        lines += ["", "Per component, as shipped (ms per message):", ""]
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
            "per message, during the saturation runs.",
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
            f"One Rasa process, one model load; each row adds one change to the "
            f"row above; per row one conversation of {args.turns} turns of the "
            "question (median of the rounds given), the action server as shipped. "
            '"Rasa CPU" is the Rasa process\'s CPU time per turn.',
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
                "questions (tests/bench/bench_rasa.py, CHECK_SCRIPT: a path "
                "chosen by button, two misses in a row, personal and general "
                "questions; anonymous and as demo-suvi) as shipped and with "
                "changes 1-7: **same answers: "
                f"{'yes' if check['same_answers'] else 'NO'}; same stored events: "
                f"{'yes' if check['same_rows'] else 'NO'}** (the stored events "
                "compared without their timestamps, model id and message id).",
            ]
            lines += [f"- {note}" for note in check["notes"]]
        lines.append("")
    actions = data.get("actions")
    if actions:
        names = {k: label for k, _, label in TUNE_STEPS}
        names["rasa_sdk"] = "rasa_sdk 3.21 (Sanic), `python -m rasa_sdk`"
        names["rasa_sdk+store"] = "rasa_sdk + 10 plain SQL in load_view"
        sizes = ", ".join(
            f"{k} {v / 1000:.0f} kB" for k, v in actions["request_bytes"].items()
        )
        lines += [
            "## The action server alone",
            "",
            "The same ten actions, the same store: ours "
            "(`python -m polkuopas.action_server`, FastAPI on uvicorn) and "
            "rasa_sdk's own server (`python -m rasa_sdk --actions "
            "polkuopas.sdk_actions`), side by side in one run, each a single "
            "process. The body is "
            + (
                "the request Rasa 3.6 built for `action_responsible` in part 1"
                if actions["captured"]
                else "tests/test_action_server.py's action_call() (no capture)"
            )
            + f" ({sizes}; the domain included, as Rasa sends it). Each run: "
            "at most 1,200 requests per connection (100 at 16 connections, 250 "
            "of the long body) or 1.5 s, after 20 warm-up requests. The numbers "
            "name the changes below; each row adds one to the row above.",
            "",
        ]
        order = [k for k, _, _ in TUNE_STEPS] + ["rasa_sdk", "rasa_sdk+store"]
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
## The changes

Rasa side, in tests/bench/rasa_side/polkuopas_speedups.py. None of them
changes what the assistant answers or what is stored.

1. **Validate action-server responses with one cached validator.** Rasa 3.6.21
   calls `jsonschema.validate(result, schema)` on every custom action response,
   and jsonschema 4.17 first checks the schema itself against the metaschema:
   tens of milliseconds on every turn that calls the action server. The schema
   is a constant, so the validator is built once; the response is still
   validated, with Rasa's error message.
2. **Cache the event type look-up** (`Event.resolve_by_type` walks every
   subclass of `Event` for each event it deserialises).
3. **Do not format the conversation for a debug line that is not logged**
   (`RulePolicy` calls `format_tracker_states` on every prediction).
4. **Keep-alive to the action server**: Rasa opens a new aiohttp session, so
   a new TCP connection, for every action call; one session per endpoint is
   kept (idle connections closed after 2 s, before uvicorn's 5 s).
5. **spaCy without its unused pipe.** Rasa's `SpacyNLP` loads the spaCy model
   without `parser` and runs every other pipe on every message; nothing in
   bot/config.yml reads the named entities (`ner`; there is no
   SpacyEntityExtractor), so it is disabled. On tests/nlu/eval.yml the tokens,
   lemmas, tags and vectors are identical with and without it, so the model's
   features and answers are too.
6. **`CachedSQLTrackerStore`**: Rasa's SQL tracker store on SQLite (the same
   table and rows; every event is still written at every turn) that keeps the
   trackers of recent conversations in memory instead of re-reading and
   replaying the whole conversation every turn, knows how many events are
   saved instead of counting them, writes a turn's events in one multi-row
   INSERT instead of one ORM object each, and keeps one SQLite connection
   (SQLAlchemy 1.4 opens one per query for SQLite files) in WAL mode with
   `synchronous=NORMAL`. A cached tracker is used only if it holds exactly what
   was saved (a turn that failed half-way is re-read from SQLite), and never
   across a new session or with an event broker.
7. **A window of the last events** (`max_events`): a tracker longer than twice
   `max_events` is cut at a turn boundary to about the last `max_events`
   events, the state at the cut carried over as a session start with the
   slots set (as `carry_over_slots_to_new_session` does). Prediction, Rasa's
   copies of the tracker and the request to the action server then stay the
   same size however long the conversation gets; the stored conversation is
   complete. It suits this assistant: its rules look at the last turn, the
   MemoizationPolicy at three, and no rule uses `conversation_start`. A rule,
   story or form that needs a longer history would need a larger window.
   Checked: 84 turns of mixed questions (buttons with a slot, two fallbacks in
   a row, path overview, human request) give the same answers and the same
   stored rows (but for the random message ids) with 6+7 as with Rasa's store.

Action server side, in tests/bench/app_side/polkuopas_bench_tune.py (the bench
applies them from outside; in the product they are these edits):

8. `actions/polkuopas/action_server.py`: `POST /webhook` as a plain route,
   `async def webhook(request: Request) -> JSONResponse` taking
   `executor = request.app.state.executor`, registered with
   `app.add_route("/webhook", webhook, methods=["POST"])`. Now it is a FastAPI
   route whose `def get_executor` dependency FastAPI solves on every request
   and runs in a worker thread (a plain `def` dependency). The smallest form of
   this change, `async def get_executor`, removes only the thread hop.
9. `actions/polkuopas/bot_actions.py`, `PolkuopasAction.run`: `log.debug`
   instead of `log.info` (one log line per action call).
10. `actions/polkuopas/store.py`: `find_client`, `step_history` and
    `find_followup` with `self.db.query("SELECT * FROM … WHERE …", [...])`
    instead of `self.db[table].rows_where(...)`, which first lists the tables
    and views (three extra statements per look-up; `load_view` makes three).
    It serves rasa_sdk's server as much as ours.
11. `action_server.py`, `_read_action_call`: `ujson.loads(body)` instead of
    `json.loads(body)`, as rasa_sdk's Sanic does (ujson comes with rasa-sdk's
    Sanic; declare it in pyproject.toml). Its errors are `ValueError`s too.
12. `action_server.py`: check the request's shape with `isinstance` (what
    `_ActionCallShape` accepts from JSON: `next_action` str or null; `tracker`
    null or an object with a string `sender_id` and, when present, `slots` and
    `latest_message` objects and `events` a list of objects; `domain` null or
    an object) instead of validating it into pydantic models, which copies the
    whole tracker. tests/test_action_server.py passes with 8-12 applied.

To apply the Rasa side in the product: copy `polkuopas_speedups.py` to `bot/`,
call `polkuopas_speedups.install()` at the top of `bot/polkuopas_channel.py`
(Rasa imports the channel before it loads the model), and in
`bot/endpoints.yml` use `type: polkuopas_speedups.CachedSQLTrackerStore` with
`max_events: 20` (keep `dialect` and `db`). It assumes one Rasa process per
tracker database with the in-memory lock store; several Rasa processes on one
database need `cache_size: 0`.
"""


# --- main ---------------------------------------------------------------------


def print_summary(data: dict[str, Any]) -> None:
    header, rows = headline(data)
    print()
    print(text_table(header, rows))
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(PROJECT_ROOT / "reports" / "bench.md"))
    parser.add_argument("--model", default=str(MODEL))
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--budget", type=float, default=580.0, help="seconds")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
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
        shipped_action = our_action_server(root, demo.path, tag="shipped")
        tuned_action = our_action_server(root, demo.path, tag="tuned", tune=TUNED)
        servers += [shipped_action, tuned_action]
        for server in (shipped_action, tuned_action):
            server.start(90)
        stacks = [
            Stack(
                "shipped",
                "as shipped",
                rasa_server(
                    root,
                    "shipped",
                    model=Path(args.model),
                    store=demo.path,
                    endpoints=endpoints_for(
                        root / "tracker-shipped.db", proposed=False
                    ),
                    action_url=shipped_action.url + "/webhook",
                ),
                shipped_action,
            ),
            Stack(
                "proposed",
                "with the changes",
                rasa_server(
                    root,
                    "proposed",
                    model=Path(args.model),
                    store=demo.path,
                    endpoints=endpoints_for(
                        root / "tracker-proposed.db", proposed=True
                    ),
                    action_url=tuned_action.url + "/webhook",
                    speedups=True,
                ),
                tuned_action,
            ),
        ]
        # The two `rasa run` of part 3 load their model while part 1 loads its
        # own; part 1 measures once they are up (and idle).
        say("starting `rasa run` as shipped and with the changes (for part 3)")
        for stack in stacks:
            servers.append(stack.rasa)
            stack.rasa.launch()
        inprocess = InProcess(root, shipped_action, args, budget)
        inprocess.start()
        try:
            for stack in stacks:
                stack.rasa.wait_until_up(360)
            say(
                "Rasa servers up: "
                + ", ".join(f"{s.key} {s.rasa.started_in:.0f}s" for s in stacks)
            )
            inprocess.measure_now()
            data["load"]["part 1"] = os.getloadavg()
            data["rasa"] = inprocess.result()
        finally:
            inprocess.stop()

        data["load"]["part 2"] = os.getloadavg()
        data["actions"] = asyncio.run(
            bench_action_servers(
                root, demo, data["rasa"]["turns"]["requests"], args, budget
            )
        )

        say("part 3: end to end through the REST channel")
        data["load"]["part 3"] = os.getloadavg()
        data["e2e"] = asyncio.run(bench_end_to_end(stacks, token, args, budget))
        failed = False
    except (ServerFailed, Failure) as exc:
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


if __name__ == "__main__":
    sys.exit(main())
