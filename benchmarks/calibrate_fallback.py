"""Choose the FallbackClassifier's thresholds by measurement.

Parses the evaluation set (tests/nlu/eval.yml) and the real-world development
set (tests/nlu/realworld.yml, phrasings nobody on the project wrote) once with
a trained model, then replays the fallback decision for a grid of thresholds:
a message is "unsure" (the clarifying question) when the best intent's
confidence is below `threshold` or the two best are within `ambiguity`.
Outcomes a client meets: answered right / honestly unsure / answered wrong. An
in-scope question predicted as out_of_scope gets "I cannot answer this": honest,
counted as unsure, not as wrong.

    .venv-rasa/bin/python -m benchmarks.calibrate_fallback \
        --model bot/models/polkuopas.tar.gz --out reports/nlu-thresholds.md

Run it with the shipped pipeline; the DIET ranking it replays does not depend
on the thresholds, so one parse per sentence serves the whole grid.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
AMBIGUITIES = (0.05, 0.1, 0.2, 0.3)
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
QUESTION_LABEL = "question:"
MARKUP = re.compile(r"\[([^\]]+)\](?:\{[^{}]*\}|\([^()]*\))")


@dataclass(frozen=True)
class Parsed:
    text: str
    expected: str
    ranking: tuple[tuple[str, float], ...]  # without nlu_fallback, best first


def expected_intent(label: str) -> str:
    if label.startswith(QUESTION_LABEL):
        return "service_" + label.removeprefix(QUESTION_LABEL)
    return label


def load_eval(path: Path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for item in data.get("nlu") or []:
        if "intent" not in item:
            continue
        for line in item["examples"].splitlines():
            if line.strip().startswith("- "):
                out.append((MARKUP.sub(r"\1", line.strip()[2:]), item["intent"]))
    return out


def load_realworld(path: Path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        (str(q["text"]), expected_intent(str(q["label"])))
        for q in data.get("questions") or []
    ]


async def parse_all(model: Path, examples: list[tuple[str, str]]) -> list[Parsed]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    parsed = []
    for text, expected in examples:
        result = await agent.parse_message(text)
        ranking = tuple(
            (r["name"], float(r["confidence"]))
            for r in result.get("intent_ranking") or []
            if r["name"] != FALLBACK
        )
        parsed.append(Parsed(text, expected, ranking))
    return parsed


def outcome(p: Parsed, threshold: float, ambiguity: float) -> str:
    (best, conf), second = p.ranking[0], p.ranking[1][1] if len(p.ranking) > 1 else 0
    if conf < threshold or conf - second < ambiguity:
        return "unsure"
    if best == p.expected:
        return "right"
    if best == OUT_OF_SCOPE:
        return "unsure"
    return "wrong"


def rates(parsed: list[Parsed], threshold: float, ambiguity: float) -> dict:
    counts = {"right": 0, "unsure": 0, "wrong": 0}
    for p in parsed:
        counts[outcome(p, threshold, ambiguity)] += 1
    total = len(parsed) or 1
    return {k: v / total for k, v in counts.items()}


def accuracy(parsed: list[Parsed]) -> float:
    return sum(p.ranking[0][0] == p.expected for p in parsed) / (len(parsed) or 1)


def pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def report(sets: dict[str, list[Parsed]], model: Path) -> str:
    lines = [
        "# Fallback thresholds, chosen by measurement",
        "",
        f"Model: `{model.name}`, parsed once; `benchmarks/calibrate_fallback.py`",
        "replays the fallback decision for each setting. Outcomes: right / unsure",
        "(clarifying question, or out_of_scope's honest 'I cannot answer') / wrong.",
        "",
    ]
    for name, parsed in sets.items():
        lines.append(
            f"- {name}: {len(parsed)} sentences, intent accuracy without fallback "
            f"{pct(accuracy(parsed))}"
        )
    names = list(sets)
    head = "| threshold | ambiguity | " + " | ".join(
        f"{n} right | {n} unsure | {n} wrong" for n in names
    )
    lines += ["", head + " |", "|" + "---|" * (2 + 3 * len(names))]
    for t in THRESHOLDS:
        for a in AMBIGUITIES:
            cells = []
            for n in names:
                r = rates(sets[n], t, a)
                cells += [pct(r["right"]), pct(r["unsure"]), pct(r["wrong"])]
            lines.append(f"| {t} | {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def wrong_list(parsed: list[Parsed], threshold: float, ambiguity: float) -> str:
    lines = []
    for p in parsed:
        if outcome(p, threshold, ambiguity) == "wrong":
            best, conf = p.ranking[0]
            lines.append(
                f"- {p.text!r}: expected {p.expected}, got {best} ({conf:.2f})"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, default=ROOT / "bot/models/polkuopas.tar.gz"
    )
    parser.add_argument("--eval", type=Path, default=ROOT / "tests/nlu/eval.yml")
    parser.add_argument(
        "--realworld", type=Path, default=ROOT / "tests/nlu/realworld.yml"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports/nlu-thresholds.md")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--ambiguity", type=float, default=None)
    args = parser.parse_args()
    sets = {
        "eval": asyncio.run(parse_all(args.model, load_eval(args.eval))),
        "realworld": asyncio.run(parse_all(args.model, load_realworld(args.realworld))),
    }
    text = report(sets, args.model)
    if args.threshold is not None and args.ambiguity is not None:
        for name, parsed in sets.items():
            text += (
                f"\n## Answered wrong at {args.threshold}/{args.ambiguity}: {name}\n\n"
            )
            text += wrong_list(parsed, args.threshold, args.ambiguity)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
