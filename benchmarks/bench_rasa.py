"""Rasa in-process: NLU parse latency and what each Rasa-side change buys.

Runs in the bot environment (Python 3.10, Rasa 3.6), started by
benchmarks/bench.py, which also starts the action server it calls:

    PYTHONPATH=bot .venv-rasa/bin/python benchmarks/bench_rasa.py \
        --model M --endpoints E \
        --out RESULT.json --work DIR [--turns 100] [--rounds 2]

1. Loads the model once with Rasa's Agent as Rasa comes (the endpoints file:
   Rasa's SQL tracker store on a temporary database, and the action server);
   nothing of bot/polkuopas_rasa/speedups.py is installed while it loads, so spaCy
   keeps its NER.
2. NLU: parses every sentence of tests/nlu/eval.yml (p50/p95 per message, the
   time per graph component), with spaCy's NER and without (change 5, here
   emulated by disabling the pipe in the loaded model; Polkuopas removes it
   when SpacyNLP loads the model).
3. Conversation turns, side by side in this one process: the same personal
   question for `--turns` turns of one conversation, with each change of
   bot/polkuopas_rasa/speedups.py on top of the one before: Rasa stock; the three
   patches; spaCy without NER; the cached SQL tracker store; its window of the
   last events; keep-alive, which makes Polkuopas as shipped but for
   TensorFlow's threads, which cannot change once the model has run (the
   tracker store with the options of bot/endpoints.yml, --store-options); then
   an option and the in-memory tracker store for reference. Per variant: turns
   1-5 and the last five turns, and Rasa's CPU time per turn. Then a check that
   Rasa stock and Polkuopas as shipped give the same answers and store the
   same events.
4. Captures the action server requests Rasa stock builds at turn 3 and at the
   last turn (for the action server benchmark).

Writes JSON to --out; progress lines go to stdout. Exit code 1 on a failure.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

import argparse
import asyncio
import json
import logging
import math
import statistics
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bot/ (polkuopas_rasa) is on PYTHONPATH: benchmarks/bench.py sets it.

QUESTION = "kuka on minun työvalmentajani?"
EXPECTED = "Sari Lehtonen"
IDENTITY = {"polkuopas": {"identity": "valid", "client_id": "demo-suvi"}}
EVAL_FILE = ROOT / "tests" / "nlu" / "eval.yml"


def say(message: str) -> None:
    print(f"[bench rasa {time.strftime('%H:%M:%S')}] {message}", flush=True)


def quiet() -> None:
    warnings.filterwarnings("ignore")
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    warnings.filterwarnings("ignore")
    for name in ("tensorflow", "absl", "rasa", "sanic", "asyncio"):
        logging.getLogger(name).setLevel(logging.ERROR)


def pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


# --- NLU -----------------------------------------------------------------------


def eval_sentences() -> list[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(EVAL_FILE))
    return [m.get("text") for m in data.training_examples if m.get("text")]


class NodeTimer:
    """Time spent in each graph node while `active` (NLU parsing only)."""

    def __init__(self) -> None:
        self.active = False
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def install(self) -> None:
        from rasa.engine.graph import GraphNode

        original = GraphNode.__call__
        timer = self

        def timed(node, *inputs):
            if not timer.active:
                return original(node, *inputs)
            start = time.perf_counter()
            try:
                return original(node, *inputs)
            finally:
                name = node._component_class.__name__
                timer.seconds[name] += time.perf_counter() - start
                timer.calls[name] += 1

        GraphNode.__call__ = timed


async def bench_nlu(
    agent, deadline: Deadline, timer: NodeTimer, setups: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Parse latency per setup (name -> function that switches to it), the
    setups' passes interleaved so that the machine's load hits them alike."""
    sentences = eval_sentences()
    for text in sentences[:20]:  # warm-up (TensorFlow builds its functions)
        await agent.parse_message(text)
    passes: dict[str, list[list[float]]] = {name: [] for name in setups}
    cpu: dict[str, list[float]] = {name: [] for name in setups}
    first = next(iter(setups))
    for round_no in range(3):
        if round_no and deadline.left() < 0:
            break
        for name, switch in setups.items():
            switch()
            timer.active = name == first
            latencies = []
            used = time.process_time()
            for text in sentences:
                start = time.perf_counter()
                await agent.parse_message(text)
                latencies.append(time.perf_counter() - start)
            timer.active = False
            cpu[name].append((time.process_time() - used) / len(sentences) * 1000)
            passes[name].append(latencies)
    parsed = sum(len(p) for p in passes[first])
    components = [
        {
            "component": name,
            "ms_per_message": timer.seconds[name] / parsed * 1000,
        }
        for name in sorted(timer.seconds, key=lambda n: -timer.seconds[n])
    ]
    return {
        name: {
            "sentences": len(sentences),
            "passes": len(runs),
            "p50_ms": statistics.median(pct(p, 50) * 1000 for p in runs),
            "p95_ms": statistics.median(pct(p, 95) * 1000 for p in runs),
            "mean_ms": statistics.median(statistics.fmean(p) * 1000 for p in runs),
            "cpu_ms": statistics.median(cpu[name]),
            "components": components if name == first else [],
        }
        for name, runs in passes.items()
    }


# --- spaCy ---------------------------------------------------------------------


class SpacyModels:
    """The spaCy models Rasa loads (to switch their unused pipes on and off)."""

    def __init__(self) -> None:
        self.models: list[Any] = []

    def install(self) -> None:
        try:
            from rasa.nlu.utils.spacy_utils import SpacyNLP
        except ImportError:
            return
        original = SpacyNLP.__dict__["load_model"].__func__
        models = self.models

        def load_model(name: str):
            model = original(name)
            models.append(model.model)
            return model

        SpacyNLP.load_model = staticmethod(load_model)

    def set_unused(self, enabled: bool) -> None:
        from polkuopas_rasa.speedups import SPACY_UNUSED

        for nlp in self.models:
            for pipe in SPACY_UNUSED:
                if enabled and pipe in nlp.disabled:
                    nlp.enable_pipe(pipe)
                elif not enabled and pipe in nlp.pipe_names:
                    nlp.disable_pipe(pipe)

    def pipe_times(self) -> list[dict[str, Any]]:
        """ms per sentence of each spaCy pipe (all enabled), eval sentences."""
        if not self.models:
            return []
        nlp = self.models[0]
        self.set_unused(True)
        texts = [t.lower() for t in eval_sentences()]
        for text in texts[:20]:
            nlp(text)
        seconds = defaultdict(float)
        for text in texts:
            start = time.perf_counter()
            doc = nlp.make_doc(text)
            seconds["(tokenizer)"] += time.perf_counter() - start
            for name, pipe in nlp.pipeline:
                start = time.perf_counter()
                doc = pipe(doc)
                seconds[name] += time.perf_counter() - start
        return [
            {"pipe": name, "ms_per_message": value / len(texts) * 1000}
            for name, value in seconds.items()
        ]


# --- conversation variants -------------------------------------------------------


class Capture:
    """Keeps the action server request Rasa builds, when asked to."""

    def __init__(self) -> None:
        self.wanted = False
        self.body: dict[str, Any] | None = None
        self.bodies: dict[int, dict[str, Any]] = {}

    def install(self) -> None:
        from rasa.core.actions.action import RemoteAction

        original = RemoteAction._action_call_format
        capture = self

        def recording(action, tracker, domain):
            body = original(action, tracker, domain)
            if capture.wanted:
                capture.body = json.loads(json.dumps(body))
                capture.wanted = False
            return body

        RemoteAction._action_call_format = recording


class Patches:
    """Bench-only patches of Rasa, undone by `undo`."""

    def __init__(self) -> None:
        self.originals: list[tuple[Any, str, Any]] = []

    def without_memoization(self) -> None:
        """MemoizationPolicy predicts nothing, as if it were not in config.yml
        (what the policy costs, without retraining)."""
        from rasa.core.policies.memoization import MemoizationPolicy

        def predict_action_probabilities(
            self, tracker, domain, rule_only_data=None, **_
        ):
            return self._prediction(self._default_predictions(domain))

        name = "predict_action_probabilities"
        self.originals.append(
            (MemoizationPolicy, name, MemoizationPolicy.__dict__[name])
        )
        setattr(MemoizationPolicy, name, predict_action_probabilities)

    def undo(self) -> None:
        while self.originals:
            owner, name, value = self.originals.pop()
            setattr(owner, name, value)


PATCHES = Patches()


class Variant:
    def __init__(
        self,
        key: str,
        label: str,
        store_factory=None,
        *,
        patches: bool = True,
        keep_alive: bool = False,
        spacy: bool = True,
        memoization: bool = True,
        once: bool = False,
    ):
        self.key, self.label, self.once = key, label, once
        self.store_factory = store_factory
        self.patches, self.keep_alive = patches, keep_alive
        self.spacy, self.memoization = spacy, memoization
        self.store = None

    def apply(self, speedups, spacy_models: SpacyModels) -> None:
        speedups.uninstall()
        PATCHES.undo()
        if self.patches and not speedups.install(
            keep_alive=self.keep_alive, spacy=False, threads=False
        ):
            raise RuntimeError("the speed-ups refused to install (Rasa version)")
        # Patch 5 works when spaCy loads; here the loaded pipes are switched.
        spacy_models.set_unused(not (self.patches and self.spacy))
        if not self.memoization:
            PATCHES.without_memoization()


async def one_turn(agent, sender: str) -> float:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    out = CollectingOutputChannel()
    start = time.perf_counter()
    await agent.handle_message(
        UserMessage(QUESTION, out, sender, input_channel="rest", metadata=IDENTITY)
    )
    elapsed = time.perf_counter() - start
    text = "\n".join(m.get("text") or "" for m in out.messages)
    if EXPECTED not in text:
        raise RuntimeError(f"unexpected answer at {sender}: {text[:200]!r}")
    return elapsed


async def conversation(agent, sender: str, turns: int, capture: Capture, deadline):
    latencies, cpu = [], time.process_time()
    for turn in range(1, turns + 1):
        if turn in (3, turns) and capture is not None:
            capture.wanted = True
        latencies.append(await one_turn(agent, sender))
        if capture is not None and turn in (3, turns) and capture.body is not None:
            capture.bodies[turn] = capture.body
            capture.body = None
        if deadline.left() < -30:
            break
    return latencies, time.process_time() - cpu


async def bench_turns(
    agent, args, deadline: Deadline, spacy_models: SpacyModels
) -> dict[str, Any]:
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore

    from polkuopas_rasa import speedups, trackerstore

    shipped_store = agent.tracker_store
    work = Path(args.work)

    def cached(**options):
        def make():
            store = trackerstore.CachedSQLTrackerStore(
                domain=agent.domain,
                dialect="sqlite",
                db=str(work / f"tracker-{options.get('tag', 'cached')}.db"),
                **{k: v for k, v in options.items() if k != "tag"},
            )
            return FailSafeTrackerStore(store)

        return make

    options = json.loads(args.store_options)
    shipped = cached(tag="window", **options)
    variants = [
        Variant(
            "stock",
            "Rasa stock (its SQLTrackerStore on SQLite)",
            patches=False,
        ),
        Variant(
            "patches",
            "+ 1-3 (validator, event types, debug line)",
            spacy=False,
        ),
        Variant("spacy", "+ 5 spaCy without its unused NER"),
        Variant(
            "cached",
            "+ 6 CachedSQLTrackerStore (cache, WAL, one connection)",
            cached(tag="cached", **{**options, "max_events": 0}),
        ),
        Variant(
            "window",
            f"+ 7 window of the last {options.get('max_events', 0)} events",
            shipped,
        ),
        Variant(
            "shipped",
            "+ 4 keep-alive to the action server = as shipped (but 15)",
            shipped,
            keep_alive=True,
        ),
        Variant(
            "nomemo",
            "option: + no MemoizationPolicy (emulated)",
            shipped,
            keep_alive=True,
            memoization=False,
        ),
        Variant(
            "memory",
            "reference: InMemoryTrackerStore + 1-5, no window",
            lambda: FailSafeTrackerStore(InMemoryTrackerStore(agent.domain)),
            keep_alive=True,
            once=True,
        ),
    ]
    stores = {}
    for variant in variants:
        if variant.store_factory is not None:
            if variant.store_factory not in stores:
                stores[variant.store_factory] = variant.store_factory()
            variant.store = stores[variant.store_factory]

    capture = Capture()
    capture.install()
    results: dict[str, list[dict[str, float]]] = {v.key: [] for v in variants}
    round_seconds = 0.0
    for round_no in range(1, args.rounds + 1):
        # Room for another round and for the check after it.
        if round_no > 1 and deadline.left() < 1.1 * round_seconds + 30:
            say("time budget: no further round")
            break
        round_start = time.monotonic()
        for variant in variants:
            if variant.once and round_no > 1:
                continue
            variant.apply(speedups, spacy_models)
            store = variant.store or shipped_store
            agent.tracker_store = agent.processor.tracker_store = store
            await one_turn(agent, f"warm-{variant.key}-{round_no}")
            sender = f"c:demo-suvi:turns-{variant.key}-{round_no}"
            wants = capture if (round_no == 1 and variant.key == "stock") else None
            latencies, cpu = await conversation(
                agent, sender, args.turns, wants, deadline
            )
            first, last = latencies[:5], latencies[-5:]
            row = {
                "turns": len(latencies),
                "first_ms": statistics.median(first) * 1000,
                "last_ms": statistics.median(last) * 1000,
                "turn1_ms": latencies[0] * 1000,
                "turn_last_ms": latencies[-1] * 1000,
                "p50_ms": pct(latencies, 50) * 1000,
                "p95_ms": pct(latencies, 95) * 1000,
                "mean_ms": statistics.fmean(latencies) * 1000,
                "cpu_ms_per_turn": cpu / len(latencies) * 1000,
            }
            results[variant.key].append(row)
            say(
                f"round {round_no} {variant.key:8s} turns 1-5 "
                f"{row['first_ms']:6.1f} ms, last 5 {row['last_ms']:6.1f} ms, "
                f"mean {row['mean_ms']:6.1f} ms, Rasa CPU "
                f"{row['cpu_ms_per_turn']:5.1f} ms/turn"
            )
        round_seconds = time.monotonic() - round_start
    speedups.uninstall()
    PATCHES.undo()
    check = await check_same(
        agent,
        {"stock": shipped_store, "shipped": shipped()},
        spacy_models,
        speedups,
    )
    say(
        f"Rasa stock and Polkuopas as shipped: same answers "
        f"{check['same_answers']}, same stored rows {check['same_rows']} "
        f"({check['turns']} turns)"
    )
    agent.tracker_store = agent.processor.tracker_store = shipped_store
    if agent.action_endpoint is not None:
        await speedups.close_kept_sessions(agent.action_endpoint)

    summary = []
    for variant in variants:
        rows = results[variant.key]
        if not rows:
            continue
        summary.append(
            {
                "key": variant.key,
                "label": variant.label,
                "rounds": len(rows),
                **{
                    k: statistics.median(r[k] for r in rows)
                    for k in rows[0]
                    if k != "turns"
                },
                "turns": rows[0]["turns"],
            }
        )
    return {"variants": summary, "requests": capture.bodies, "check": check}


# --- same answers ------------------------------------------------------------------

# Mixed questions: a path chosen by button (slot), two misses in a row, personal
# and general questions; asked four times over, so the window cuts several times.
CHECK_SCRIPT = [
    "moi",
    '/ask_path_overview{"path_id":"kuntouttava-tyotoiminta"}',
    "mitä tapahtuu seuraavaksi",
    "kuka on minun työvalmentajani?",
    "asdkjh qwe",
    "zzxq blorp",
    "kiitos",
    "mitä työhönvalmentaja tekee?",
    "näytä koko polku",
    "kuka on mun valmentaja",
    "soittaako joku mulle kun tää loppuu",
    "haluan puhua ihmisen kanssa",
    "oletko robotti",
    "missä vaiheessa olen",
]


async def answers(agent, sender: str, metadata: dict[str, Any]) -> list[Any]:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    said = []
    for _ in range(4):
        for text in CHECK_SCRIPT:
            out = CollectingOutputChannel()
            await agent.handle_message(
                UserMessage(text, out, sender, input_channel="rest", metadata=metadata)
            )
            said.append(
                [
                    [m.get("text"), m.get("buttons"), m.get("custom")]
                    for m in out.messages
                ]
            )
    return said


def stored_rows(store, sender: str) -> list[Any]:
    """The stored events, without what differs between two runs anyway."""
    import sqlite3

    database = store._tracker_store.engine.url.database
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT type_name, intent_name, action_name, data FROM events "
            "WHERE sender_id = ? ORDER BY id",
            (sender,),
        ).fetchall()
    result = []
    for type_name, intent, action, data in rows:
        event = json.loads(data)
        event.pop("timestamp", None)
        event.pop("message_id", None)
        event.get("metadata", {}).pop("model_id", None)
        parse = event.get("parse_data", {})
        parse.pop("message_id", None)
        result.append([type_name, intent, action, event])
    return result


async def check_same(agent, stores: dict[str, Any], spacy_models, speedups):
    """Rasa stock and Polkuopas as shipped (changes 1-7) answer alike and
    store the same rows."""
    result = {"turns": 0, "same_answers": True, "same_rows": True, "notes": []}
    for who, identity in (
        ("anon", {"identity": "none", "client_id": None}),
        ("suvi", {"identity": "valid", "client_id": "demo-suvi"}),
    ):
        said, rows = {}, {}
        for key in ("stock", "shipped"):
            speedups.uninstall()
            if key == "shipped":
                speedups.install(keep_alive=True, spacy=False, threads=False)
            spacy_models.set_unused(key == "stock")
            store = stores[key]
            agent.tracker_store = agent.processor.tracker_store = store
            sender = f"check-{who}"
            said[key] = await answers(agent, sender, {"polkuopas": identity})
            rows[key] = stored_rows(store, sender)
        result["turns"] += len(said["stock"])
        pairs = zip(said["stock"], said["shipped"], strict=True)
        for turn, (a, b) in enumerate(pairs):
            if a != b:
                result["same_answers"] = False
                result["notes"].append(f"{who} turn {turn + 1}: {a!r} / {b!r}")
        if rows["stock"] != rows["shipped"]:
            result["same_rows"] = False
            result["notes"].append(
                f"{who}: {len(rows['stock'])} stored events with Rasa stock, "
                f"{len(rows['shipped'])} as shipped"
            )
            pairs = zip(rows["stock"], rows["shipped"], strict=False)
            for index, (a, b) in enumerate(pairs):
                if a != b:
                    result["notes"].append(
                        f"{who}: first different event {index + 1}: {a!r} / {b!r}"
                    )
                    break
    speedups.uninstall()
    spacy_models.set_unused(True)
    result["notes"] = result["notes"][:5]
    return result


# --- main ------------------------------------------------------------------------


async def run(args) -> dict[str, Any]:
    quiet()
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    deadline = Deadline(args.budget)
    timer = NodeTimer()
    timer.install()
    spacy_models = SpacyModels()
    spacy_models.install()
    endpoints = AvailableEndpoints.read_endpoints(args.endpoints)
    say(f"loading {args.model}")
    start = time.perf_counter()
    agent = await load_agent(args.model, endpoints=endpoints)
    if not agent.is_ready():
        raise RuntimeError(f"could not load {args.model}")
    load_seconds = time.perf_counter() - start
    say(f"model loaded in {load_seconds:.1f} s")
    if args.wait_for:
        say("waiting until the other servers have started")
        waited = time.monotonic()
        while not Path(args.wait_for).exists():
            if time.monotonic() - waited > 420:
                raise RuntimeError(f"no {args.wait_for} after 420 s")
            await asyncio.sleep(0.5)
    metadata = agent.processor.model_metadata
    pipeline = [
        node["uses"].rsplit(".", 1)[-1]
        for node in metadata.predict_schema.as_dict()["nodes"].values()
    ]
    setups = {"shipped": lambda: spacy_models.set_unused(True)}
    if spacy_models.models:
        setups["without_unused"] = lambda: spacy_models.set_unused(False)
    results = await bench_nlu(agent, deadline, timer, setups)
    spacy_models.set_unused(True)
    nlu = results["shipped"]
    say(
        f"NLU parse, Rasa stock: p50 {nlu['p50_ms']:.1f} ms, p95 "
        f"{nlu['p95_ms']:.1f} ms, CPU {nlu['cpu_ms']:.1f} ms "
        f"({nlu['sentences']} sentences x {nlu['passes']})"
    )
    if "without_unused" in results:
        nlu["without_unused"] = lean = results["without_unused"]
        nlu["spacy_pipes"] = spacy_models.pipe_times()
        say(
            f"NLU parse, spaCy without NER: p50 {lean['p50_ms']:.1f} ms, p95 "
            f"{lean['p95_ms']:.1f} ms, CPU {lean['cpu_ms']:.1f} ms"
        )
    turns = await bench_turns(agent, args, deadline, spacy_models)
    return {
        "model": {
            "path": args.model,
            "model_id": metadata.model_id,
            "trained_at": str(metadata.trained_at),
            "rasa": metadata.rasa_open_source_version,
            "predict_nodes": pipeline,
            "load_seconds": load_seconds,
        },
        "nlu": nlu,
        "turns": turns,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--endpoints", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--store-options",
        default="{}",
        help="JSON: CachedSQLTrackerStore's options as in bot/endpoints.yml",
    )
    parser.add_argument("--budget", type=float, default=200.0)
    parser.add_argument("--wait-for", help="measure once this file exists")
    args = parser.parse_args()
    try:
        result = asyncio.run(run(args))
    except Exception as exc:  # a report of the failure, not a traceback wall
        say(f"failed: {type(exc).__name__}: {exc}")
        return 1
    Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
