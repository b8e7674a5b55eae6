"""The load test's figures: what each request did, summed up and reported.

Pure: no network, no processes. `loadtest.py` records every request as a
`Record` and every second of server resources as a `Sample`; `summarise` and
`render` turn them into the verdict, reports/load.md and the stdout summary.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# benchmarks/reporting.py holds what the two reports share.
from benchmarks.reporting import fmt as _fmt
from benchmarks.reporting import percentile, table


def fmt(value: float | None, digits: int = 0) -> str:
    """Whole milliseconds unless told otherwise."""
    return _fmt(value, digits)


WINDOW_SECONDS = 10
SLOWEST = 8


@dataclass(frozen=True)
class Record:
    """One request: when it started (seconds into the run), how long it took,
    and what went wrong (`error` empty when nothing did)."""

    at: float
    kind: str  # question type, or "web: ..."
    seconds: float
    error: str = ""
    detail: str = ""
    text: str = ""  # the (made-up) message sent, for the slowest requests

    @property
    def chat(self) -> bool:
        return not self.kind.startswith("web:")


@dataclass(frozen=True)
class Sample:
    """Resources at one moment: per server RSS bytes and CPU seconds so far."""

    at: float
    rss: dict[str, int]
    cpu: dict[str, float]
    load1: float
    machine_busy: float  # CPU seconds all cores had been busy (from /proc/stat)
    own_cpu: float  # the load generator's CPU seconds so far


@dataclass
class Latency:
    count: int
    errors: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, records: Sequence[Record]) -> Latency:
        ms = [r.seconds * 1000 for r in records]
        return cls(
            count=len(records),
            errors=sum(1 for r in records if r.error),
            p50=percentile(ms, 50),
            p95=percentile(ms, 95),
            p99=percentile(ms, 99),
            max=max(ms) if ms else math.nan,
            mean=sum(ms) / len(ms) if ms else math.nan,
        )


@dataclass
class ServerUse:
    name: str
    rss_start_mb: float
    rss_peak_mb: float
    rss_end_mb: float
    cpu_seconds: float
    cpu_percent: float  # of one core, over the run
    cpu_peak_percent: float  # the busiest window


@dataclass
class Window:
    start: float
    requests: int
    errors: int
    chat_p95: float
    cpu_percent: dict[str, float]
    load1: float


@dataclass
class Summary:
    duration: float
    overall: Latency
    chat: Latency
    web: Latency | None
    by_kind: dict[str, Latency]
    errors: Counter
    examples: dict[str, list[str]]
    servers: list[ServerUse]
    windows: list[Window]
    conversations: int
    clients_active: int
    slowest: list[Record]
    machine_busy_percent: float  # of all cores
    own_cpu_percent: float  # the load generator, of one core
    load1_max: float
    goal_ms: float
    failures: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return not self.failures

    @property
    def rate(self) -> float:
        return self.overall.count / self.duration if self.duration else 0.0

    @property
    def chat_rate(self) -> float:
        return self.chat.count / self.duration if self.duration else 0.0


def _mb(value: int) -> float:
    return value / 2**20


def server_use(name: str, samples: Sequence[Sample]) -> ServerUse:
    rss = [s.rss[name] for s in samples if name in s.rss]
    cpu = [(s.at, s.cpu[name]) for s in samples if name in s.cpu]
    used = cpu[-1][1] - cpu[0][1] if len(cpu) > 1 else 0.0
    span = cpu[-1][0] - cpu[0][0] if len(cpu) > 1 else 0.0
    peak = 0.0
    for (t0, c0), (t1, c1) in zip(cpu, cpu[WINDOW_SECONDS:], strict=False):
        if t1 > t0:
            peak = max(peak, (c1 - c0) / (t1 - t0) * 100)
    return ServerUse(
        name=name,
        rss_start_mb=_mb(rss[0]) if rss else math.nan,
        rss_peak_mb=_mb(max(rss)) if rss else math.nan,
        rss_end_mb=_mb(rss[-1]) if rss else math.nan,
        cpu_seconds=used,
        cpu_percent=used / span * 100 if span else math.nan,
        cpu_peak_percent=peak if len(cpu) > WINDOW_SECONDS else math.nan,
    )


def windows(
    records: Sequence[Record], samples: Sequence[Sample], duration: float
) -> list[Window]:
    found = []
    count = max(1, math.ceil(duration / WINDOW_SECONDS))
    for index in range(count):
        start, end = index * WINDOW_SECONDS, (index + 1) * WINDOW_SECONDS
        inside = [r for r in records if start <= r.at < end]
        chat = [r.seconds * 1000 for r in inside if r.chat]
        near = [s for s in samples if start <= s.at <= end]
        cpu = {}
        if len(near) > 1 and near[-1].at > near[0].at:
            span = near[-1].at - near[0].at
            for name in near[0].cpu:
                if name in near[-1].cpu:
                    used = near[-1].cpu[name] - near[0].cpu[name]
                    cpu[name] = used / span * 100
        found.append(
            Window(
                start=start,
                requests=len(inside),
                errors=sum(1 for r in inside if r.error),
                chat_p95=percentile(chat, 95),
                cpu_percent=cpu,
                load1=max((s.load1 for s in near), default=math.nan),
            )
        )
    return found


def summarise(
    records: Sequence[Record],
    samples: Sequence[Sample],
    *,
    duration: float,
    goal_ms: float,
    server_names: Iterable[str],
    conversations: int,
    clients: int,
    cores: int,
    kinds: Sequence[str] = (),
) -> Summary:
    chat = [r for r in records if r.chat]
    web = [r for r in records if not r.chat]
    grouped: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        grouped[record.kind].append(record)
    order = [k for k in kinds if k in grouped] + sorted(
        k for k in grouped if k not in kinds
    )
    errors: Counter = Counter(r.error for r in records if r.error)
    examples: dict[str, list[str]] = defaultdict(list)
    for record in records:
        if record.error and len(examples[record.error]) < 3:
            examples[record.error].append(f"{record.kind}: {record.detail}")
    busy = own = math.nan
    if len(samples) > 1 and samples[-1].at > samples[0].at:
        span = samples[-1].at - samples[0].at
        busy = (samples[-1].machine_busy - samples[0].machine_busy) / span / cores
        own = (samples[-1].own_cpu - samples[0].own_cpu) / span
    summary = Summary(
        duration=duration,
        overall=Latency.of(records),
        chat=Latency.of(chat),
        web=Latency.of(web) if web else None,
        by_kind={k: Latency.of(grouped[k]) for k in order},
        errors=errors,
        examples=dict(examples),
        servers=[server_use(n, samples) for n in server_names],
        windows=windows(records, samples, duration),
        slowest=sorted(records, key=lambda r: -r.seconds)[:SLOWEST],
        conversations=conversations,
        clients_active=clients,
        machine_busy_percent=busy * 100,
        own_cpu_percent=own * 100,
        load1_max=max((s.load1 for s in samples), default=math.nan),
        goal_ms=goal_ms,
    )
    summary.failures = verdict(summary)
    return summary


def pauses(summary: Summary) -> list[Window]:
    """The 10-s windows whose chat p95 stands out: over three times the median
    window's and over 250 ms."""
    values = sorted(w.chat_p95 for w in summary.windows if w.chat_p95 == w.chat_p95)
    if not values:
        return []
    typical = values[len(values) // 2]
    return [w for w in summary.windows if w.chat_p95 > max(3 * typical, 250.0)]


def together(records: Sequence[Record], within: float = 1.5) -> int:
    """How many of `records` started within `within` seconds of each other at
    most (the largest such group): slow requests that started together waited
    for the same thing."""
    starts = sorted(r.at for r in records)
    best = 0
    for i, start in enumerate(starts):
        best = max(best, sum(1 for t in starts[i:] if t - start <= within))
    return best


def verdict(summary: Summary) -> list[str]:
    """Why the goal (no errors, chat p95 under the goal) was missed; [] if met."""
    failures = []
    if not summary.chat.count:
        failures.append("no chat message was answered")
    if summary.overall.errors:
        kinds = ", ".join(f"{n} {k}" for k, n in summary.errors.most_common())
        failures.append(f"{summary.overall.errors} errors ({kinds})")
    if summary.chat.count and not summary.chat.p95 < summary.goal_ms:
        failures.append(
            f"chat p95 {summary.chat.p95:.0f} ms is not under {summary.goal_ms:.0f} ms"
        )
    return failures


# --- text ---------------------------------------------------------------------


def latency_row(name: str, lat: Latency) -> list[str]:
    return [
        name,
        str(lat.count),
        str(lat.errors),
        fmt(lat.p50),
        fmt(lat.p95),
        fmt(lat.p99),
        fmt(lat.max),
    ]


LATENCY_HEADER = ["requests", "count", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"]


def stdout_summary(summary: Summary) -> str:
    lines = [
        f"{summary.overall.count} requests in {summary.duration:.0f} s "
        f"({summary.rate:.1f}/s), {summary.conversations} conversations, "
        f"{summary.overall.errors} errors",
        f"chat messages: {summary.chat.count}, p50 {fmt(summary.chat.p50)} ms, "
        f"p95 {fmt(summary.chat.p95)} ms, p99 {fmt(summary.chat.p99)} ms, "
        f"max {fmt(summary.chat.max)} ms",
    ]
    if summary.web:
        lines.append(
            f"web API calls: {summary.web.count}, p95 {fmt(summary.web.p95)} ms"
        )
    for kind, count in summary.errors.most_common():
        lines.append(f"  error {kind}: {count}, e.g. {summary.examples[kind][0]}")
    for use in summary.servers:
        lines.append(
            f"{use.name}: RSS {fmt(use.rss_start_mb)} -> peak "
            f"{fmt(use.rss_peak_mb)} -> {fmt(use.rss_end_mb)} MB, CPU "
            f"{fmt(use.cpu_percent)}% of a core (busiest 10 s: "
            f"{fmt(use.cpu_peak_percent)}%)"
        )
    if summary.met:
        lines.append(f"GOAL MET: no errors and chat p95 under {summary.goal_ms:.0f} ms")
    else:
        lines.append("GOAL MISSED: " + "; ".join(summary.failures))
    return "\n".join(lines)


def render(summary: Summary, setup: dict[str, Any], notes: list[str]) -> str:
    """reports/load.md."""
    goal = (
        f"{setup['clients']} concurrent conversations for {setup['duration']:.0f} s "
        f"with no errors and a p95 under {summary.goal_ms:.0f} ms"
    )
    if summary.met:
        outcome = f"**Goal met**: {goal}."
    else:
        outcome = f"**Goal missed** ({goal}): " + "; ".join(summary.failures) + "."
    lines = [
        "# Polkuopas load test",
        "",
        f"Generated by `make loadtest` (benchmarks/load/loadtest.py) on "
        f"{setup['date']}. "
        "A load run on a shared machine, not a timed test: the figures move "
        "from run to run with whatever else the machine is doing (the load "
        "average and the machine's busy time are given below).",
        "",
        outcome,
        "",
        "## Summary",
        "",
    ]
    rows = [
        ["clients (concurrent conversations)", str(setup["clients"])],
        ["duration", f"{summary.duration:.0f} s"],
        ["conversations started", str(summary.conversations)],
        ["requests (chat + web API)", str(summary.overall.count)],
        ["throughput", f"{summary.rate:.1f} requests/s"],
        ["chat messages", f"{summary.chat.count} ({summary.chat_rate:.1f}/s)"],
        ["errors", str(summary.overall.errors)],
        [
            "chat p50 / p95 / p99 / max",
            f"{fmt(summary.chat.p50)} / {fmt(summary.chat.p95)} / "
            f"{fmt(summary.chat.p99)} / {fmt(summary.chat.max)} ms",
        ],
    ]
    if summary.web:
        rows.append(
            [
                "web API p50 / p95 / p99",
                f"{fmt(summary.web.p50)} / {fmt(summary.web.p95)} / "
                f"{fmt(summary.web.p99)} ms",
            ]
        )
    rows.append(
        [
            "all requests p50 / p95 / p99",
            f"{fmt(summary.overall.p50)} / {fmt(summary.overall.p95)} / "
            f"{fmt(summary.overall.p99)} ms",
        ]
    )
    lines += table(["figure", "value"], rows)
    lines += ["", "## Latency by question type", ""]
    lines += table(
        ["question type", *LATENCY_HEADER[1:]],
        [latency_row(k, v) for k, v in summary.by_kind.items()],
    )
    lines += [
        "",
        "The goal's p95 is over the chat messages (what a person waits for); "
        "the web API calls are the widget's identity check when a conversation "
        'starts and a "was this helpful?" click.',
        "",
        "## Errors",
        "",
    ]
    if summary.errors:
        lines += table(
            ["kind", "count", "examples (question type: what was wrong)"],
            [
                [kind, str(n), "<br>".join(_cell(e) for e in summary.examples[kind])]
                for kind, n in summary.errors.most_common()
            ],
        )
    else:
        lines.append(
            "None: every answer came with HTTP 200 (201 for feedback) within the "
            f"{setup['timeout']:.0f} s timeout and held what that client should "
            "be told; no answer named another client's professional; no request "
            "was rate limited."
        )
    lines += ["", "## Servers", ""]
    lines += table(
        [
            "server",
            "RSS start MB",
            "RSS peak MB",
            "RSS end MB",
            "CPU s",
            "CPU % of a core",
            "busiest 10 s",
        ],
        [
            [
                u.name,
                fmt(u.rss_start_mb),
                fmt(u.rss_peak_mb),
                fmt(u.rss_end_mb),
                fmt(u.cpu_seconds, 1),
                fmt(u.cpu_percent),
                fmt(u.cpu_peak_percent),
            ]
            for u in summary.servers
        ],
    )
    lines += [
        "",
        "RSS: resident memory of the server's processes from /proc at the start "
        "of the load (after the warm-up), its peak and at the end, sampled every "
        "second. CPU: user + system time over the run.",
        f"The load generator itself used {fmt(summary.own_cpu_percent)}% of a "
        f"core; all of the machine's {setup['machine']['cores']} cores were "
        f"{fmt(summary.machine_busy_percent)}% busy on average (this run and "
        "anything else running).",
        "",
        "## Over time",
        "",
    ]
    names = [u.name for u in summary.servers]
    lines += table(
        ["from s", "requests", "req/s", "errors", "chat p95 ms"]
        + [f"{n} CPU %" for n in names]
        + ["load avg 1 min"],
        [
            [
                str(int(w.start)),
                str(w.requests),
                fmt(w.requests / WINDOW_SECONDS, 1),
                str(w.errors),
                fmt(w.chat_p95),
                *(fmt(w.cpu_percent.get(n)) for n in names),
                fmt(w.load1, 1),
            ]
            for w in summary.windows
        ],
    )
    if summary.slowest:
        lines += [
            "",
            f"The {len(summary.slowest)} slowest requests (requests that start "
            "within a second of each other and are all slow waited for the same "
            "thing):",
            "",
        ]
        lines += table(
            ["at s", "question type", "ms", "message"],
            [
                [
                    fmt(r.at, 1),
                    r.kind,
                    fmt(r.seconds * 1000),
                    _cell(r.text[:60]) or "–",
                ]
                for r in sorted(summary.slowest, key=lambda r: r.at)
            ],
        )
    lines += ["", "## Setup", ""]
    lines += [f"- {item}" for item in setup["items"]]
    machine = setup["machine"]
    lines += [
        "",
        "## Machine",
        "",
        f"- {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB, "
        f"Linux {machine['kernel']}",
        f"- load average before {machine['load_before']}, highest 1-minute "
        f"during the run {fmt(summary.load1_max, 1)}, after {machine['load_after']}",
        f"- app environment: {machine['app']}",
        f"- bot environment: {machine['bot']}",
    ]
    if notes:
        lines += ["", "## Reading", ""]
        lines += notes
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
