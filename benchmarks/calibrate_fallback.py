"""Choose the FallbackClassifier's thresholds by measurement on the dev set.

Parses the evaluation set (tests/nlu/eval.yml, written here) and the
development set (tests/nlu/dev.yml, questions copied from public pages) once
with a trained model, then replays the fallback decision for a grid of
thresholds: a message is "unsure" (the clarifying question) when the best
intent's confidence is below `threshold` or the two best are within
`ambiguity`. With an out_of_scope floor (polkuopas_rasa.fallback.Fallback),
a best guess of out_of_scope is unsure below the floor instead of the
threshold, as its answer ("En osaa vastata tähän") claims nothing. The
outcomes are counted exactly as `make eval-nlu` counts them (`outcome` in
benchmarks/eval_nlu.py): answered right / honestly unsure /
answered wrong.

The real-world set (tests/nlu/realworld.yml) is deliberately not read: it is
kept for the final report, so the setting chosen here is measured there on
questions it was not chosen on.

    .venv-rasa/bin/python -m benchmarks.calibrate_fallback \\
        --model bot/models/polkuopas.tar.gz [--model OTHER_SEED.tar.gz ...] \\
        --out reports/nlu-thresholds.md

With several `--model`s (the same pipeline trained with different seeds:
one DIET model is one draw), every figure is the mean over the models, so
the setting is not chosen on one draw's luck.

The rule (`choose`) first keeps the settings under which the client's
messages of the conversation tests (tests/stories/, the questions the issue
named among them) are answered right most often: all of them, when some
setting does. A setting that turns one of them into a clarifying question
would fail `make test-stories` with the model served. Then, among those that
keep the evaluation set answered
right at least 95 % of the time (the issue's intent-accuracy target; with the
pipeline's own fallback counted as wrong, accuracy and "answered right" are
the same figure) and at most 10 % of the dev questions answered wrong (the
issue's safety target), take the one with the most dev questions answered
right minus answered wrong, then the fewest wrong, then the lowest threshold
(and on a tie of all that, Rasa's rule before a floor, a higher floor before a
lower one).
If none meets both targets, the evaluation target comes first: the fewest
dev questions answered wrong, then the most right, then the lowest threshold.
If no setting keeps the evaluation set there, the safety target comes first:
among the settings with at most 10 % of the dev questions answered wrong, the
one with the most evaluation sentences answered right (then fewest dev
wrong, lowest threshold); if none, the fewest dev questions answered wrong.
The intent ranking does not depend on the thresholds, so one parse per
sentence serves the whole grid.

With `--weights` and `--temperatures` the vote itself is chosen too
(`polkuopas_rasa.intent_vote`: the regression's share, and the temperature
DIET's confidences are softened by before the vote). While each message is
parsed, the two rankings the vote averages are recorded (`VoteRecorder`);
each pair of weight and temperature then replays the vote on them
(`revote`) and gets its own thresholds by the rule above. Among those, the
same rule picks one (on a tie, the lower temperature, then the lower weight).
DIET and the regression do not depend on either setting, so models trained
with any weight and temperature serve: the replay gives what the same
trainings would answer with the other settings.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks import eval_nlu as ev
from benchmarks.language_id import ANNOTATION

ROOT = Path(__file__).resolve().parent.parent
STORIES_DIR = ROOT / "tests" / "stories"
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9)
AMBIGUITIES = (0.05, 0.1, 0.2, 0.3)
# The floor of polkuopas_rasa.fallback.Fallback when the best guess is
# out_of_scope; None is Rasa's rule (the same threshold and ambiguity as any
# other intent).
OUT_OF_SCOPE_FLOORS = (None, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
EVAL_TARGET = 0.95
WRONG_TARGET = 0.10


Ranking = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Parsed:
    text: str
    expected: str
    ranking: Ranking  # without nlu_fallback, best first
    full: str  # the best intent with its retrieval key, if any
    # The two rankings the vote averaged (DIET's, unsoftened, and the
    # regression's), when recorded; None when they were not recorded, or when
    # the vote decides nothing (a payload the channel sends, such as
    # "/other_language{...}", whose intent Rasa takes as it is).
    voters: tuple[Ranking, Ranking] | None = None

    def prediction(self) -> ev.Prediction:
        """The parse as eval_nlu sees it, before any fallback decision."""
        best = self.ranking[0][0] if self.ranking else ev.FALLBACK
        conf = self.ranking[0][1] if self.ranking else 0.0
        return ev.Prediction(
            intent=best,
            confidence=conf,
            ranked=best,
            top=list(self.ranking[:2]),
            roles=[],
            seconds=0.0,
            full=self.full or best,
        )


class VoteRecorder:
    """While active, records the two rankings `IntentVote` averages for each
    message (it wraps `polkuopas_rasa.intent_vote.combine`); `take` returns
    those of the message parsed last, or None, and forgets them."""

    def __init__(self) -> None:
        self.last: tuple[Ranking, Ranking] | None = None

    def __enter__(self) -> VoteRecorder:
        ev.our_components()
        import polkuopas_rasa.intent_vote as vote

        self._vote = vote
        self._combine = vote.combine

        def recording(earlier, own, weight, length, temperature=1.0):
            self.last = (
                tuple(
                    (str(item["name"]), float(item.get("confidence") or 0.0))
                    for item in earlier
                    if item.get("name")
                ),
                tuple((str(name), float(p)) for name, p in own.items()),
            )
            return self._combine(earlier, own, weight, length, temperature)

        vote.combine = recording
        return self

    def __exit__(self, *exc: object) -> None:
        self._vote.combine = self._combine

    def take(self) -> tuple[Ranking, Ranking] | None:
        last, self.last = self.last, None
        return last


def parse_sets(
    model: Path, sets: list[list[ev.Example]], record_voters: bool = False
) -> list[list[Parsed]]:
    """Each list of examples parsed with one loaded model, as the chat channel
    passes it to Rasa (eval_nlu's parse loop), keeping the whole ranking and,
    with `record_voters`, the two rankings the vote averaged."""
    if record_voters:
        with VoteRecorder() as recorder:
            parsed = ev.parse_sets(model, sets, observe=recorder.take)
    else:
        parsed = ev.parse_sets(model, sets)
    return [
        [
            Parsed(e.text, e.intent, tuple(p.ranking), p.full, p.observed)
            for e, p in zip(examples, predictions, strict=True)
        ]
        for examples, predictions in zip(sets, parsed, strict=True)
    ]


def revote(parsed: Parsed, weight: float, temperature: float) -> Parsed:
    """The parse as the vote would have ranked it with `weight` and
    `temperature`; unchanged where the vote did not run."""
    if parsed.voters is None:
        return parsed
    ev.our_components()
    from polkuopas_rasa.voting import combine

    diet, own = parsed.voters
    ranking = combine(
        [{"name": name, "confidence": c} for name, c in diet],
        dict(own),
        weight,
        0,
        temperature,
    )
    ranked = tuple(
        (item["name"], item["confidence"])
        for item in ranking
        if item["name"] != ev.FALLBACK
    )
    # The served pipeline has no ResponseSelector: the full intent is the best.
    return Parsed(parsed.text, parsed.expected, ranked, ranked[0][0], parsed.voters)


def revoted(sets: Sets, weight: float, temperature: float) -> Sets:
    return {
        name: [[revote(p, weight, temperature) for p in run] for run in runs_of(parsed)]
        for name, parsed in sets.items()
    }


def runs_of(parsed: list[Parsed] | list[list[Parsed]]) -> list[list[Parsed]]:
    """One model's parses, or several models' parses of the same sentences,
    as a list of runs."""
    if parsed and isinstance(parsed[0], list):
        return parsed
    return [parsed]


def rates(
    parsed: list[Parsed] | list[list[Parsed]],
    threshold: float,
    ambiguity: float,
    out_of_scope: float | None = None,
) -> dict:
    """Right / unsure / wrong shares of one model's parses, or the mean over
    several models' parses of the same sentences."""
    limits = ev.Thresholds(threshold, ambiguity, out_of_scope)
    kinds = (ev.RIGHT, ev.UNSURE, ev.WRONG)
    shares = []
    for run in runs_of(parsed):
        counts = Counter(ev.outcome(p.expected, p.prediction(), limits) for p in run)
        shares.append({k: counts[k] / (len(run) or 1) for k in kinds})
    # rounded, so that a mean of 10 % is not 10.000000000000002 %
    return {k: round(sum(r[k] for r in shares) / len(shares), 9) for k in kinds}


def accuracy(parsed: list[Parsed] | list[list[Parsed]]) -> float:
    """Intent accuracy of the ranking alone (no fallback); mean over models."""
    runs = runs_of(parsed)
    return sum(
        sum(ev.matches(p.expected, p.prediction().full) for p in run) / len(run)
        for run in runs
        if run
    ) / len(runs)


Sets = dict[str, list[Parsed]] | dict[str, list[list[Parsed]]]


Setting = tuple[float, float, float | None]


def load_conversations(folder: Path = STORIES_DIR) -> list[ev.Example]:
    """The client's messages in the conversation tests, each with the intent
    its story expects, entity annotations removed ("[text](role)" is
    "text"). A button's payload ("/affirm") is not parsed by the
    model, so it is left out, as is a step without a message."""
    import yaml

    examples = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for story in data.get("stories") or []:
            for step in story.get("steps") or []:
                text = ANNOTATION.sub(r"\1", str(step.get("user") or "")).strip()
                if text and step.get("intent") and not text.startswith("/"):
                    examples.append(ev.Example(text, str(step["intent"]), []))
    return examples


def _cautious(floor: float | None) -> float:
    """Tie-break order of out_of_scope floors: Rasa's rule first, then the
    higher floor."""
    return -1.0 if floor is None else 1.0 - floor


def choose(
    sets: Sets,
    dev: str = "dev",
    evaluation: str = "eval",
    floors: tuple[float | None, ...] = OUT_OF_SCOPE_FLOORS,
    conversations: str = "conversations",
) -> Setting:
    """The grid setting the rule in the module docstring picks: threshold,
    ambiguity and out_of_scope floor. Without a `conversations` set, the rule
    starts from the whole grid."""
    grid = [
        ((t, a, f), rates(sets[evaluation], t, a, f), rates(sets[dev], t, a, f))
        for t in THRESHOLDS
        for a in AMBIGUITIES
        for f in floors
    ]
    rows = [
        (
            setting,
            eval_rates,
            dev_rates,
            rates(sets[conversations], *setting)[ev.RIGHT]
            if conversations in sets
            else 1.0,
        )
        for setting, eval_rates, dev_rates in grid
    ]
    # on a tie, the lowest threshold and ambiguity, then the more cautious floor
    return _by_rule(rows, lambda s: (*s[:2], _cautious(s[2])))


def _by_rule(rows: list, tie):
    """The rule of the module docstring over `rows` of (candidate, eval rates,
    dev rates, share of the conversation messages answered right): the
    candidate it picks, `tie(candidate)` breaking ties."""
    most = max(row[3] for row in rows)
    rows = [row for row in rows if row[3] == most]

    def best(candidates: list, key):
        return min(candidates, key=lambda row: (*key(row), *tie(row[0])))[0]

    meets_eval = [row for row in rows if row[1][ev.RIGHT] >= EVAL_TARGET]
    safe = [row for row in rows if row[2][ev.WRONG] <= WRONG_TARGET]
    both = [row for row in meets_eval if row[2][ev.WRONG] <= WRONG_TARGET]
    if both:
        return best(both, lambda r: (r[2][ev.WRONG] - r[2][ev.RIGHT], r[2][ev.WRONG]))
    if meets_eval:
        return best(meets_eval, lambda r: (r[2][ev.WRONG], -r[2][ev.RIGHT]))
    if safe:
        return best(safe, lambda r: (-r[1][ev.RIGHT], r[2][ev.WRONG]))
    return best(rows, lambda r: (r[2][ev.WRONG],))


@dataclass(frozen=True)
class VoteRow:
    """One pair of vote settings, the thresholds the rule gives it, and what
    those give."""

    temperature: float
    weight: float
    setting: Setting
    eval: dict
    dev: dict
    conversations: float  # share of the conversation messages answered right


def vote_grid(
    sets: Sets, weights: list[float], temperatures: list[float]
) -> list[VoteRow]:
    """Each weight and temperature, its thresholds chosen by `choose` on the
    replayed vote."""
    rows = []
    for temperature in temperatures:
        for weight in weights:
            replay = revoted(sets, weight, temperature)
            setting = choose(replay)
            conversations = (
                rates(replay["conversations"], *setting)[ev.RIGHT]
                if "conversations" in replay
                else 1.0
            )
            rows.append(
                VoteRow(
                    temperature,
                    weight,
                    setting,
                    rates(replay["eval"], *setting),
                    rates(replay["dev"], *setting),
                    conversations,
                )
            )
    return rows


def choose_vote(rows: list[VoteRow]) -> VoteRow:
    """The row the rule of the module docstring picks (`_by_rule`, as for the
    thresholds); on a tie the lower temperature, then the lower weight."""
    return _by_rule(
        [(row, row.eval, row.dev, row.conversations) for row in rows],
        lambda row: (row.temperature, row.weight),
    )


def vote_section(rows: list[VoteRow], chosen: VoteRow) -> list[str]:
    lines = [
        "## The vote: the regression's weight and DIET's temperature",
        "",
        "Each pair replays the vote on the recorded rankings of DIET and the "
        "regression, with its own thresholds chosen by the rule:",
        "",
        "| temperature | weight | threshold | ambiguity | out_of_scope floor "
        "| eval right | dev right | dev unsure | dev wrong | dev right minus wrong "
        "| conversations right |",
        "|" + "---|" * 11,
    ]
    for row in rows:
        t, a, f = row.setting
        lines.append(
            f"| {row.temperature} | {row.weight} | {t} | {a} | "
            f"{'none' if f is None else f} | {pct(row.eval[ev.RIGHT])} | "
            f"{pct(row.dev[ev.RIGHT])} | {pct(row.dev[ev.UNSURE])} | "
            f"{pct(row.dev[ev.WRONG])} | "
            f"{100 * (row.dev[ev.RIGHT] - row.dev[ev.WRONG]):.1f} | "
            f"{pct(row.conversations)} |"
        )
    lines += [
        "",
        f"Chosen by the rule: temperature {chosen.temperature}, weight "
        f"{chosen.weight}. The tables below replay the vote with these.",
        "",
    ]
    return lines


def pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def report(
    sets: Sets,
    models: list[Path],
    vote: tuple[list[VoteRow], VoteRow] | None = None,
) -> str:
    """The report; with `vote` (the grid and its chosen row) `sets` are the
    parses replayed with the chosen vote."""
    named = ", ".join(f"`{model.name}`" for model in models)
    lines = [
        "# Fallback thresholds, chosen on the development set",
        "",
        f"Model{'s' if len(models) > 1 else ''}: {named}, each parsed once; "
        "`benchmarks/calibrate_fallback.py`",
        "replays the fallback decision for each setting"
        + (" and gives the mean over the models" if len(models) > 1 else "")
        + ". Outcomes as in",
        "`make eval-nlu`: right / unsure (the clarifying question) / wrong. The",
        "real-world and holdout sets are not read here.",
        "",
    ]
    if vote:
        lines += vote_section(*vote)
    for name, parsed in sets.items():
        lines.append(
            f"- {name}: {len(runs_of(parsed)[0])} sentences, "
            "intent accuracy without fallback "
            f"{pct(accuracy(parsed))}"
        )
    names = list(sets)
    columns = " | ".join(f"{n} right | {n} unsure | {n} wrong" for n in names)
    head = f"| threshold | ambiguity | {columns}"

    def cells(t: float, a: float, f: float | None) -> str:
        out = []
        for n in names:
            r = rates(sets[n], t, a, f)
            out += [pct(r[ev.RIGHT]), pct(r[ev.UNSURE]), pct(r[ev.WRONG])]
        return " | ".join(out)

    lines += [
        "",
        "With Rasa's rule for every intent (no out_of_scope floor):",
        "",
        head + " |",
        "|" + "---|" * (2 + 3 * len(names)),
    ]
    for t in THRESHOLDS:
        for a in AMBIGUITIES:
            lines.append(f"| {t} | {a} | {cells(t, a, None)} |")
    chosen = choose(sets) if {"eval", "dev"} <= set(sets) else None
    lines.append("")
    if chosen:
        t, a, _ = chosen
        lines += [
            f"At threshold {t} and ambiguity {a}, each out_of_scope floor (a best "
            "guess of out_of_scope is unsure below it instead of the threshold; "
            "`none`: Rasa's rule):",
            "",
            f"| out_of_scope floor | {columns} |",
            "|" + "---|" * (1 + 3 * len(names)),
        ]
        for f in OUT_OF_SCOPE_FLOORS:
            lines.append(f"| {'none' if f is None else f} | {cells(t, a, f)} |")
        lines.append("")
        e = rates(sets["eval"], *chosen)
        d = rates(sets["dev"], *chosen)
        kept = e[ev.RIGHT] >= EVAL_TARGET
        safe = d[ev.WRONG] <= WRONG_TARGET
        floor = "none" if chosen[2] is None else chosen[2]
        conversations = ""
        if "conversations" in sets:
            c = rates(sets["conversations"], *chosen)
            conversations = (
                f"It answers {pct(c[ev.RIGHT])} of the conversation tests' "
                "messages right, as many as any setting does. "
            )
        lines.append(
            f"Chosen by the rule: threshold {chosen[0]}, ambiguity {chosen[1]}, "
            f"out_of_scope floor {floor}: "
            f"eval right {pct(e[ev.RIGHT])}, dev right {pct(d[ev.RIGHT])} / "
            f"unsure {pct(d[ev.UNSURE])} / wrong {pct(d[ev.WRONG])}. "
            + conversations
            + (
                f"Of the settings that keep the evaluation set answered right at "
                f"least {pct(EVAL_TARGET)} and at most {pct(WRONG_TARGET)} of the "
                "dev questions answered wrong, it answers the most dev questions "
                "right minus wrong."
                if kept and safe
                else f"It keeps the evaluation set answered right at least "
                f"{pct(EVAL_TARGET)} with the fewest dev questions answered wrong."
                if kept
                else f"No setting keeps the evaluation set answered right "
                f"{pct(EVAL_TARGET)}; among those with at most "
                f"{pct(WRONG_TARGET)} of the dev questions answered wrong, this "
                "one answers the most evaluation sentences right."
            )
        )
    return "\n".join(lines) + "\n"


def wrong_list(
    parsed: list[Parsed],
    threshold: float,
    ambiguity: float,
    out_of_scope: float | None = None,
) -> str:
    limits = ev.Thresholds(threshold, ambiguity, out_of_scope)
    lines = []
    for p in parsed:
        pred = p.prediction()
        if ev.outcome(p.expected, pred, limits) == ev.WRONG:
            lines.append(
                f"- {p.text!r}: expected {p.expected}, got {pred.full} "
                f"({pred.confidence:.2f})"
            )
    return "\n".join(lines) + "\n"


def _floats(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, e.g. 0.4,0.5: {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        help="a trained model; give several (other seeds) for the mean "
        "(default: bot/models/polkuopas.tar.gz)",
    )
    parser.add_argument("--eval", type=Path, default=ev.EVAL_FILE)
    parser.add_argument("--dev", type=Path, default=ev.DEV_FILE)
    parser.add_argument(
        "--stories",
        type=Path,
        default=STORIES_DIR,
        help="the conversation tests whose messages the setting must keep answered",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports/nlu-thresholds.md")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--ambiguity", type=float, default=None)
    parser.add_argument(
        "--weights",
        type=_floats,
        default=None,
        help="choose the vote too: the regression's shares to try, e.g. "
        "0.3,0.4,0.5,0.6,0.7 (with --temperatures)",
    )
    parser.add_argument(
        "--temperatures",
        type=_floats,
        default=[1.0],
        help="with --weights: DIET's temperatures to try, e.g. 1,1.5,2,3,4",
    )
    parser.add_argument(
        "--out-of-scope",
        type=float,
        default=None,
        help="with --threshold and --ambiguity: the out_of_scope floor of the "
        "wrong lists (default: Rasa's rule)",
    )
    args = parser.parse_args()
    models = args.model or [ROOT / "bot/models/polkuopas.tar.gz"]
    missing = [str(model) for model in models if not model.is_file()]
    if missing:
        parser.error(f"no trained model at {', '.join(missing)}: run make train first")
    ev.quiet()
    examples = {
        "eval": ev.load_examples(args.eval),
        "dev": ev.load_realworld(args.dev),
        "conversations": load_conversations(args.stories),
    }
    runs: dict[str, list[list[Parsed]]] = {name: [] for name in examples}
    record = args.weights is not None
    for i, model in enumerate(models, 1):
        ev.say(f"[{i}/{len(models)}] parsing with {model} …")
        parsed = parse_sets(model, list(examples.values()), record_voters=record)
        for name, run in zip(examples, parsed, strict=True):
            runs[name].append(run)
    vote = None
    if record:
        grid = len(args.weights) * len(args.temperatures)
        ev.say(f"replaying the vote with {grid} pairs of weight and temperature …")
        rows = vote_grid(runs, args.weights, args.temperatures)
        chosen = choose_vote(rows)
        vote = (rows, chosen)
        runs = revoted(runs, chosen.weight, chosen.temperature)
    text = report(runs, models, vote)
    if args.threshold is not None and args.ambiguity is not None:
        for name, parsed in runs.items():
            for model, run in zip(models, parsed, strict=True):
                text += (
                    f"\n## Answered wrong at {args.threshold}/{args.ambiguity}: "
                    f"{name}, {model.name}\n\n"
                )
                text += wrong_list(
                    run, args.threshold, args.ambiguity, args.out_of_scope
                )
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
