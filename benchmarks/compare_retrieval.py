"""Path questions as one intent per topic, or as a ResponseSelector: measured.

Polkuopas recognises a path question as one intent per topic
(`service_<topic>`, generated from the path files into
data/nlu/questions_generated.yml). Rasa's own way is one retrieval intent
(`ask_service/<topic>`) whose topic a ResponseSelector picks. This script trains
the second on the same data, rewritten (every `service_<topic>` becomes
`ask_service/<topic>`, with a response per topic), with the pipeline of
bot/config.yml plus a ResponseSelector, and measures it beside ours on every
set `make eval-nlu` uses, with the same three outcomes (answered right,
honestly unsure, answered wrong) and the same thresholds. A path question is
right for the retrieval model only with the right topic (`ask_service/raha`).

Both are trained here the same way, language understanding only, and kept in
--models with a fingerprint of their data and config, so `--reuse` measures
them again without training. (`make eval-nlu` measures the served model
instead; an ours kept here by an earlier run is reused when it fits.)

    .venv-rasa/bin/python -m benchmarks.compare_retrieval --out reports/nlu-retrieval.md

`make eval-retrieval` runs it. Training takes 15-20 minutes a model on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import eval_nlu as ev

RETRIEVAL_INTENT = "ask_service"
SERVICE_PREFIX = ev.question_intent("")  # "service_": eval_nlu's one place for it
INTENT_LINE = re.compile(r"^(\s*-\s*intent:\s*)service_(\w+)\s*$", re.MULTILINE)
SELECTOR = {
    "name": "ResponseSelector",
    "retrieval_intent": RETRIEVAL_INTENT,
    "epochs": 100,
    "constrain_similarities": True,
    "random_seed": 42,
}


def retrieval_key(intent: str) -> str:
    """`service_raha` -> `ask_service/raha`; any other intent as it is."""
    if intent.startswith(SERVICE_PREFIX):
        return f"{RETRIEVAL_INTENT}/{intent.removeprefix(SERVICE_PREFIX)}"
    return intent


def write_retrieval_data(source: Path, target: Path) -> list[str]:
    """Copy the NLU data of `source` into `target` with every `service_<topic>`
    intent made the retrieval intent `ask_service/<topic>`, and a responses
    file naming each topic (the ResponseSelector's labels). Returns the topics.
    """
    target.mkdir(parents=True, exist_ok=True)
    for old in target.rglob("*.yml"):
        old.unlink()
    topics: set[str] = set()
    for file in sorted(source.rglob("*.yml")):
        text = file.read_text(encoding="utf-8")
        topics |= {m[2] for m in INTENT_LINE.finditer(text)}
        out = target / file.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            INTENT_LINE.sub(rf"\g<1>{RETRIEVAL_INTENT}/\g<2>", text), encoding="utf-8"
        )
    if not topics:
        raise SystemExit(f"no service_<topic> intent in {source}: nothing to compare")
    lines = ['version: "3.1"', "responses:"]
    for topic in sorted(topics):
        lines += [f"  utter_{RETRIEVAL_INTENT}/{topic}:", f"    - text: {topic}"]
    (target / "retrieval_responses.yml").write_text(
        "\n".join(lines) + "\n", encoding="utf-8"
    )
    return sorted(topics)


def retrieval_config(config: dict[str, Any]) -> dict[str, Any]:
    """Our pipeline with a ResponseSelector right after the DIETClassifier."""
    pipeline = [dict(step) for step in config.get("pipeline") or []]
    names = [step.get("name") for step in pipeline]
    if "DIETClassifier" not in names:
        raise SystemExit("bot/config.yml has no DIETClassifier to put a selector after")
    pipeline.insert(names.index("DIETClassifier") + 1, dict(SELECTOR))
    return {**config, "pipeline": pipeline}


def as_retrieval(sets: list[tuple[str, list[ev.Example]]]):
    """The same sets with every expected `service_<topic>` as `ask_service/<topic>`."""
    return [
        (name, [replace(e, intent=retrieval_key(e.intent)) for e in examples])
        for name, examples in sets
    ]


def is_path_question(intent: str) -> bool:
    return intent.startswith((SERVICE_PREFIX, f"{RETRIEVAL_INTENT}/"))


def measure(
    name: str,
    config: Path,
    model: Path,
    seconds: float,
    sets: list[tuple[str, list[ev.Example]]],
    known: set[str],
    limits: ev.Thresholds,
) -> list[tuple[str, ev.Scores, tuple[int, int]]]:
    """eval_nlu.measure, with (right, asked) over the path questions."""
    rows = []
    for set_name, result in ev.measure(
        name, config, model, seconds, sets, known, limits
    ):
        o = result.outcomes
        paths = [i for i in o.asked_by_intent if is_path_question(i)]
        asked = sum(o.asked_by_intent[i] for i in paths)
        right = sum(o.right_by_intent.get(i, 0) for i in paths)
        rows.append((set_name, result, (right, asked)))
    return rows


def report(
    rows: list[tuple[str, ev.Scores, tuple[int, int]]],
    limits: ev.Thresholds,
    seconds: dict[str, float],
    topics: list[str],
    run_seconds: float,
) -> str:
    env = ev.environment()
    table = [
        "| set | pipeline | questions | right | unsure | wrong "
        "| path questions right |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for set_name, result, (asked_right, asked) in rows:
        o = result.outcomes
        share = f"{asked_right} / {asked}" if asked else "–"
        counts = " | ".join(
            f"{k} ({ev._pct(o.rate(k))})" for k in (o.right, o.unsure, o.wrong)
        )
        table.append(f"| `{set_name}` | {result.name} | {o.n} | {counts} | {share} |")
    parts = [
        "# Path questions: one intent per topic, or a ResponseSelector",
        "",
        f"Generated by `.venv-rasa/bin/python -m benchmarks.compare_retrieval` on "
        f"{datetime.now().strftime('%Y-%m-%d %H:%M')} — Rasa {env['rasa']}, "
        f"Python {env['python']}, {env['cpus']} CPUs; the run took "
        f"{run_seconds / 60:.1f} min.",
        "",
        "- **ours**: `bot/config.yml` on `data/nlu/`, one intent per path-question "
        f"topic (`service_<topic>`, {len(topics)} topics); trained in "
        f"{seconds['ours']:.0f} s.",
        "- **retrieval**: the same pipeline with a ResponseSelector "
        f"(`retrieval_intent: {RETRIEVAL_INTENT}`) after DIET, on the same data "
        f"with every `service_<topic>` rewritten as `{RETRIEVAL_INTENT}/<topic>`; "
        f"trained in {seconds['retrieval']:.0f} s.",
        "",
        "Both are judged with the FallbackClassifier thresholds of `bot/config.yml` "
        f"({limits.threshold:g} / {limits.ambiguity:g}) on the intent ranking. A "
        "path question is right for the retrieval model only with the right topic "
        "key. *Path questions right*: of the questions labelled with a path "
        "question, how many were answered with the right topic.",
        "",
        *table,
        "",
    ]
    for set_name, result, _ in rows:
        parts += [f"## Answered wrong: `{set_name}`, {result.name}", ""]
        parts.append(ev.wrong_text(result))
    return "\n".join(parts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare_retrieval",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument(
        "--out", type=Path, default=ev.ROOT / "reports" / "nlu-retrieval.md"
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=ev.ROOT / "var" / "eval-nlu",
        help="where models are kept (reused with --reuse when they fit)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the kept retrieval model again when the data did not change",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ev.quiet()
    started = time.perf_counter()
    work: Path = args.models
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="polkuopas-retrieval-") as tmp:
        os.environ.setdefault("RASA_CACHE_DIRECTORY", str(Path(tmp) / "cache"))
        try:
            text = compare(args, work, started)
        except ev.TrainingFailed as exc:
            print(f"compare_retrieval: error: {exc}", file=sys.stderr)
            return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    ev.say(f"report written to {ev._rel(args.out)}")
    return 0


def compare(args: argparse.Namespace, work: Path, started: float) -> str:
    """Train or reuse both models, measure them; the report's text."""
    import yaml

    data = work / "retrieval-data"
    topics = write_retrieval_data(ev.NLU_DIR, data)
    config = work / "config-retrieval.yml"
    ours_config = yaml.safe_load(ev.CONFIGS["ours"].read_text(encoding="utf-8"))
    config.write_text(
        "# Written by benchmarks/compare_retrieval.py: bot/config.yml with a "
        "ResponseSelector\n"
        + yaml.safe_dump(
            retrieval_config(ours_config), sort_keys=False, allow_unicode=True
        ),
        encoding="utf-8",
    )
    sets = ev.evaluation_sets(ev.REALWORLD_FILE)
    known = set(ev.load_vocabulary(ev.NLU_DIR).entity_synonyms.values())
    limits = ev.read_thresholds(ev.CONFIGS["ours"])
    ev.say(
        f"{len(topics)} path-question topics; sets: " + ", ".join(n for n, _ in sets)
    )
    rows: list[tuple[str, ev.Scores, tuple[int, int]]] = []
    seconds: dict[str, float] = {}
    plan = [
        ("ours", ev.CONFIGS["ours"], ev.NLU_DIR, sets, True),
        ("retrieval", config, data, as_retrieval(sets), args.reuse),
    ]
    for i, (name, cfg, nlu, measured_sets, reuse) in enumerate(plan, 1):
        ev.say(f"[{i}/2] {name}: training, or reusing the kept model if it fits …")
        model, took, reused = ev.train_or_reuse(cfg, nlu, work, name, reuse)
        seconds[name] = took
        ev.say(f"[{i}/2] {name} {'reused' if reused else 'trained'}; parsing …")
        rows += measure(name, cfg, model, took, measured_sets, known, limits)
    order = [n for n, _ in sets]
    rows.sort(key=lambda row: order.index(row[0]))
    return report(rows, limits, seconds, topics, time.perf_counter() - started)


if __name__ == "__main__":
    sys.exit(main())
