"""`make loadtest`: simulated clients chat with the whole stack for a bounded time.

    .venv/bin/python -m benchmarks.load.loadtest [--clients 50] [--duration 120]
        [--think 2 6] [--timeout 10] [--goal-p95 500] [--no-web]
        [--target single|scaled] [--out reports/load.md]

By default it starts its own stack on free loopback ports, as `make run` does
but with a temporary client store: the action server, Rasa with the trained
model (bot/models/polkuopas.tar.gz, made by `make train`) and the shipped
bot/endpoints.yml (its SQLite tracker store pointed at a temporary file), and
the web app. The store is seeded with the load clients (benchmarks/load/scenario.py:
each with their own professionals and personal token, on the three paths).

`--target scaled` (`make loadtest TARGET=scaled`) starts the scale-out shape
instead, with the code of `make run-scaled` (deploy/run_scaled.py): nginx on a
free port in front of two Rasa servers, PostgreSQL for the tracker and client
stores, the atomic Redis lock store, two action servers and the web app, in a
temporary folder; the load clients are seeded into its PostgreSQL client
store, and every request goes through nginx. The memory and CPU of each of
those processes are sampled.

Against a stack that is already running, seed its store first, then point the
load test at it:

    .venv/bin/python -m benchmarks.load.loadtest seed --db var/polkuopas.db \\
        --clients 50 --out var/load-clients.json
    .venv/bin/python -m benchmarks.load.loadtest --rasa-url http://127.0.0.1:5005 \\
        --web-url http://127.0.0.1:8000 --clients-file var/load-clients.json \\
        [--pid rasa=PID ...]

Each client waits a random think time (a person reads the answer and types)
before every message, runs whole conversations and starts a new one (a new
`sender`) when one ends; clients arrive spread over the first think time. Every
answer is checked; a wrong answer, a non-2xx status or a timeout is an error.
Progress every 10 s; the report goes to --out and a summary to stdout. Exit 0
when the goal is met (no errors, chat p95 under --goal-p95 ms), 1 when it is
missed (the reasons are printed), 2 when the test could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from benchmarks.load import results, scenario
from benchmarks.load.results import Record, Sample
from benchmarks.loadgen import Connection, HttpError, build_request, json_body
from benchmarks.reporting import command_output, cpu_model, memory_gb
from benchmarks.servers import our_action_server, rasa_server
from deploy.run_scaled import Scaled
from deploy.servers import (
    APP_PYTHON,
    BOT_PYTHON,
    HOST,
    Server,
    ServerFailed,
    base_env,
    free_port,
)
from polkuopas.catalog import load_catalog
from polkuopas.settings import PROJECT_ROOT, Settings

MODEL = PROJECT_ROOT / "bot" / "models" / "polkuopas.tar.gz"
ENDPOINTS = PROJECT_ROOT / "bot" / "endpoints.yml"
CHANNEL = PROJECT_ROOT / "bot" / "polkuopas_rasa" / "channel.py"
SPEEDUPS = PROJECT_ROOT / "bot" / "polkuopas_rasa" / "speedups.py"
# Close a connection idle this long before the server would (uvicorn closes
# idle keep-alive connections after 5 s, Rasa's Sanic after 120 s).
IDLE_LIMIT = {"rasa": 100.0, "web": 4.0}
PROGRESS_SECONDS = 10


def say(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Failure(Exception):
    """The load test cannot run (the message says why)."""


# --- the stack ----------------------------------------------------------------


def endpoints_for(tracker_db: Path) -> dict[str, Any]:
    """bot/endpoints.yml as shipped, with its SQLite tracker store moved to a
    temporary file; the action endpoint's URL and secret come from the
    environment as in `make run`."""
    endpoints = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8")) or {}
    tracker = dict(endpoints.get("tracker_store") or {})
    if tracker.get("db") and tracker.get("dialect", "sqlite") == "sqlite":
        tracker["db"] = str(tracker_db)
        endpoints["tracker_store"] = tracker
    return endpoints


def web_server(root: Path, store: Path, rasa_url: str) -> Server:
    port = free_port()
    env = base_env()
    env.update(
        POLKUOPAS_DB=str(store),
        POLKUOPAS_WEB_HOST=HOST,
        POLKUOPAS_WEB_PORT=str(port),
        POLKUOPAS_RASA_URL=rasa_url,
        POLKUOPAS_DEMO="false",
    )
    return Server(
        name="web app",
        command=[str(APP_PYTHON), "-m", "polkuopas.web"],
        port=port,
        health_path="/health",
        log=root / "web.log",
        env=env,
    )


@dataclass
class Stack:
    """Where the clients send their requests, and the servers to watch."""

    rasa: tuple[str, int]
    web: tuple[str, int] | None
    watched: dict[str, int] = field(default_factory=dict)  # name -> pid
    servers: list[Server] = field(default_factory=list)  # started here
    started_in: dict[str, float] = field(default_factory=dict)
    own: bool = True
    scaled: Scaled | None = None  # --target scaled

    def check_alive(self) -> None:
        for server in self.servers:
            server.check_alive()

    def stop(self) -> None:
        if self.scaled is not None:
            self.scaled.stop()
            return
        for server in reversed(self.servers):
            server.stop()


def own_stack(root: Path, store: Path, with_web: bool) -> Stack:
    if not MODEL.exists():
        raise Failure(f"no trained model at {MODEL}: run `make train` first")
    if not BOT_PYTHON.exists():
        raise Failure("the bot environment .venv-rasa is missing: run `make install`")
    action = our_action_server(root, store, tag="load")
    stack = Stack(rasa=(HOST, 0), web=None)
    try:
        say("starting the action server")
        action.start(60)
        stack.servers.append(action)
        rasa = rasa_server(
            root,
            "load",
            model=MODEL,
            store=store,
            endpoints=endpoints_for(root / "tracker.db"),
            action_url=action.url + "/webhook",
        )
        rasa.name = "Rasa"
        say("starting Rasa with the trained model (a minute or two)")
        rasa.launch()
        stack.servers.append(rasa)
        if with_web:
            web = web_server(root, store, rasa.url)
            web.launch()
            stack.servers.append(web)
            web.wait_until_up(60)
            stack.web = (HOST, web.port)
        rasa.wait_until_up(300)
        stack.rasa = (HOST, rasa.port)
    except BaseException:
        stack.stop()
        raise
    action.name = "action server"
    for server in stack.servers:
        assert server.process is not None
        stack.watched[server.name] = server.process.pid
        stack.started_in[server.name] = server.started_in
    return stack


def scaled_stack(root: Path, clients: int, with_web: bool):
    """The scale-out shape (make run-scaled's code) in `root`, its client
    store seeded with the load clients; every request through nginx."""
    if not MODEL.exists():
        raise Failure(f"no trained model at {MODEL}: run `make train` first")
    # As root, PostgreSQL runs as its own user, which must reach its folder.
    root.chmod(0o755)
    scaled = Scaled(root / "scaled", free_port(), say=say)
    stack = Stack(rasa=(HOST, 0), web=None, scaled=scaled)
    try:
        say("starting the scaled shape (nginx, 2 Rasa, PostgreSQL, Redis; minutes)")
        scaled.start()
        say(f"seeding {clients} load clients into its PostgreSQL client store")
        every = scenario.seed(scaled.client_db, clients)
    except BaseException:
        stack.stop()
        raise
    stack.rasa = (HOST, scaled.port)
    stack.web = (HOST, scaled.port) if with_web else None
    stack.servers = list(scaled.servers.values())
    for name, server in scaled.servers.items():
        assert server.process is not None
        stack.watched[name] = server.process.pid
        stack.started_in[name] = server.started_in
    assert scaled.postgres is not None and scaled.redis is not None
    stack.watched["postgresql"] = scaled.postgres.pids()[0]
    stack.watched["redis"] = scaled.redis.process.pid
    return stack, every


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise Failure(f"{url!r}: give an http://host:port URL")
    return parts.hostname, parts.port or 80


# --- resources ----------------------------------------------------------------


def children_of() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return children


def process_tree(root_pid: int, children: dict[int, list[int]]) -> list[int]:
    """The process and all its descendants."""
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def usage(root_pid: int, children: dict[int, list[int]]) -> tuple[int, float] | None:
    """(RSS bytes, CPU seconds) of a process tree; None when it is gone."""
    rss, ticks, seen = 0, 0, False
    for pid in process_tree(root_pid, children):
        try:
            statm = Path(f"/proc/{pid}/statm").read_text().split()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        seen = True
        rss += int(statm[1]) * PAGE
        ticks += int(fields[11]) + int(fields[12])
    return (rss, ticks / TICK) if seen else None


def machine_busy() -> float:
    """CPU seconds all cores have been busy since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICK


class Sampler(threading.Thread):
    """Samples the servers' memory and CPU once a second."""

    def __init__(self, watched: dict[str, int], start: float):
        super().__init__(daemon=True)
        self.watched, self.start_time = watched, start
        self.samples: list[Sample] = []
        self.halt = threading.Event()

    def sample(self) -> Sample:
        rss, cpu = {}, {}
        children = children_of() if self.watched else {}
        for name, pid in self.watched.items():
            used = usage(pid, children)
            if used is not None:
                rss[name], cpu[name] = used
        own = resource.getrusage(resource.RUSAGE_SELF)
        return Sample(
            at=time.monotonic() - self.start_time,
            rss=rss,
            cpu=cpu,
            load1=os.getloadavg()[0],
            machine_busy=machine_busy(),
            own_cpu=own.ru_utime + own.ru_stime,
        )

    def run(self) -> None:
        while not self.halt.is_set():
            self.samples.append(self.sample())
            self.halt.wait(1.0)

    def stop(self) -> list[Sample]:
        self.halt.set()
        self.join(timeout=5)
        self.samples.append(self.sample())
        return self.samples


# --- the clients ----------------------------------------------------------------


class Endpoint:
    """One client's keep-alive connection to one server, as a browser keeps it."""

    def __init__(self, host: str, port: int, idle_limit: float):
        self.host, self.port, self.idle_limit = host, port, idle_limit
        self.connection = Connection(host, port)
        self.last_used = 0.0

    async def send(self, raw: bytes, timeout: float) -> tuple[int, bytes]:
        if time.monotonic() - self.last_used > self.idle_limit:
            await self.connection.close()
        try:
            return await asyncio.wait_for(self.connection.send(raw), timeout)
        except BaseException:
            await self.connection.close()
            raise
        finally:
            self.last_used = time.monotonic()

    async def close(self) -> None:
        await self.connection.close()


@dataclass
class Run:
    stack: Stack
    clients: list[scenario.LoadClient]
    catalog: Any
    think: tuple[float, float]
    timeout: float
    duration: float
    seed: int
    active: int = 0  # the first `active` clients take part in the load
    records: list[Record] = field(default_factory=list)
    conversations: int = 0
    start: float = 0.0
    counting: bool = True  # False during the warm-up

    def __post_init__(self) -> None:
        self.everyone = set().union(*(c.all_names() for c in self.clients))

    def record(
        self, began: float, kind: str, error: str = "", detail: str = "", text=""
    ):
        if self.counting:
            seconds = time.monotonic() - began
            self.records.append(
                Record(began - self.start, kind, seconds, error, detail, text)
            )
        elif error:
            say(f"warm-up: {error}: {kind}: {detail}")

    async def request(
        self, endpoint: Endpoint, raw: bytes, kind: str
    ) -> tuple[float, int, bytes] | None:
        began = time.monotonic()
        try:
            status, body = await endpoint.send(raw, self.timeout)
        except TimeoutError:
            self.record(began, kind, "timeout", f"no answer in {self.timeout:.0f} s")
            return None
        except (OSError, asyncio.IncompleteReadError, HttpError, ValueError) as exc:
            self.record(began, kind, "connection", type(exc).__name__)
            return None
        return began, status, body

    async def chat(
        self,
        endpoint: Endpoint,
        client: scenario.LoadClient,
        sender: str,
        turn: scenario.Turn,
    ) -> Any | None:
        raw = build_request(
            "POST",
            endpoint.host,
            endpoint.port,
            "/webhooks/rest/webhook",
            json_body({"sender": sender, "message": turn.message}),
            {"Authorization": f"Bearer {client.token}"},
        )
        done = await self.request(endpoint, raw, turn.kind)
        if done is None:
            return None
        began, status, body = done
        text = turn.message
        if status != 200:
            kind = "rate limited (429)" if status == 429 else f"HTTP {status}"
            shown = body[:120].decode(errors="replace")
            self.record(began, turn.kind, kind, shown, text)
            return None
        try:
            answer = json.loads(body)
        except ValueError:
            shown = body[:80].decode(errors="replace")
            self.record(began, turn.kind, "not JSON", shown, text)
            return None
        wrong = scenario.judge(answer, turn, client, self.everyone)
        if wrong:
            self.record(began, turn.kind, *wrong, text)
            return None
        self.record(began, turn.kind, text=text)
        return answer

    async def web(
        self,
        endpoint: Endpoint,
        client: scenario.LoadClient,
        kind: str,
        method: str,
        path: str,
        body: Any,
        expect: tuple[int, Any],
    ) -> None:
        raw = build_request(
            method,
            endpoint.host,
            endpoint.port,
            path,
            json_body(body) if body is not None else b"",
            {"Authorization": f"Bearer {client.token}"},
        )
        done = await self.request(endpoint, raw, kind)
        if done is None:
            return
        began, status, data = done
        text = data[:120].decode(errors="replace")
        if status != expect[0]:
            kind_of = "rate limited (429)" if status == 429 else f"HTTP {status}"
            self.record(began, kind, kind_of, text)
            return
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if not expect[1](answer):
            self.record(began, kind, "wrong answer", text)
            return
        self.record(began, kind)

    async def converse(
        self,
        client: scenario.LoadClient,
        rng: random.Random,
        deadline: float,
        conversations: int | None = None,
        think: tuple[float, float] | None = None,
    ) -> None:
        """Conversations of one client until the deadline (or `conversations`)."""
        rasa = Endpoint(*self.stack.rasa, IDLE_LIMIT["rasa"])
        web = Endpoint(*self.stack.web, IDLE_LIMIT["web"]) if self.stack.web else None
        script = scenario.Script(client, self.catalog, rng)

        async def pause() -> bool:
            await asyncio.sleep(rng.uniform(*(think or self.think)))
            return time.monotonic() < deadline

        try:
            done = 0
            while time.monotonic() < deadline and (
                conversations is None or done < conversations
            ):
                done += 1
                self.conversations += self.counting
                sender = f"load{client.id[5:]}-{done}-{rng.randrange(16**6):06x}"
                if web:  # the widget checks the token when the page opens
                    await self.web(
                        web, client, "web: identity", "GET", "/api/identity", None,
                        (200, lambda a: a == {"identity": "valid"}),
                    )  # fmt: skip
                topic = "greet_personal"
                for turn in script.conversation():
                    pending: scenario.Turn | None = turn
                    while pending is not None:
                        if not await pause():
                            return
                        answer = await self.chat(rasa, client, sender, pending)
                        if answer is None:
                            break
                        topic = next(
                            (m["polkuopas_message"] for m in answer
                             if isinstance(m, dict)
                             and isinstance(m.get("polkuopas_message"), str)),
                            topic,
                        )  # fmt: skip
                        pending = pending.then(answer) if pending.then else None
                    if turn.kind == "thanks" and web and rng.random() < 0.5:
                        # "Was this helpful?" clicked under an answer.
                        await self.web(
                            web, client, "web: feedback", "POST", "/api/feedback",
                            {"topic": topic, "helpful": True},
                            (201, lambda a: isinstance(a, dict) and "id" in a),
                        )  # fmt: skip
        finally:
            await rasa.close()
            if web:
                await web.close()

    async def warm_up(self, clients: list[scenario.LoadClient]) -> None:
        """One conversation on each path at once, a message a second, by clients
        of their own (the load clients start with full rate-limit buckets); not
        counted."""
        self.counting = False
        deadline = time.monotonic() + 120
        await asyncio.gather(
            *(
                self.converse(
                    c, random.Random(self.seed - i), deadline, 1, think=(1.0, 1.0)
                )
                for i, c in enumerate(clients)
            )
        )
        self.counting = True

    async def load(self) -> None:
        self.start = time.monotonic()
        deadline = self.start + self.duration

        async def one(index: int, client: scenario.LoadClient) -> None:
            rng = random.Random(self.seed * 100_003 + index)
            await asyncio.sleep(rng.uniform(0, self.think[1]))  # arrivals spread
            await self.converse(client, rng, deadline)

        tasks = [
            asyncio.create_task(one(i, c))
            for i, c in enumerate(self.clients[: self.active])
        ]
        progress = asyncio.create_task(self.progress(deadline))
        try:
            await asyncio.gather(*tasks)
        finally:
            progress.cancel()
            for task in tasks:
                task.cancel()

    async def progress(self, deadline: float) -> None:
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            now = time.monotonic() - self.start
            recent = [r for r in self.records if r.at >= now - PROGRESS_SECONDS]
            chat = [r.seconds * 1000 for r in self.records if r.chat]
            recent_chat = [r.seconds * 1000 for r in recent if r.chat]
            errors = sum(1 for r in self.records if r.error)
            say(
                f"{now:4.0f} s: {len(self.records)} requests, {errors} errors, "
                f"chat p95 {results.fmt(results.percentile(chat, 95))} ms "
                f"(last {PROGRESS_SECONDS} s: {len(recent)} requests, p95 "
                f"{results.fmt(results.percentile(recent_chat, 95))} ms), "
                f"load {os.getloadavg()[0]:.1f}"
            )
            try:
                self.stack.check_alive()
            except ServerFailed as exc:
                say(str(exc).split(";")[0])
            if time.monotonic() > deadline:
                say("time is up: waiting for the answers still on their way")


# --- facts for the report -------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    bot = command_output(
        [
            str(BOT_PYTHON),
            "-c",
            "import importlib.metadata as m, platform; print(f'Python "
            "{platform.python_version()}, ' + ', '.join(f'{p} {m.version(p)}' for p "
            "in ('rasa', 'tensorflow', 'sanic', 'SQLAlchemy')))",
        ]
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gb": memory_gb(),
        "kernel": platform.release(),
        "load_before": "/".join(f"{x:.1f}" for x in os.getloadavg()),
        "app": f"Python {platform.python_version()}, "
        + ", ".join(
            f"{p} {version(p)}" for p in ("fastapi", "uvicorn", "rasa-sdk", "pydantic")
        ),
        "bot": bot or "?",
    }


def limits_in_effect() -> str:
    settings = Settings()
    names = {
        "rate_limit_per_minute": "a minute per token",
        "rate_limit_burst": "burst",
        "rate_limit_address_per_minute": "a minute per address",
        "rate_limit_address_burst": "address burst",
    }
    return ", ".join(f"{getattr(settings, k):g} {v}" for k, v in names.items())


def shipped_speed_changes() -> str:
    """What bot/endpoints.yml and the channel ship, in the words of
    reports/bench.md."""
    endpoints = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8")) or {}
    tracker = endpoints.get("tracker_store") or {}
    channel = CHANNEL.read_text(encoding="utf-8")
    speedups = "speedups.install()" in channel
    return (
        f"tracker store `{tracker.get('type', 'in memory')}`"
        + (f" (max_events {tracker['max_events']})" if "max_events" in tracker else "")
        + "; Rasa-side changes of reports/bench.md (polkuopas_rasa.speedups) "
        + ("installed by the channel" if speedups else "not installed")
    )


def setup_items(args, stack: Stack, clients: list[scenario.LoadClient]) -> list[str]:
    paths = sorted({c.path_id for c in clients})
    items = [
        f"{len(clients)} simulated clients at once for {args.duration:.0f} s, all "
        "on loopback (127.0.0.1); each has its own personal token (sent as "
        "`Authorization: Bearer`), its own professionals with made-up names, and "
        f"is on one of the paths {', '.join(paths)} (benchmarks/load/scenario.py)",
        f"think time before every message: {args.think[0]:g}-{args.think[1]:g} s, "
        "uniformly random (a person reads the answer and types); clients arrive "
        f"spread over the first {args.think[1]:g} s; a new conversation (a new "
        "`sender`) starts as soon as one ends",
        "a conversation: a greeting; then, each with probability 0.85: who is my "
        "X, how do I reach X, where am I, what next, the path overview, what a "
        "role does, the follow-up contact, and an ambiguous word (valmentaja, "
        "palveluohjaaja or asiantuntija, meaning two of the client's own roles) "
        "answered by clicking one of the offered buttons (its payload is sent); "
        "then thanks and goodbye. Finnish, in the style of data/nlu/ but other "
        "sentences; the role and the wording are picked at random",
        "every answer is checked: the client's own professional's name (and phone "
        "number), their step, the next step, their path and its picture, the "
        "role's definition, who makes the follow-up contact, the buttons; an "
        "answer naming another client's professional is an error; so are a "
        f"status other than 200 (201 for feedback) and no answer within "
        f"{args.timeout:g} s",
        f"rate limits in effect (the defaults unless set): {limits_in_effect()}",
        f"seed {args.seed}; a warm-up of one conversation per path, not counted, "
        "before the clock starts",
    ]
    if stack.web:
        items.append(
            "the widget's web API calls: `GET /api/identity` when a conversation "
            'starts, and for half of the conversations a "was this helpful?" '
            "`POST /api/feedback` after the thanks"
        )
    if stack.scaled is not None:
        started = ", ".join(f"{k} {v:.0f} s" for k, v in stack.started_in.items())
        items += [
            "the scale-out shape, started by the load test with make "
            "run-scaled's code (deploy/run_scaled.py) in a temporary folder: "
            "nginx (round robin, deploy/nginx.conf) in front of two Rasa "
            "servers (deploy/endpoints.yml: Rasa's SQL tracker store on "
            "PostgreSQL, the atomic Redis lock store), two action servers and "
            "the web app; the client store in PostgreSQL; every request "
            f"through nginx; started in: {started}",
            f"model: `{MODEL.relative_to(PROJECT_ROOT)}`, "
            f"{MODEL.stat().st_size / 2**20:.0f} MB, written "
            f"{datetime.fromtimestamp(MODEL.stat().st_mtime):%Y-%m-%d %H:%M}",
            "memory and CPU: each server's process tree (PostgreSQL: the "
            "postmaster and its backends; nginx: master and workers)",
        ]
    elif stack.own:
        started = ", ".join(f"{k} {v:.0f} s" for k, v in stack.started_in.items())
        items += [
            "own stack, started by the load test: the action server (`python -m "
            "polkuopas.action_server`), Rasa (`rasa run` with the token channel, "
            "one process) and the web app (`python -m polkuopas.web`), each on a "
            f"free port with a temporary client store; started in: {started}",
            f"model: `{MODEL.relative_to(PROJECT_ROOT)}`, "
            f"{MODEL.stat().st_size / 2**20:.0f} MB, written "
            f"{datetime.fromtimestamp(MODEL.stat().st_mtime):%Y-%m-%d %H:%M}",
            "bot/endpoints.yml as shipped (the SQLite tracker store in a "
            f"temporary file): {shipped_speed_changes()}",
        ]
    else:
        items.append(
            f"an already running stack: Rasa at {stack.rasa[0]}:{stack.rasa[1]}"
            + (f", web app at {stack.web[0]}:{stack.web[1]}" if stack.web else "")
            + (
                "; servers watched: " + ", ".join(stack.watched)
                if stack.watched
                else "; no server processes given (--pid), so no memory or CPU"
            )
        )
    return items


def reading(summary: results.Summary, stack: Stack) -> list[str]:
    """What the figures say, for the report."""
    notes = []
    rasas = [
        u
        for u in summary.servers
        if (u.name == "Rasa" or u.name.startswith("rasa-"))
        and u.cpu_percent == u.cpu_percent
    ]
    for rasa in rasas:
        per_message = (
            rasa.cpu_seconds / summary.chat.count * 1000 if summary.chat.count else 0
        )
        share = " (of all chat messages, both servers')" if len(rasas) > 1 else ""
        notes.append(
            f"{rasa.name} used {rasa.cpu_percent:.0f}% of one core on average "
            f"({per_message:.0f} ms of CPU per chat message{share}; busiest 10 s: "
            f"{results.fmt(rasa.cpu_peak_percent)}%). Rasa handles messages on "
            "one event loop, so one Rasa process saturates at 100% of one core; "
            "queueing there is what makes the latency grow."
        )
        if rasa.cpu_peak_percent >= 85:
            notes.append(
                f"At its busiest {rasa.name} was close to a full core: it is the "
                "bottleneck of this run (reports/bench.md measures where its time "
                "goes and which changes reduce it)."
            )
    if summary.machine_busy_percent == summary.machine_busy_percent:
        ours = sum(u.cpu_seconds for u in summary.servers) / max(summary.duration, 1)
        cores = max(1, os.cpu_count() or 1)
        ours_pct = ours * 100 / cores
        own_pct = summary.own_cpu_percent / cores
        other = summary.machine_busy_percent - ours_pct
        notes.append(
            f"The machine's cores were {summary.machine_busy_percent:.0f}% busy, "
            f"of which the servers under test account for about {ours_pct:.0f}% "
            f"and the load generator for {own_pct:.0f}%; the rest (about "
            f"{max(0.0, other - own_pct):.0f}%) was other work on the machine."
        )
    stood_out = results.pauses(summary)
    if stood_out:
        grouped = results.together(summary.slowest)
        notes.append(
            f"{len(stood_out)} of the {len(summary.windows)} 10-s windows had a "
            "chat p95 well above the others (from "
            + ", ".join(f"{w.start:.0f} s" for w in stood_out)
            + f"). {grouped} of the {len(summary.slowest)} slowest requests "
            "started within 1.5 s of each other: when that is most of them, "
            "Rasa's event loop was held up for about that long (every message in "
            "flight waits), rather than messages queueing behind each other."
        )
    if "gc.freeze" not in SPEEDUPS.read_text(encoding="utf-8"):
        notes.append(
            "A known cause of such pauses (measured on this machine on "
            "2026-11-23, not applied yet): a full garbage collection in Rasa's "
            "process. With the model loaded Python tracks about 800,000 objects "
            "there, and a full collection takes 0.4-0.6 s, during which no "
            "message is handled; Python runs one now and then as objects come "
            "and go. `gc.freeze()` once the model is loaded moves those objects "
            "out of the collector's way: a full collection then took under 1 ms "
            "and parsing was as fast as before. Its place would be "
            "bot/polkuopas_rasa/speedups.py, after the model is loaded."
        )
    return [f"- {n}" for n in notes]


# --- main -------------------------------------------------------------------------


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loadtest.py",
        description="Simulated clients chat with the whole stack; "
        "`loadtest.py seed --help` for seeding a running stack's store.",
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120, help="seconds")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX")
    )
    parser.add_argument("--timeout", type=float, default=10, help="seconds a request")
    parser.add_argument("--goal-p95", type=float, default=500, help="ms")
    parser.add_argument("--no-web", action="store_true", help="chat only")
    parser.add_argument(
        "--target",
        choices=("single", "scaled"),
        default="single",
        help="the own stack: make run's shape or make run-scaled's",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports/load.md")
    parser.add_argument(
        "--rasa-url", help="a running Rasa server (with --clients-file)"
    )
    parser.add_argument("--web-url", help="a running web app")
    parser.add_argument("--clients-file", type=Path, help="written by `seed`")
    parser.add_argument(
        "--pid",
        action="append",
        default=[],
        metavar="NAME=PID",
        help="a running server to watch (memory, CPU); repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    return parser


def seed_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loadtest.py seed",
        description="Add load clients to a client store and write their tokens "
        "(readable by you only; delete the file after the run).",
    )
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--out", type=Path, required=True)
    return parser


def check_args(args) -> None:
    if not 1 <= args.clients <= scenario.MAX_CLIENTS:
        raise Failure(f"--clients must be 1-{scenario.MAX_CLIENTS}, not {args.clients}")
    if not args.duration > 0:
        raise Failure("--duration must be more than 0 seconds")
    if not 0 <= args.think[0] <= args.think[1]:
        raise Failure("--think MIN MAX: 0 <= MIN <= MAX")
    if not args.timeout > 0:
        raise Failure("--timeout must be more than 0 seconds")
    if bool(args.rasa_url) != bool(args.clients_file):
        raise Failure("a running stack needs both --rasa-url and --clients-file")
    if args.web_url and not args.rasa_url:
        raise Failure("--web-url goes with --rasa-url and --clients-file")
    if args.rasa_url and args.target != "single":
        raise Failure("--target starts an own stack: not with --rasa-url")


def external_stack(args) -> Stack:
    watched = {}
    for item in args.pid:
        name, _, pid = item.partition("=")
        if not name or not pid.isdigit():
            raise Failure(f"--pid {item!r}: give NAME=PID")
        watched[name] = int(pid)
    return Stack(
        rasa=address(args.rasa_url),
        web=address(args.web_url) if args.web_url and not args.no_web else None,
        watched=watched,
        own=False,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["seed"]:
            args = seed_parser().parse_args(argv[1:])
            clients = scenario.seed(args.db, args.clients)
            scenario.save_clients(clients, args.out)
            say(f"{len(clients)} load clients added to {args.db}; tokens in {args.out}")
            return 0
        args = run_parser().parse_args(argv)
        check_args(args)
        return run(args)
    except (Failure, ServerFailed, ValueError) as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2


def run(args) -> int:
    root: Path | None = None  # the own stack's work folder
    stack: Stack | None = None
    ok = False
    try:
        machine = machine_facts()
        extra = scenario.WARM_UP_CLIENTS
        if args.rasa_url:
            every = scenario.load_clients(args.clients_file)
            if len(every) < args.clients + extra:
                raise Failure(
                    f"{args.clients_file} has {len(every)} clients: --clients "
                    f"{args.clients} needs {args.clients + extra} (seed --clients "
                    f"{args.clients} writes them)"
                )
            stack = external_stack(args)
        else:
            root = Path(tempfile.mkdtemp(prefix="polkuopas-load-"))
            if args.target == "scaled":
                stack, every = scaled_stack(root, args.clients, not args.no_web)
            else:
                store = root / "store.db"
                say(f"seeding {args.clients} load clients; work folder {root}")
                every = scenario.seed(store, args.clients)
                stack = own_stack(root, store, with_web=not args.no_web)
        clients, warm = every[: args.clients], every[-extra:]
        catalog = load_catalog(PROJECT_ROOT / "paths")
        load = Run(
            stack, every, catalog, tuple(args.think), args.timeout, args.duration,
            args.seed, active=len(clients),
        )  # fmt: skip
        say("warm-up: one conversation per path")
        asyncio.run(load.warm_up(warm))
        stack.check_alive()
        say(
            f"{len(clients)} clients for {args.duration:.0f} s, think time "
            f"{args.think[0]:g}-{args.think[1]:g} s"
        )
        sampler = Sampler(stack.watched, time.monotonic())
        sampler.start()
        began = time.monotonic()
        asyncio.run(load.load())
        duration = time.monotonic() - began
        samples = sampler.stop()
        stopped = []
        for server in stack.servers:
            try:
                server.check_alive()
            except ServerFailed as exc:
                stopped.append(str(exc).split(";")[0])
        machine["load_after"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
        summary = results.summarise(
            load.records,
            samples,
            duration=min(duration, args.duration),
            goal_ms=args.goal_p95,
            server_names=list(stack.watched),
            conversations=load.conversations,
            clients=len(clients),
            cores=os.cpu_count() or 1,
            kinds=scenario.KINDS,
        )
        summary.failures += stopped
        setup = {
            "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "clients": len(clients),
            "duration": args.duration,
            "timeout": args.timeout,
            "machine": machine,
            "items": setup_items(args, stack, clients),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            results.render(summary, setup, reading(summary, stack)), encoding="utf-8"
        )
        print(results.stdout_summary(summary), flush=True)
        say(f"report: {args.out}")
        ok = True
        return 0 if summary.met else 1
    finally:
        if stack is not None:
            stack.stop()
        if root is not None:
            if (ok and not args.keep) or not any(root.iterdir()):
                shutil.rmtree(root, ignore_errors=True)
            else:
                say(f"logs and store kept in {root}")


if __name__ == "__main__":
    sys.exit(main())
