"""Part 4 of `make bench`: single Rasa against the scale-out shape, with the
CPU and memory of every server process.

The shapes, each measured through its one public address with the same
question and personal token as part 3:

* single Rasa: Polkuopas as shipped (`make run`: one Rasa with the cached
  SQLite tracker store, our action server), and the same with
  POLKUOPAS_GC_FREEZE=false (what gc.freeze buys);
* scaled: `make run-scaled` (deploy/run_scaled.py: nginx round robin in front
  of two Rasa servers, PostgreSQL for the tracker and client stores, the
  atomic Redis lock store, two action servers, the web app), started by the
  same code.

Per shape and round: saturation with 16 and with 64 conversations (each sends
its next message when the answer arrives), and an open loop at HALF_AIM
messages a second (half the aim of 60) for the latency a person meets below
saturation. Around every run the CPU time (utime + stime) of each server's
processes is read from /proc/<pid>/stat and their resident memory from
/proc/<pid>/status (deploy/servers.py), with the load generator's own CPU
time and the machine's busy time, so each millisecond of CPU per message is
placed: a server, the load generator, or other work on the machine.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.loadgen import Run, build_request, closed_loop, json_body, paced
from benchmarks.reporting import fmt, table
from deploy.servers import HOST, process_usage

AIM = 60.0  # messages a second, end to end
HALF_AIM = AIM / 2
P95_AIM_MS = 100.0
FROZEN_LINE = re.compile(rb"gc\.freeze after the model loaded: (\d+) objects frozen")
FREEZE_OFF_LINE = b"gc.freeze after the model loaded: off"
TICK = os.sysconf("SC_CLK_TCK")

Watched = dict[str, Callable[[], list[int]]]
Check = Callable[[int, bytes], str | None]


class Failure(Exception):
    """Part 4 cannot go on."""


def machine_busy() -> float:
    """CPU seconds all cores have been busy since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICK


def own_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


@dataclass
class Shape:
    key: str
    label: str
    port: int  # the one public address (Rasa itself, or nginx)
    token: str
    watched: Watched
    logs: list[Path]


@dataclass
class Measured:
    """One run, with what each process used during it."""

    run: Run
    cpu: dict[str, float]  # CPU seconds per server during the run
    rss_kb: dict[str, int]  # resident memory per server at its end
    generator: float  # the load generator's CPU seconds
    busy: float  # the machine's busy seconds (all cores)

    def per_message(self, seconds: float) -> float:
        return seconds / self.run.count * 1000 if self.run.count else float("nan")

    def breakdown(self) -> dict[str, float]:
        """CPU ms per message: each server, the load generator, the rest of
        the machine's busy time (other work)."""
        ours = sum(self.cpu.values()) + self.generator
        return {
            **{name: self.per_message(cpu) for name, cpu in self.cpu.items()},
            "load generator": self.per_message(self.generator),
            "other work on the machine": self.per_message(max(0.0, self.busy - ours)),
        }


def snapshot(watched: Watched) -> dict[str, Any]:
    return {name: process_usage(pids()) for name, pids in watched.items()}


async def measure(shape: Shape, load) -> Measured:
    before = snapshot(shape.watched)
    generator, busy = own_cpu(), machine_busy()
    run = await load
    after = snapshot(shape.watched)
    generator, busy = own_cpu() - generator, machine_busy() - busy
    for name, usage in after.items():
        if usage.processes == 0:
            raise Failure(f"{shape.label}: {name} has no process left")
    return Measured(
        run,
        {n: after[n].cpu_seconds - before[n].cpu_seconds for n in after},
        {n: after[n].rss_kb for n in after},
        generator,
        busy,
    )


def chat(port: int, token: str, sender: str, question: str) -> bytes:
    return build_request(
        "POST",
        HOST,
        port,
        "/webhooks/rest/webhook",
        json_body({"sender": sender, "message": question}),
        {"Authorization": f"Bearer {token}"},
    )


def gc_frozen(shape: Shape) -> list[int | None]:
    """Objects each Rasa server froze after its model loaded (None: off)."""
    found: list[int | None] = []
    for log in shape.logs:
        text = log.read_bytes()
        match = FROZEN_LINE.search(text)
        if match:
            found.append(int(match.group(1)))
        elif FREEZE_OFF_LINE in text:
            found.append(None)
        else:
            raise Failure(f"{log}: no gc.freeze line")
    return found


async def bench_shapes(
    shapes: list[Shape],
    question: str,
    check: Check,
    *,
    rounds: int,
    seconds: float,
    say: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """`rounds` x (16 conversations, 64, paced) of each shape, the shapes
    taking turns within a round (what the machine does meanwhile falls on
    all of them)."""

    def requests(shape: Shape, tag: str, conversations: int, each: int):
        return [
            [chat(shape.port, shape.token, f"{shape.key}-{tag}-{c}", question)] * each
            for c in range(conversations)
        ]

    idle = {shape.key: snapshot(shape.watched) for shape in shapes}
    runs: dict[str, dict[str, list[Measured]]] = {
        shape.key: {"sat16": [], "sat64": [], "paced": []} for shape in shapes
    }
    for shape in shapes:
        # Warm: every Rasa server has answered (round robin), pools are open.
        await closed_loop(
            HOST, shape.port, requests(shape, "warm", 16, 3), max_seconds=60,
            check=check,
        )  # fmt: skip
    for round_no in range(1, rounds + 1):
        tag = f"r{round_no}"
        for shape in shapes:
            port = shape.port
            plan = {
                "sat16": closed_loop(
                    HOST, port, requests(shape, f"s16{tag}", 16, 400),
                    max_seconds=seconds, check=check,
                ),
                "sat64": closed_loop(
                    HOST, port, requests(shape, f"s64{tag}", 64, 100),
                    max_seconds=seconds, check=check,
                ),
                "paced": paced(
                    HOST, port, requests(shape, f"p{tag}", 32, 400),
                    rate=HALF_AIM, max_seconds=seconds, check=check,
                ),
            }  # fmt: skip
            done = runs[shape.key]
            for kind, load in plan.items():
                measured = await measure(shape, load)
                if measured.run.errors:
                    # Counted and reported (an overloaded shape answers "not
                    # now" after the reply timeout); the run goes on.
                    say(
                        f"{shape.label}: {measured.run.errors} bad answers "
                        f"({kind}): {measured.run.first_error[:200]}"
                    )
                done[kind].append(measured)
                await asyncio.sleep(1)  # one run's backlog out of the next
            say(
                f"round {round_no} {shape.key}: 16 conversations "
                f"{done['sat16'][-1].run.rate:.1f} msg/s, 64 conversations "
                f"{done['sat64'][-1].run.rate:.1f} msg/s; at {HALF_AIM:.0f} "
                f"msg/s p50 {done['paced'][-1].run.ms(50):.0f} ms p95 "
                f"{done['paced'][-1].run.ms(95):.0f} ms"
            )
    return {
        shape.key: summarise(shape, runs[shape.key], idle[shape.key])
        for shape in shapes
    }


def median(values) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def summarise(shape: Shape, runs: dict[str, list[Measured]], idle) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": shape.label,
        "processes": list(shape.watched),
        "rss_idle_kb": {n: u.rss_kb for n, u in idle.items()},
        "gc_frozen": gc_frozen(shape),
        "rounds": len(runs["sat16"]),
    }
    for kind, measured in runs.items():
        breakdowns = [m.breakdown() for m in measured]
        out[kind] = {
            "rate": median(m.run.rate for m in measured),
            "p50_ms": median(m.run.ms(50) for m in measured),
            "p95_ms": median(m.run.ms(95) for m in measured),
            "p99_ms": median(m.run.ms(99) for m in measured),
            "max_ms": max(max(m.run.latencies) * 1000 for m in measured),
            "messages": sum(m.run.count for m in measured),
            "errors": sum(m.run.errors for m in measured),
            "cpu_ms": {
                name: median(b[name] for b in breakdowns) for name in breakdowns[0]
            },
            "rss_kb": {
                name: max(m.rss_kb[name] for m in measured) for name in shape.watched
            },
        }
    return out


# --- the report ------------------------------------------------------------------


def servers_ms(result: dict[str, Any], kind: str) -> float:
    cpu = result[kind]["cpu_ms"]
    return sum(cpu[name] for name in result["processes"])


def capacity(result: dict[str, Any], cores: int) -> dict[str, float]:
    """What the CPU figures of the 64-conversation runs allow: Rasa's CPU per
    message (one event loop per server), everything else of ours per message,
    and the ceilings that follow."""
    cpu = result["sat64"]["cpu_ms"]
    rasa_names = [n for n in result["processes"] if n.startswith("Rasa")]
    rasa = sum(cpu[n] for n in rasa_names)
    rest = servers_ms(result, "sat64") - rasa
    generator = cpu["load generator"]
    return {
        "rasa_ms": rasa,
        "rest_ms": rest,
        "generator_ms": generator,
        "servers": len(rasa_names),
        # All the cores for our servers and the load generator, nothing else.
        "cores_ceiling": cores * 1000 / (rasa + rest + generator),
        # Each Rasa server is one event loop: at most one core's worth.
        "rasa_ceiling": len(rasa_names) * 1000 / rasa,
    }


def larger_machine(cap: dict[str, float]) -> list[list[str]]:
    """n Rasa servers, each kept at most 85% busy (queueing stays short), on a
    machine with enough cores: the messages a second, and the cores needed
    for our servers (the load generator elsewhere)."""
    rows = []
    per_server = 0.85 * 1000 / cap["rasa_ms"]
    for n in (1, 2, 3, 4):
        rate = n * per_server
        cores = rate * (cap["rasa_ms"] + cap["rest_ms"]) / 1000
        rows.append([str(n), fmt(rate, 0), fmt(cores, 1)])
    return rows


def report(data: dict[str, Any], cores: int) -> list[str]:
    shapes = data.get("shapes")
    if not shapes:
        return []
    order = [k for k in ("shipped", "nofreeze", "scaled") if k in shapes]
    lines = [
        "## Single Rasa and the scale-out shape (part 4)",
        "",
        "Each shape through its one public address (single: Rasa itself; "
        "scaled: nginx), the same question and token as above. Saturation: 16 "
        f"or 64 conversations, each sending its next message when the answer "
        f"arrives ({data['shape_seconds']:.0f} s a run). Paced: an open loop at "
        f"{HALF_AIM:.0f} messages a second (half the aim of {AIM:.0f}) over 32 "
        "conversations, latency counted from when a message was due. Medians "
        f"of {shapes[order[0]]['rounds']} rounds. Single: `make run`'s shape "
        "(the cached SQLite tracker store, Rasa's in-memory lock). Scaled: "
        "`make run-scaled` (deploy/endpoints.yml: the cached tracker store on "
        "PostgreSQL with `shared: true` and a window of 20 events, the atomic "
        "Redis lock store), rate limits raised as for the others. Load "
        "average when part 4 began: "
        + "/".join(f"{x:.1f}" for x in data.get("load_part4", ()))
        + ".",
        "",
    ]
    rows = []
    for key in order:
        r = shapes[key]
        rows.append(
            [
                r["label"],
                fmt(r["sat16"]["rate"]),
                f"{fmt(r['sat16']['p50_ms'], 0)} / {fmt(r['sat16']['p95_ms'], 0)}",
                fmt(r["sat64"]["rate"]),
                f"{fmt(r['sat64']['p50_ms'], 0)} / {fmt(r['sat64']['p95_ms'], 0)}",
                f"{fmt(r['paced']['rate'])}: {fmt(r['paced']['p50_ms'], 0)} / "
                f"{fmt(r['paced']['p95_ms'], 0)} / {fmt(r['paced']['p99_ms'], 0)}",
                fmt(servers_ms(r, "sat64")),
            ]
        )
    lines += table(
        [
            "shape",
            "16 conv. msg/s",
            "16 conv. p50 / p95 ms",
            "64 conv. msg/s",
            "64 conv. p50 / p95 ms",
            f"paced {HALF_AIM:.0f}/s: msg/s: p50 / p95 / p99 ms",
            "servers' CPU ms/msg (64 conv.)",
        ],
        rows,
    )
    errors = [
        f"{shapes[k]['label']} {kind} {shapes[k][kind]['errors']}"
        for k in order
        for kind in ("sat16", "sat64", "paced")
        if shapes[k][kind].get("errors")
    ]
    lines += [
        "",
        f"Aim: at least {AIM:.0f} msg/s, and p95 under {P95_AIM_MS:.0f} ms at "
        f"{HALF_AIM:.0f} msg/s. Wrong or missing answers (every answer is "
        "checked for the professional's name): "
        + (", ".join(errors) if errors else "none")
        + ".",
        "",
        "### Where the CPU goes, per message, per process",
        "",
        "CPU ms per message (utime + stime from /proc/<pid>/stat over the run, "
        "divided by the messages answered) during the 64-conversation runs, "
        "and resident memory (VmRSS from /proc/<pid>/status: idle after the "
        "start / highest at the end of a run). PostgreSQL: the postmaster and "
        "all its backends; nginx: its master and workers. The load generator "
        "is this benchmark's own process; other work is the machine's busy "
        "time less all of those.",
        "",
    ]
    names: list[str] = []
    for key in order:
        for name in shapes[key]["sat64"]["cpu_ms"]:
            if name not in names:
                names.append(name)
    header = ["process"]
    for key in order:
        header += [f"{shapes[key]['label']}: CPU ms/msg", "RSS MB idle / loaded"]
    rows = []
    for name in names:
        row = [name]
        for key in order:
            r = shapes[key]
            cpu = r["sat64"]["cpu_ms"].get(name)
            row.append(fmt(cpu, 2) if cpu is not None else "")
            if name in r["processes"]:
                row.append(
                    f"{r['rss_idle_kb'][name] / 1024:.0f} / "
                    f"{r['sat64']['rss_kb'][name] / 1024:.0f}"
                )
            else:
                row.append("")
        rows.append(row)
    total = ["all of the machine's busy time"]
    for key in order:
        total += [fmt(sum(shapes[key]["sat64"]["cpu_ms"].values()), 1), ""]
    rows.append(total)
    lines += table(header, rows)
    lines.append("")
    if "scaled" in shapes:
        lines += reading(shapes, cores)
    if "shipped" in shapes and "nofreeze" in shapes:
        lines += freeze_table(shapes["shipped"], shapes["nofreeze"])
    return lines


def reading(shapes: dict[str, Any], cores: int) -> list[str]:
    scaled = shapes["scaled"]
    cap = capacity(scaled, cores)
    rate = scaled["sat64"]["rate"]
    paced_p95 = scaled["paced"]["p95_ms"]
    met = rate >= AIM and paced_p95 < P95_AIM_MS
    lines = [
        "### What two cores can give, and what more Rasa servers would",
        "",
        f"Scaled, 64 conversations: {fmt(rate)} msg/s; the two Rasa servers "
        f"used {fmt(cap['rasa_ms'])} ms of CPU per message between them, "
        f"everything else of ours (action servers, nginx, PostgreSQL, Redis, "
        f"web app) {fmt(cap['rest_ms'])} ms, the load generator "
        f"{fmt(cap['generator_ms'])} ms. With nothing else on the machine, "
        f"{cores} cores ({cores * 1000} ms of CPU a second) would carry at most "
        f"{fmt(cap['cores_ceiling'], 0)} msg/s at these costs, the load "
        "generator included; two Rasa event loops alone at most "
        f"{fmt(cap['rasa_ceiling'], 0)} msg/s. "
        + (
            f"The aim ({AIM:.0f} msg/s, p95 under {P95_AIM_MS:.0f} ms at "
            f"{HALF_AIM:.0f} msg/s) is met in this run."
            if met
            else f"The aim ({AIM:.0f} msg/s, p95 under {P95_AIM_MS:.0f} ms at "
            f"{HALF_AIM:.0f} msg/s; here p95 {fmt(paced_p95, 0)} ms) is not met "
            "in this run: "
            + (
                "the CPU the servers need per message is more than two cores "
                "give at that rate."
                if cap["cores_ceiling"] < AIM
                else "the cores could carry it at these costs, so the shortfall "
                "is other work on the machine and queueing."
            )
        ),
        "",
        "On a larger machine (reasoned from the measured CPU per message, not "
        "measured): each Rasa server is one event loop, so it carries at most "
        "one core; kept at 85% busy, each carries about "
        f"{fmt(0.85 * 1000 / cap['rasa_ms'], 0)} msg/s ({fmt(cap['rasa_ms'])} "
        "ms of Rasa CPU per message), so n Rasa servers give about n times "
        "that, and need the cores below for our servers (the load generator on "
        "another machine): Rasa's and the rest's CPU per message times the "
        "rate. PostgreSQL's share grows with the rate; its per-message cost is "
        "in the table above.",
        "",
    ]
    lines += table(
        ["Rasa servers", "msg/s (85% busy)", "cores for our servers"],
        larger_machine(cap),
    )
    lines.append("")
    return lines


def freeze_table(on: dict[str, Any], off: dict[str, Any]) -> list[str]:
    frozen = on["gc_frozen"][0]
    rows = []
    for label, r in (("gc.freeze off", off), ("gc.freeze on (as shipped)", on)):
        rows.append(
            [
                label,
                f"{r['rss_idle_kb']['Rasa'] / 1024:.0f} / "
                f"{r['sat64']['rss_kb']['Rasa'] / 1024:.0f}",
                fmt(r["sat16"]["rate"]),
                f"{fmt(r['sat16']['p50_ms'], 0)} / {fmt(r['sat16']['p95_ms'], 0)} "
                f"/ {fmt(r['sat16']['p99_ms'], 0)} / {fmt(r['sat16']['max_ms'], 0)}",
                f"{fmt(r['paced']['p50_ms'], 0)} / {fmt(r['paced']['p95_ms'], 0)} "
                f"/ {fmt(r['paced']['p99_ms'], 0)} / {fmt(r['paced']['max_ms'], 0)}",
                fmt(r["sat16"]["cpu_ms"]["Rasa"], 1),
                fmt(r["sat64"]["cpu_ms"]["Rasa"], 1),
            ]
        )
    lines = [
        "### gc.freeze after the model loads",
        "",
        "Single Rasa as shipped, with and without `gc.freeze()` once the model "
        "is loaded (POLKUOPAS_GC_FREEZE=false for the first row; "
        "bot/polkuopas_rasa/speedups.py), both servers up side by side in this "
        f"run; the shipped one froze {frozen if frozen is not None else '–'} "
        "objects. RSS: Rasa's resident memory idle after the start / highest "
        "at the end of a 64-conversation run.",
        "",
    ]
    lines += table(
        [
            "Rasa",
            "RSS MB idle / loaded",
            "16 conv. msg/s",
            "16 conv. p50 / p95 / p99 / max ms",
            f"paced {HALF_AIM:.0f}/s p50 / p95 / p99 / max ms",
            "Rasa CPU ms/msg (16 conv.)",
            "(64 conv.)",
        ],
        rows,
    )
    lines.append("")
    return lines


def headline_rows(data: dict[str, Any]) -> list[list[str]]:
    """Summary rows: single as shipped against scaled."""
    shapes = data.get("shapes") or {}
    single, scaled = shapes.get("shipped"), shapes.get("scaled")
    if not single or not scaled:
        return []

    def pair(kind: str, key: str, digits: int = 1) -> list[str]:
        return [fmt(single[kind][key], digits), fmt(scaled[kind][key], digits)]

    return [
        ["saturation, 16 conversations (msg/s)", *pair("sat16", "rate"), ">= 60"],
        ["saturation, 64 conversations (msg/s)", *pair("sat64", "rate"), ">= 60"],
        ["64 conversations p50 (ms)", *pair("sat64", "p50_ms", 0), ""],
        ["64 conversations p95 (ms)", *pair("sat64", "p95_ms", 0), ""],
        [f"paced {HALF_AIM:.0f} msg/s p50 (ms)", *pair("paced", "p50_ms", 0), ""],
        [f"paced {HALF_AIM:.0f} msg/s p95 (ms)", *pair("paced", "p95_ms", 0), "< 100"],
        [
            "servers' CPU per message, 64 conv. (ms)",
            fmt(servers_ms(single, "sat64")),
            fmt(servers_ms(scaled, "sat64")),
            "",
        ],
    ]
