"""NLU benchmark: our Finnish pipeline against Rasa's default pipeline.

Run in the bot environment (Python 3.10, Rasa 3.6) from anywhere:

    .venv-rasa/bin/python -m benchmarks.eval_nlu [--out reports/nlu.md]

It trains one NLU model per config on `data/nlu/` (ours: bot/config.yml, the
default: bot/config-default.yml), parses every sentence of `tests/nlu/eval.yml`
(never trained on) and reports side by side: intent accuracy and macro-F1, the
`role` entity by value (the role id after synonym mapping, per utterance) and by
exact span, training time, mean parse latency, and the most frequent intent
confusions of the first config. The Markdown report goes to --out.

Both models also parse `tests/nlu/dev.yml` (the development set: questions
copied from public pages, on which the settings are chosen) and
`tests/nlu/realworld.yml` (the report set: other questions copied from public
pages, used for nothing but this report) and the holdout sets
`tests/nlu/holdout.yml`, `tests/nlu/holdout-2.yml`, ... (each copied after the
training data of a round was fixed, so nobody had read it when that data was
written; its header says what was seen since); none is trained on.
For every set
the report counts the three outcomes a
client meets: answered right, honestly unsure (the top intent is below the
FallbackClassifier threshold of bot/config.yml, or the two best are within its
ambiguity threshold, so the assistant asks back) and answered wrong, and lists
the wrong ones. A path question labelled `question:<topic>` is right when the
prediction is the intent `question_intent(topic)` names.

To measure an already trained model without training (minutes instead of ten):

    .venv-rasa/bin/python -m benchmarks.eval_nlu --model bot/models/polkuopas.tar.gz

With `--models DIR --reuse`, a model in DIR trained by an earlier run on the
same config and the same `data/nlu/` (a fingerprint of both is kept next to it,
`<name>.json`, with its training time) is measured again instead of trained
again: for a set added after the run, or a report rewritten.

Settings were chosen by cross-validation on the training data only:

    .venv-rasa/bin/python -m benchmarks.eval_nlu --cv 3 --config bot/config.yml \
        --config /tmp/variant.yml

splits the examples of `data/nlu/` into K folds stratified by intent, trains on
K-1 and tests on the held-out fold; the eval set is not read. The vocabulary
(synonyms and lookup tables written explicitly, i.e. `roles_generated.yml`) is
kept in every fold; synonyms that only come from annotated examples are not, so
a held-out sentence cannot leak its words into the model.

Exit codes: 0 done, 1 a training failed, 2 usage error.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# No training cache: every model is trained from scratch, so the training times
# are comparable and no .rasa/ folder is left behind.
os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")

import argparse
import asyncio
import hashlib
import importlib
import json
import logging
import math
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NLU_DIR = ROOT / "data" / "nlu"
EVAL_FILE = ROOT / "tests" / "nlu" / "eval.yml"
REALWORLD_FILE = ROOT / "tests" / "nlu" / "realworld.yml"
DEV_FILE = ROOT / "tests" / "nlu" / "dev.yml"
# bot/config.yml names a component of ours (polkuopas_rasa.intent_vote), which
# Rasa imports by name when it trains or loads a model.
BOT_DIR = ROOT / "bot"


def holdout_files(folder: Path = ROOT / "tests" / "nlu") -> list[Path]:
    """The holdout sets in the order they were collected: holdout.yml, then
    holdout-2.yml, holdout-3.yml, ..."""
    numbered = {}
    for path in folder.glob("holdout*.yml"):
        found = re.fullmatch(r"holdout(?:-(\d+))?", path.stem)
        if found:
            numbered[int(found[1] or 1)] = path
    return [numbered[n] for n in sorted(numbered)]


CONFIGS = {
    "ours": ROOT / "bot" / "config.yml",
    "default": ROOT / "bot" / "config-default.yml",
}
ENTITY = "role"
FALLBACK = "nlu_fallback"
# Rasa's fallback and ours (bot/polkuopas_rasa/fallback.py), as named in a config
FALLBACK_COMPONENTS = frozenset(
    {"FallbackClassifier", "polkuopas_rasa.fallback.Fallback"}
)
OUT_OF_SCOPE = "out_of_scope"
LANGUAGE = "fi"
QUESTION_LABEL = "question:"
# The intents the assistant offers as buttons when it is unsure: the keys of
# INTENT_LABELS in actions/polkuopas/bot_actions.py and every path question
# (service_<topic>). It offers the two best of the ranking, filled up with
# OFFER_DEFAULTS (ActionFallback; ActionOutOfScope offers the same two after
# "En osaa vastata tähän"). This script runs in the Rasa environment,
# which cannot import the action package: a test keeps both copies equal.
CLICKABLE = frozenset(
    {
        "ask_responsible",
        "ask_contact",
        "ask_current_step",
        "ask_next_step",
        "ask_path_overview",
        "ask_role_definition",
        "ask_follow_up",
        "request_human",
        "ask_next_meeting",
        "ask_my_goal",
        "ask_my_actions",
    }
)
OFFER_DEFAULTS = ("ask_responsible", "ask_path_overview")
# Rasa's FallbackClassifier defaults, used when a config has none.
DEFAULT_THRESHOLD = 0.3
DEFAULT_AMBIGUITY = 0.1


def say(message: str) -> None:
    """A progress line, flushed at once (training takes minutes)."""
    print(f"[eval-nlu {time.strftime('%H:%M:%S')}] {message}", flush=True)


def quiet() -> None:
    """Keep Rasa's and TensorFlow's output to warnings worth reading."""
    # Import first: importing Rasa installs its own warning filters.
    for module in ("rasa.model_training", "rasa.core.agent"):
        importlib.import_module(module)
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    for name in ("rasa", "tensorflow", "absl", "spacy", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    configure_structlog(logging.WARNING)  # the parser logs every message at debug
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    for message in ("Creating an ndarray from ragged", ".*deprecated"):
        warnings.filterwarnings("ignore", message=message)


# --- data ----------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    value: str


@dataclass
class Example:
    text: str
    intent: str
    roles: list[Span]
    message: Any = None  # the Rasa Message, kept for writing training folds
    # The intent a second, blind reader of a copied question chose
    # (`second_label`), when the set has one: None otherwise.
    second: str | None = None


@dataclass
class Prediction:
    intent: str
    confidence: float
    ranked: str  # the best intent of the ranking, before any fallback
    top: list[tuple[str, float]]  # the two best intents of the ranking
    roles: list[Span]
    seconds: float
    # The ranked intent with its retrieval key when a ResponseSelector chose one
    # ("ask_service/raha"); else the ranked intent itself.
    full: str = ""
    # The two intents the assistant would offer as buttons if it were unsure.
    offered: list[str] = field(default_factory=list)
    # The whole ranking, best first, without nlu_fallback (for
    # benchmarks/calibrate_fallback.py, which replays the fallback on it).
    ranking: list[tuple[str, float]] = field(default_factory=list)
    # What `parse_sets`'s `observe` returned right after this parse.
    observed: Any = None

    @property
    def shown(self) -> str:
        """What the assistant acts on: the fallback, or the full intent."""
        return FALLBACK if self.intent == FALLBACK else (self.full or self.intent)


def _spans(entities: list[dict[str, Any]]) -> list[Span]:
    return [
        Span(int(e["start"]), int(e["end"]), str(e.get("value", "")))
        for e in entities or []
        if e.get("entity") == ENTITY
    ]


def load_examples(path: Path) -> list[Example]:
    """Intent examples of a file or folder, parsed by Rasa's own reader."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path), LANGUAGE)
    return [
        Example(m.get("text"), m.get("intent"), _spans(m.get("entities")), m)
        for m in data.intent_examples
    ]


def question_intent(topic: str) -> str:
    """The intent that answers the path question `topic`.

    The one place that knows how path questions are recognised: as branch
    `questions` generates them (data/nlu/questions_generated.yml), one intent
    per topic named `service_<topic>`. If they are implemented otherwise (a
    retrieval intent such as `ask_service/<topic>`, another name), change only
    this function; a retrieval key is compared as the ResponseSelector's
    `intent/key`.
    """
    return f"service_{topic}"


def expected_intent(label: str) -> str:
    """The intent a real-world label asks for (`question:<topic>` mapped)."""
    if label.startswith(QUESTION_LABEL):
        return question_intent(label.removeprefix(QUESTION_LABEL))
    return label


def matches(expected: str, predicted: str) -> bool:
    """Whether a predicted (full) intent answers as the expected one would.

    A retrieval intent must match with its key; an expected plain intent is
    also met by any key of that intent (the key only picks the wording).
    """
    if expected == predicted:
        return True
    return "/" not in expected and predicted.split("/", 1)[0] == expected


def load_realworld(path: Path) -> list[Example]:
    """The questions of tests/nlu/realworld.yml as examples (no roles).

    The file is a YAML mapping with `questions`: a list of {text, label,
    source}, and `second_label` where a second reader labelled the question
    without seeing the first label or the page; see its header.
    """
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        Example(
            str(q["text"]),
            expected_intent(str(q["label"])),
            [],
            second=expected_intent(str(q["second_label"]))
            if q.get("second_label")
            else None,
        )
        for q in data.get("questions") or []
    ]


def full_intent(parsed: dict[str, Any], intent: str) -> str:
    """`intent`, with the retrieval key a ResponseSelector chose for it if any."""
    selectors = parsed.get("response_selector") or {}
    for name, selector in selectors.items():
        if name == "all_retrieval_intents" or not isinstance(selector, dict):
            continue
        key = str((selector.get("response") or {}).get("intent_response_key") or "")
        if key.split("/", 1)[0] == intent and "/" in key:
            return key
    return intent


def load_vocabulary(folder: Path) -> Any:
    """The explicit vocabulary of a folder: synonym and lookup sections, regexes.

    Synonyms that Rasa derives from annotated examples are left out (training
    derives them again from whatever examples it gets).
    """
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    synonyms: dict[str, str] = {}
    lookups: list[dict[str, Any]] = []
    regexes: list[dict[str, Any]] = []
    for file in sorted(folder.glob("*.yml")):
        data = load_data(str(file), LANGUAGE)
        derived = {
            m.get("text")[e["start"] : e["end"]]
            for m in data.training_examples
            for e in m.get("entities") or []
        }
        synonyms.update(
            {k: v for k, v in data.entity_synonyms.items() if k not in derived}
        )
        lookups += data.lookup_tables
        regexes += data.regex_features
    return TrainingData(
        entity_synonyms=synonyms, lookup_tables=lookups, regex_features=regexes
    )


def folds(examples: list[Example], k: int, seed: int) -> list[list[Example]]:
    """K folds, stratified by intent, from a seeded shuffle."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    rng = random.Random(seed)
    out: list[list[Example]] = [[] for _ in range(k)]
    offset = 0
    for intent in sorted(by_intent):
        group = by_intent[intent][:]
        rng.shuffle(group)
        for i, example in enumerate(group):
            out[(i + offset) % k].append(example)
        offset += len(group)
    return out


def write_training_file(
    examples: list[Example], vocabulary: Any, folder: Path, name: str
) -> Path:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData(
        training_examples=[e.message for e in examples],
        entity_synonyms=dict(vocabulary.entity_synonyms),
        lookup_tables=list(vocabulary.lookup_tables),
        regex_features=list(vocabulary.regex_features),
    )
    path = folder / f"{name}.yml"
    path.write_text(data.nlu_as_yaml(), encoding="utf-8")
    return path


# --- training and parsing ------------------------------------------------------


class TrainingFailed(RuntimeError):
    pass


def our_components() -> None:
    """Make our own NLU components (bot/polkuopas_rasa) importable, as
    PYTHONPATH=bot does for `rasa train` and `rasa run`."""
    if str(BOT_DIR) not in sys.path:
        sys.path.insert(0, str(BOT_DIR))


def train(config: Path, nlu: Path, out: Path, name: str) -> tuple[Path, float]:
    """Train an NLU model; return the model archive and the seconds it took."""
    from rasa.model_training import train_nlu

    our_components()
    started = time.perf_counter()
    try:
        model = train_nlu(
            config=str(config),
            nlu_data=str(nlu),
            output=str(out),
            fixed_model_name=name,
        )
    except Exception as exc:  # Rasa raises many kinds; report and stop
        raise TrainingFailed(f"training with {config} failed: {exc}") from exc
    seconds = time.perf_counter() - started
    if not model or not Path(model).exists():
        raise TrainingFailed(f"training with {config} produced no model")
    return Path(model), seconds


def fingerprint(config: Path, nlu: Path, rasa_version: str | None = None) -> str:
    """What a trained model depends on: the config and every file of the NLU
    data (names and bytes), and the Rasa version (the installed one if not
    given)."""
    if rasa_version is None:
        import rasa

        rasa_version = rasa.__version__
    digest = hashlib.sha256()

    def add(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "big") + data)

    add(rasa_version.encode())
    add(config.read_bytes())
    for file in sorted(nlu.rglob("*.yml")):
        add(file.relative_to(nlu).as_posix().encode())
        add(file.read_bytes())
    return digest.hexdigest()


def reusable(work: Path, name: str, print_: str) -> float | None:
    """The training seconds of work/<name>.tar.gz if it was trained on the
    data and config that `print_` (a fingerprint) describes, else None."""
    model, sidecar = work / f"{name}.tar.gz", work / f"{name}.json"
    if not model.is_file() or not sidecar.is_file():
        return None
    try:
        kept = json.loads(sidecar.read_text(encoding="utf-8"))
        if kept.get("fingerprint") != print_:
            return None
        return float(kept["seconds"])
    except (ValueError, KeyError, TypeError):
        return None


def train_or_reuse(
    config: Path, nlu: Path, work: Path, name: str, reuse: bool
) -> tuple[Path, float, bool]:
    """train(), or with `reuse` the model an earlier run left in `work` for the
    same data and config. Writes the fingerprint next to every trained model.
    Returns the model, its training seconds and whether it was reused."""
    print_ = fingerprint(config, nlu)
    if reuse:
        seconds = reusable(work, name, print_)
        if seconds is not None:
            return work / f"{name}.tar.gz", seconds, True
        say(f"no model of the same data and config in {_rel(work)}: training {name}")
    model, seconds = train(config, nlu, work, name)
    (work / f"{name}.json").write_text(
        json.dumps(
            {
                "fingerprint": print_,
                "seconds": round(seconds, 1),
                "trained": datetime.now().isoformat(timespec="seconds"),
            }
        ),
        encoding="utf-8",
    )
    return model, seconds, False


def parse_all(model: Path, examples: list[Example]) -> list[Prediction]:
    return parse_sets(model, [examples])[0]


def parse_sets(
    model: Path,
    sets: list[list[Example]],
    observe: Callable[[], Any] | None = None,
) -> list[list[Prediction]]:
    """Parse several lists of examples with one loaded model, each as the chat
    channel passes it to Rasa (Swedish and English become other_language).

    `observe`, if given, is called after every parse (the warm-up too) and
    what it returns is kept in the prediction's `observed`: a way to read
    what a pipeline component saw of that message. For a message the channel
    sends as a payload ("/other_language{...}") it is None: the pipeline runs
    on it too, but Rasa then takes the payload's intent."""
    from rasa.core.agent import Agent

    our_components()
    from polkuopas_rasa.channel import message_for_rasa

    agent = Agent.load(str(model))

    async def run(examples: list[Example]) -> list[Prediction]:
        await agent.parse_message("hei")  # warm-up: first call builds graphs
        if observe:
            observe()
        found = []
        for example in examples:
            started = time.perf_counter()
            sent = message_for_rasa(example.text)
            parsed = await agent.parse_message(sent)
            seconds = time.perf_counter() - started
            seen = observe() if observe else None
            intent = parsed.get("intent") or {}
            ranking = [
                (r["name"], float(r["confidence"]))
                for r in parsed.get("intent_ranking") or []
                if r["name"] != FALLBACK
            ]
            ranked = ranking[0][0] if ranking else str(intent.get("name"))
            found.append(
                Prediction(
                    intent=str(intent.get("name")),
                    confidence=float(intent.get("confidence") or 0.0),
                    ranked=ranked,
                    top=ranking[:2],
                    roles=_spans(parsed.get("entities")),
                    seconds=seconds,
                    full=full_intent(parsed, ranked),
                    offered=offered_buttons([name for name, _ in ranking]),
                    ranking=ranking,
                    observed=None if sent.startswith("/") else seen,
                )
            )
        return found

    return [asyncio.run(run(examples)) for examples in sets]


def offered_buttons(ranking: list[str]) -> list[str]:
    """The two guesses ActionFallback offers: the best two intents of the
    ranking that have a button, filled up with its defaults."""
    offered = [
        name for name in ranking if name in CLICKABLE or name.startswith("service_")
    ][:2]
    for default in OFFER_DEFAULTS:
        if len(offered) < 2 and default not in offered:
            offered.append(default)
    return offered


# --- metrics -------------------------------------------------------------------


@dataclass
class Scores:
    name: str
    config: str
    n: int = 0
    accuracy: float = 0.0
    accuracy_ranked: float = 0.0
    macro_f1: float = 0.0
    fallbacks: int = 0
    value_p: float = 0.0
    value_r: float = 0.0
    value_f1: float = 0.0
    span_p: float = 0.0
    span_r: float = 0.0
    span_f1: float = 0.0
    known_f1: float = 0.0
    gold_roles: int = 0
    train_seconds: float = 0.0
    latency_ms: float = 0.0
    confusions: list[tuple[tuple[str, str], list[str]]] = field(default_factory=list)
    role_errors: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    outcomes: Outcomes | None = None


# The three outcomes a client meets.
RIGHT, UNSURE, WRONG = "right", "unsure", "wrong"


@dataclass(frozen=True)
class Thresholds:
    """When the assistant is honestly unsure (FallbackClassifier's settings;
    `out_of_scope`: the floor of polkuopas_rasa.fallback.Fallback when the
    best guess is out_of_scope, None for Rasa's rule)."""

    threshold: float = DEFAULT_THRESHOLD
    ambiguity: float = DEFAULT_AMBIGUITY
    out_of_scope: float | None = None


def read_thresholds(config: Path) -> Thresholds:
    """The FallbackClassifier thresholds of a Rasa config (Rasa's defaults if none)."""
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    for component in data.get("pipeline") or []:
        if component.get("name") in FALLBACK_COMPONENTS:
            floor = component.get("out_of_scope_threshold")
            return Thresholds(
                float(component.get("threshold", DEFAULT_THRESHOLD)),
                float(component.get("ambiguity_threshold", DEFAULT_AMBIGUITY)),
                None if floor is None else float(floor),
            )
    return Thresholds()


def outcome(expected: str, prediction: Prediction, limits: Thresholds) -> str:
    """Right, unsure or wrong: what the client meets for one message.

    Unsure when the pipeline itself fell back, or when the best intent of the
    ranking is below the threshold or within the ambiguity threshold of the
    second: the assistant would then ask what was meant instead of answering.
    With an out_of_scope floor (polkuopas_rasa.fallback.Fallback), a best
    guess of out_of_scope is unsure below that floor instead of the
    threshold (the ambiguity check stays). The same limits
    are applied to every pipeline, so they compare fairly.
    """
    if prediction.intent == FALLBACK:
        return UNSURE
    best = prediction.top[0][1] if prediction.top else prediction.confidence
    second = prediction.top[1][1] if len(prediction.top) > 1 else 0.0
    best_name = prediction.top[0][0] if prediction.top else prediction.intent
    floor = limits.threshold
    if limits.out_of_scope is not None and best_name == OUT_OF_SCOPE:
        floor = limits.out_of_scope
    if best < floor or best - second < limits.ambiguity:
        return UNSURE
    return RIGHT if matches(expected, prediction.full or prediction.ranked) else WRONG


@dataclass
class Outcomes:
    n: int = 0
    right: int = 0
    unsure: int = 0
    wrong: int = 0
    # Unsure about an in-scope question, and one of the two offered buttons is
    # the right answer: the client gets there with one click.
    unsure_offered: int = 0
    # Answered wrong with "En osaa vastata tähän" (out_of_scope): a question
    # the assistant could have answered, but no claim and no other answer.
    wrong_cannot_answer: int = 0
    # ... and one of the two nearest topics offered with it as buttons
    # (ActionOutOfScope) is the right answer: one click away.
    wrong_cannot_answer_offered: int = 0
    # (text, expected, answered with, confidence) of each wrong answer
    wrong_items: list[tuple[str, str, str, float]] = field(default_factory=list)
    # per expected intent: how many were asked, how many answered right
    asked_by_intent: Counter[str] = field(default_factory=Counter)
    right_by_intent: Counter[str] = field(default_factory=Counter)
    # The same outcomes on the questions whose two readers chose the same
    # label, when the set was read twice; None otherwise.
    agreed: Outcomes | None = None

    def rate(self, count: int) -> float:
        return count / self.n if self.n else 0.0


def count_outcomes(
    examples: list[Example], preds: list[Prediction], limits: Thresholds
) -> Outcomes:
    out = _count(examples, preds, limits)
    if any(example.second is not None for example in examples):
        both = [
            (example, p)
            for example, p in zip(examples, preds, strict=True)
            if example.second == example.intent
        ]
        out.agreed = _count([e for e, _ in both], [p for _, p in both], limits)
    return out


def _count(
    examples: list[Example], preds: list[Prediction], limits: Thresholds
) -> Outcomes:
    out = Outcomes(n=len(examples))
    for example, p in zip(examples, preds, strict=True):
        kind = outcome(example.intent, p, limits)
        # An in-scope question whose right answer is one of the buttons offered.
        button_right = example.intent != OUT_OF_SCOPE and any(
            matches(example.intent, offered) for offered in p.offered
        )
        out.asked_by_intent[example.intent] += 1
        if kind == RIGHT:
            out.right += 1
            out.right_by_intent[example.intent] += 1
        elif kind == UNSURE:
            out.unsure += 1
            out.unsure_offered += button_right
        else:
            out.wrong += 1
            if (p.full or p.ranked) == OUT_OF_SCOPE:
                out.wrong_cannot_answer += 1
                out.wrong_cannot_answer_offered += button_right
            expected = example.intent
            if example.second not in (None, example.intent):
                expected += f" (second reader: {example.second})"
            out.wrong_items.append(
                (example.text, expected, p.full or p.ranked, p.confidence)
            )
    return out


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def macro_f1(gold: list[str], pred: list[str]) -> float:
    """Macro-F1 over the intents of the gold labels (fallback counts as wrong)."""
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label and g != label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        scores.append(_prf(tp, fp, fn)[2])
    return statistics.fmean(scores) if scores else 0.0


def score(
    name: str,
    config: Path,
    examples: list[Example],
    preds: list[Prediction],
    train_seconds: float,
    known: set[str],
) -> Scores:
    """Score predictions; `known` are the valid role values (ids, ambiguous keys)."""
    gold = [e.intent for e in examples]
    # A prediction that matches its gold intent counts under the gold name (a
    # retrieval key the gold label does not ask for is no error).
    pred = [
        g if matches(g, p.shown) else p.shown for g, p in zip(gold, preds, strict=True)
    ]
    s = Scores(name=name, config=_rel(config), n=len(examples))
    s.accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    s.accuracy_ranked = sum(
        matches(g, p.full or p.ranked) for g, p in zip(gold, preds, strict=True)
    ) / len(gold)
    s.macro_f1 = macro_f1(gold, pred)
    s.fallbacks = sum(p == FALLBACK for p in pred)
    vt = vfp = vfn = st = sfp = sfn = kt = kfp = kfn = 0
    for example, p in zip(examples, preds, strict=True):
        # Values: what the action server receives, as a set per utterance.
        gold_values = {r.value for r in example.roles}
        pred_values = {r.value for r in p.roles}
        vt += len(gold_values & pred_values)
        vfp += len(pred_values - gold_values)
        vfn += len(gold_values - pred_values)
        # The action server ignores values that are no role id or ambiguous key.
        usable = pred_values & known
        kt += len(gold_values & usable)
        kfp += len(usable - gold_values)
        kfn += len(gold_values - usable)
        gold_spans = {(r.start, r.end) for r in example.roles}
        pred_spans = {(r.start, r.end) for r in p.roles}
        st += len(gold_spans & pred_spans)
        sfp += len(pred_spans - gold_spans)
        sfn += len(gold_spans - pred_spans)
        if gold_values != pred_values:
            s.role_errors.append(
                (example.text, sorted(gold_values), sorted(pred_values))
            )
    s.gold_roles = sum(len({r.value for r in e.roles}) for e in examples)
    s.value_p, s.value_r, s.value_f1 = _prf(vt, vfp, vfn)
    s.span_p, s.span_r, s.span_f1 = _prf(st, sfp, sfn)
    s.known_f1 = _prf(kt, kfp, kfn)[2]
    s.train_seconds = train_seconds
    s.latency_ms = 1000 * statistics.fmean(p.seconds for p in preds)
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for example, p in zip(examples, preds, strict=True):
        if not matches(example.intent, p.shown):
            pairs[(example.intent, p.shown)].append(example.text)
    s.confusions = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    s.records = [
        {
            "text": example.text,
            "intent": example.intent,
            "predicted": p.shown,
            "top": p.top,
            "roles": sorted({r.value for r in example.roles}),
            "predicted_roles": [[r.start, r.end, r.value] for r in p.roles],
        }
        for example, p in zip(examples, preds, strict=True)
    ]
    return s


def mean_scores(name: str, config: Path, runs: list[Scores]) -> Scores:
    """Average of the folds (for --cv); confusions and errors are pooled."""
    out = Scores(name=name, config=_rel(config))
    for attr in (
        "accuracy",
        "accuracy_ranked",
        "macro_f1",
        "value_p",
        "value_r",
        "value_f1",
        "span_p",
        "span_r",
        "span_f1",
        "known_f1",
        "train_seconds",
        "latency_ms",
    ):
        setattr(out, attr, statistics.fmean(getattr(r, attr) for r in runs))
    out.n = sum(r.n for r in runs)
    out.fallbacks = sum(r.fallbacks for r in runs)
    out.gold_roles = sum(r.gold_roles for r in runs)
    pooled: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in runs:
        for pair, texts in r.confusions:
            pooled[pair] += texts
        out.role_errors += r.role_errors
        out.records += r.records
    out.confusions = sorted(pooled.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return out


# --- reporting -----------------------------------------------------------------


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


ROWS = [
    ("intent accuracy", lambda s: _pct(s.accuracy)),
    ("intent accuracy, ignoring fallback", lambda s: _pct(s.accuracy_ranked)),
    ("intent macro-F1", lambda s: f"{s.macro_f1:.3f}"),
    ("nlu_fallback predictions", lambda s: str(s.fallbacks)),
    ("role value precision", lambda s: f"{s.value_p:.3f}"),
    ("role value recall", lambda s: f"{s.value_r:.3f}"),
    ("role value F1", lambda s: f"{s.value_f1:.3f}"),
    ("role value F1, unknown values dropped", lambda s: f"{s.known_f1:.3f}"),
    ("role span F1 (exact span)", lambda s: f"{s.span_f1:.3f}"),
    (
        "training time",
        lambda s: (
            "make train" if math.isnan(s.train_seconds) else f"{s.train_seconds:.0f} s"
        ),
    ),
    ("mean parse latency", lambda s: f"{s.latency_ms:.1f} ms"),
]


def table(results: list[Scores]) -> str:
    """The side-by-side comparison as a Markdown table (readable as text too)."""
    head = ["metric", *[f"{r.name} (`{r.config}`)" for r in results]]
    rows = [[label, *[fmt(r) for r in results]] for label, fmt in ROWS]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    dashes = ["-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)]
    sep = "|" + "|".join(dashes) + "|"
    return "\n".join([line(head), sep, *[line(r) for r in rows]])


def confusion_text(result: Scores, top: int = 8, examples: int = 3) -> str:
    if not result.confusions:
        return "No intent was confused.\n"
    lines = [
        "| gold intent | predicted as | count | examples |",
        "|---|---|---:|---|",
    ]
    for (gold, pred), texts in result.confusions[:top]:
        shown = "; ".join(f"“{t}”" for t in texts[:examples])
        lines.append(f"| {gold} | {pred} | {len(texts)} | {shown} |")
    return "\n".join(lines) + "\n"


def role_error_text(result: Scores, top: int = 15) -> str:
    if not result.role_errors:
        return "Every role value was right.\n"
    lines = ["| sentence | annotated | extracted |", "|---|---|---|"]
    for text, gold, pred in result.role_errors[:top]:
        lines.append(
            f"| {text} | {', '.join(gold) or '-'} | {', '.join(pred) or '-'} |"
        )
    more = len(result.role_errors) - top
    if more > 0:
        lines.append(f"| … and {more} more | | |")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def outcome_table(rows: list[tuple[str, Scores]]) -> str:
    """Per evaluation set and pipeline: accuracy and the three outcomes."""
    lines = [
        "| evaluation set | pipeline | questions | intent accuracy "
        "| answered right | honestly unsure | of which a button is right "
        '| answered wrong | of which "En osaa vastata tähän" '
        "| of these, a button is right |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for set_name, result in rows:
        o = result.outcomes or Outcomes()
        lines.append(_outcome_row(f"`{set_name}`", result.name, o, result.accuracy))
        if o.agreed is not None:
            lines.append(
                _outcome_row(
                    f"`{set_name}`, labels both readers agree on",
                    result.name,
                    o.agreed,
                )
            )
    return "\n".join(lines) + "\n"


def _outcome_row(
    what: str, name: str, o: Outcomes, accuracy: float | None = None
) -> str:
    return (
        f"| {what} | {name} | {o.n} "
        f"| {'–' if accuracy is None else _pct(accuracy)} "
        f"| {o.right} ({_pct(o.rate(o.right))}) "
        f"| {o.unsure} ({_pct(o.rate(o.unsure))}) "
        f"| {o.unsure_offered} "
        f"| {o.wrong} ({_pct(o.rate(o.wrong))}) "
        f"| {o.wrong_cannot_answer} "
        f"| {o.wrong_cannot_answer_offered} |"
    )


def wrong_text(result: Scores) -> str:
    """Every wrong answer: what was asked, what should have answered, what did."""
    o = result.outcomes
    if o is None or not o.wrong_items:
        return "No question was answered wrong.\n"
    lines = [
        "| question | should be | answered as | confidence |",
        "|---|---|---|---:|",
    ]
    for text, expected, answered, confidence in o.wrong_items:
        lines.append(
            f"| {_md_cell(text)} | {expected} | {answered} | {confidence:.2f} |"
        )
    return "\n".join(lines) + "\n"


def outcome_sections(
    rows: list[tuple[str, Scores]], limits: Thresholds, heading: str = "##"
) -> list[str]:
    """The three-outcome part of the report: the table, then the wrong answers."""
    parts = [
        f"{heading} What a client meets: answered right, honestly unsure, "
        "answered wrong",
        "",
        outcome_table(rows),
        f"*Honestly unsure*: the pipeline fell back, or its best intent scored "
        f"below {limits.threshold:g} or within {limits.ambiguity:g} of the "
        "second (the FallbackClassifier thresholds of `bot/config.yml`, applied "
        "to both pipelines), so the assistant asks what was meant instead of "
        "answering"
        + (
            f'; a best guess of `{OUT_OF_SCOPE}` ("En osaa vastata tähän") is '
            f"unsure below {limits.out_of_scope:g} instead of {limits.threshold:g}"
            if limits.out_of_scope is not None
            else ""
        )
        + ". *Of which a button is right*: an in-scope question the "
        "assistant was unsure of, where one of the two guesses it offers as "
        "buttons (`offered_buttons`, as `ActionFallback` chooses them) is the "
        "right answer. *Answered wrong*: a confident answer to another question; "
        '*of which "En osaa vastata tähän"*: the answer was `out_of_scope` for a '
        "question the assistant could have answered (it claims nothing and "
        "names no one, but the client gets no answer); *of these, a button is "
        "right*: one of the two nearest topics it offers with that answer "
        "(`ActionOutOfScope`, chosen as for the clarifying step) is the right "
        "answer, one click away. "
        "A path question (`question:<topic>` in the copied sets) is "
        f"right only as `{question_intent('<topic>')}` "
        "(`question_intent` in `benchmarks/eval_nlu.py`). Intent accuracy counts "
        "`nlu_fallback` as wrong. *Labels both readers agree on*: a set read "
        "twice (`second_label`: a second reader labelled each question as a "
        "client's chat message, without the first label, the page or the "
        "model's answers) is also counted on the questions both readers gave "
        "the same label; a wrong answer where they differ shows both.",
        "",
    ]
    for set_name, result in rows:
        parts += [
            f"{heading}# Answered wrong: `{set_name}`, {result.name}",
            "",
            wrong_text(result),
        ]
    return parts


def environment() -> dict[str, str]:
    import rasa
    import spacy

    return {
        "rasa": rasa.__version__,
        "spacy": spacy.__version__,
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
    }


def markdown(
    results: list[Scores],
    train_examples: list[Example],
    eval_examples: list[Example] | None,
    title: str,
    note: str,
    run_seconds: float,
    outcome_rows: list[tuple[str, Scores]] | None = None,
    limits: Thresholds | None = None,
) -> str:
    env = environment()
    n_intents = len({e.intent for e in train_examples})
    n_roles = sum(len(e.roles) for e in train_examples)
    parts = [
        f"# {title}",
        "",
        f"Generated by `.venv-rasa/bin/python -m benchmarks.eval_nlu` on "
        f"{datetime.now().strftime('%Y-%m-%d %H:%M')} — Rasa {env['rasa']}, "
        f"spaCy {env['spacy']}, Python {env['python']}, {env['cpus']} CPUs; "
        f"the whole run took {run_seconds / 60:.1f} min.",
        "",
        f"- training data: `data/nlu/` — {len(train_examples)} examples, "
        f"{n_intents} intents, {n_roles} annotated roles",
    ]
    if eval_examples is not None:
        parts.append(
            f"- evaluation set: `tests/nlu/eval.yml` — {len(eval_examples)} "
            f"examples, {sum(len(e.roles) for e in eval_examples)} annotated roles, "
            "never trained on"
        )
    for path, what in (
        (DEV_FILE, "development set (settings are chosen on it)"),
        (REALWORLD_FILE, "real-world set (for this report only)"),
        *(
            (
                holdout,
                "holdout set (copied after a round's training data was fixed; "
                "its header says what was seen since)",
            )
            for holdout in holdout_files()
        ),
    ):
        found = [r for name, r in outcome_rows or [] if name == _rel(path)]
        if found and found[0].outcomes:
            parts.append(
                f"- {what}: `{_rel(path)}` — {found[0].outcomes.n} questions "
                "copied from public pages, never trained on"
            )
    parts += [
        "",
        note,
        "",
        table(results),
        "",
        "Role **value**: the role id after synonym mapping (what the action "
        "server gets), compared as a set per utterance against the annotated "
        "values. *Unknown values dropped*: the same after removing extracted values "
        "that are no role id or ambiguous key, which the action server ignores. "
        "Role **span**: exact start and end of the annotated text. "
        "Accuracy counts `nlu_fallback` as wrong; the row below it takes the "
        "best intent of the ranking instead.",
        "",
    ]
    first = results[0]
    parts += [
        f"## Most frequent intent confusions ({first.name})",
        "",
        confusion_text(first),
        f"## Role value errors ({first.name})",
        "",
        role_error_text(first),
    ]
    if outcome_rows:
        parts += outcome_sections(outcome_rows, limits or Thresholds())
    return "\n".join(parts)


# --- commands ------------------------------------------------------------------


def evaluation_sets(
    realworld: Path | None,
    dev: Path | None = DEV_FILE,
    holdouts: list[Path] | None = None,
) -> list[tuple[str, list[Example]]]:
    """The sets every model is measured on: eval.yml, the development set, the
    real-world set and the holdout sets (the copied ones when their files
    exist; the holdout sets of tests/nlu/ unless given)."""
    sets = [(_rel(EVAL_FILE), load_examples(EVAL_FILE))]
    if holdouts is None:
        holdouts = holdout_files()
    for copied in (dev, realworld, *holdouts):
        if copied is not None and copied.is_file():
            sets.append((_rel(copied), load_realworld(copied)))
    return sets


def measure(
    name: str,
    config: Path,
    model: Path,
    seconds: float,
    sets: list[tuple[str, list[Example]]],
    known: set[str],
    limits: Thresholds,
) -> list[tuple[str, Scores]]:
    """Parse every set with one model; scores with the three outcomes, per set."""
    found = parse_sets(model, [examples for _, examples in sets])
    rows = []
    for (set_name, examples), preds in zip(sets, found, strict=True):
        result = score(name, config, examples, preds, seconds, known)
        result.outcomes = count_outcomes(examples, preds, limits)
        o = result.outcomes
        say(
            f"{name} on {set_name}: intent accuracy {_pct(result.accuracy)}; "
            f"right {o.right}, unsure {o.unsure}, wrong {o.wrong} of {o.n}"
        )
        rows.append((set_name, result))
    return rows


def run_eval(
    configs: list[tuple[str, Path]],
    work: Path,
    realworld: Path | None = REALWORLD_FILE,
    reuse: bool = False,
    served: Path | None = None,
) -> tuple[list[Scores], Any, list[tuple[str, Scores]], list[str]]:
    """Train (or reuse) and measure every config on every set; also returns
    the names of the configs whose kept model was reused.

    With `served` (the archive `make train` built from bot/config.yml), our
    pipeline is not trained here: that archive is measured as it is served.
    Two trainings on the same data do not give the same model, so only this
    way is what the report says what the assistant does."""
    train_examples = load_examples(NLU_DIR)
    sets = evaluation_sets(realworld)
    eval_examples = sets[0][1]
    known = set(load_vocabulary(NLU_DIR).entity_synonyms.values())
    limits = read_thresholds(CONFIGS["ours"])
    say(
        f"training data {len(train_examples)} examples; "
        + "; ".join(f"{name} {len(ex)} examples" for name, ex in sets)
    )
    results = []
    rows: list[tuple[str, Scores]] = []
    reused_names: list[str] = []
    for i, (name, config) in enumerate(configs, 1):
        if served is not None and config == CONFIGS["ours"]:
            model, seconds = served, math.nan
            say(
                f"[{i}/{len(configs)}] {name}: the served model {_rel(served)}; "
                "parsing …"
            )
        else:
            say(f"[{i}/{len(configs)}] training {name} ({_rel(config)}) …")
            model, seconds, reused = train_or_reuse(config, NLU_DIR, work, name, reuse)
            if reused:
                reused_names.append(name)
            done = "kept model reused, trained" if reused else "trained"
            say(f"[{i}/{len(configs)}] {name} {done} in {seconds:.0f} s; parsing …")
        measured = measure(name, config, model, seconds, sets, known, limits)
        result = measured[0][1]
        say(
            f"[{i}/{len(configs)}] {name}: intent accuracy {_pct(result.accuracy)}, "
            f"role value F1 {result.value_f1:.3f}"
        )
        results.append(result)
        rows += measured
    rows.sort(key=lambda row: [name for name, _ in sets].index(row[0]))
    return results, (train_examples, eval_examples), rows, reused_names


def run_model(model: Path, realworld: Path | None) -> list[tuple[str, Scores]]:
    """Measure a trained model as it is (no training): outcomes on every set."""
    sets = evaluation_sets(realworld)
    known = set(load_vocabulary(NLU_DIR).entity_synonyms.values())
    limits = read_thresholds(CONFIGS["ours"])
    return measure(model.name, model, model, 0.0, sets, known, limits)


def run_cv(
    configs: list[tuple[str, Path]],
    k: int,
    seed: int,
    work: Path,
    extra: list[Path] | None = None,
) -> tuple[list[Scores], Any]:
    examples = load_examples(NLU_DIR)
    vocabulary = load_vocabulary(NLU_DIR)
    known = set(vocabulary.entity_synonyms.values())
    parts = folds(examples, k, seed)
    added = [e for file in extra or [] for e in load_examples(file)]
    say(f"{k}-fold cross-validation on {len(examples)} training examples (seed {seed})")
    if added:
        say(f"+ {len(added)} candidate examples, always trained on, never tested")
    results = []
    for i, (name, config) in enumerate(configs, 1):
        runs = []
        for f, test in enumerate(parts):
            train_part = [e for j, part in enumerate(parts) if j != f for e in part]
            train_part += added
            nlu = write_training_file(train_part, vocabulary, work, f"fold{f}")
            say(f"[{i}/{len(configs)}] {name} fold {f + 1}/{k}: training …")
            model, seconds = train(config, nlu, work, f"{name}-fold{f}")
            preds = parse_all(model, test)
            runs.append(score(name, config, test, preds, seconds, known))
            say(
                f"[{i}/{len(configs)}] {name} fold {f + 1}/{k}: "
                f"{seconds:.0f} s, intent accuracy {_pct(runs[-1].accuracy)}, "
                f"role value F1 {runs[-1].value_f1:.3f}"
            )
            model.unlink(missing_ok=True)
        results.append(mean_scores(name, config, runs))
    return results, (examples, None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/eval_nlu.py",
        description="Train and compare NLU pipelines on data/nlu/, evaluated on "
        "tests/nlu/eval.yml (or by cross-validation on the training data).",
    )
    parser.add_argument(
        "--out", type=Path, help="write the Markdown report here (e.g. reports/nlu.md)"
    )
    parser.add_argument(
        "--config",
        action="append",
        type=Path,
        help="a config to compare (repeatable; default: bot/config.yml and "
        "bot/config-default.yml)",
    )
    parser.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="K-fold cross-validation on the training data instead of the eval set",
    )
    parser.add_argument("--seed", type=int, default=1, help="fold shuffle seed")
    parser.add_argument(
        "--cv-extra",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="with --cv: candidate training examples added to every training fold "
        "but never tested, to measure new data against the same folds",
    )
    parser.add_argument(
        "--dump", type=Path, help="write every prediction here as JSON (analysis)"
    )
    parser.add_argument(
        "--models", type=Path, help="keep the models in this folder (default: temp)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --models: measure the models kept there by an earlier run on "
        "the same data and config instead of training them again",
    )
    parser.add_argument(
        "--realworld",
        type=Path,
        default=REALWORLD_FILE,
        metavar="FILE",
        help="the real-world question set (default: tests/nlu/realworld.yml)",
    )
    parser.add_argument(
        "--served",
        type=Path,
        metavar="ARCHIVE",
        help="measure this model, built by `make train` from bot/config.yml, as "
        "our pipeline instead of training one here (the others are trained as "
        "usual): the report then measures what the assistant serves",
    )
    parser.add_argument(
        "--model",
        type=Path,
        metavar="ARCHIVE",
        help="measure this trained model on both sets instead of training "
        "(e.g. bot/models/polkuopas.tar.gz); only the outcomes are reported",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cv is not None and args.cv < 2:
        print("eval_nlu: error: --cv needs K >= 2", file=sys.stderr)
        return 2
    if args.config:
        configs = [(c.stem, c) for c in args.config]
    else:
        configs = list(CONFIGS.items())
    for _, config in configs:
        if not config.is_file():
            print(f"eval_nlu: error: no config file {config}", file=sys.stderr)
            return 2
    if args.reuse and args.models is None:
        print("eval_nlu: error: --reuse needs --models DIR", file=sys.stderr)
        return 2
    for option, archive in (("", args.model), ("served ", args.served)):
        if archive is not None and not archive.is_file():
            hint = ": run make train first" if option else ""
            print(f"eval_nlu: error: no {option}model {archive}{hint}", file=sys.stderr)
            return 2
    if args.served is not None and (args.cv or args.model is not None):
        print(
            "eval_nlu: error: --served measures the eval sets: "
            "not with --cv or --model",
            file=sys.stderr,
        )
        return 2
    if args.served is not None and CONFIGS["ours"] not in [c for _, c in configs]:
        print(
            f"eval_nlu: error: --served is a model of {_rel(CONFIGS['ours'])}, "
            "which is not among the configs",
            file=sys.stderr,
        )
        return 2
    quiet()
    if args.model is not None:
        return main_model(args)
    started = time.perf_counter()
    rows: list[tuple[str, Scores]] = []
    with tempfile.TemporaryDirectory(prefix="polkuopas-nlu-") as tmp:
        work = args.models or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("RASA_CACHE_DIRECTORY", str(Path(tmp) / "cache"))
        try:
            if args.cv:
                results, (train_ex, eval_ex) = run_cv(
                    configs, args.cv, args.seed, work, args.cv_extra
                )
                title = f"NLU cross-validation ({args.cv} folds, training data only)"
                note = (
                    f"Each figure is the mean over {args.cv} folds of `data/nlu/`, "
                    "stratified by intent; the eval set was not used."
                )
            else:
                results, (train_ex, eval_ex), rows, reused = run_eval(
                    configs, work, args.realworld, args.reuse, args.served
                )
                title = "NLU evaluation: our pipeline against Rasa's default"
                tested = ", ".join(
                    f"`{name}`" for name in dict.fromkeys(n for n, _ in rows)
                )
                when = "" if reused else " in this run"
                if args.served is None:
                    note = (
                        f"Both models are trained on `data/nlu/`{when} and tested "
                        f"on {tested}."
                    )
                else:
                    names = [n for n, c in configs if c != CONFIGS["ours"]]
                    others = " and ".join(
                        ([", ".join(names[:-1])] if names[:-1] else []) + names[-1:]
                    )
                    verb = "is" if len(names) == 1 else "are"
                    note = (
                        f"Our pipeline is **the served model**, `{_rel(args.served)}`, "
                        "which `make train` built from the same data (`rasa train`, "
                        "language understanding and dialogue); it is measured as the "
                        f"assistant serves it, not trained again here. {others} {verb} "
                        f"trained on `data/nlu/`{when}. All are tested on {tested}."
                    )
                if reused:
                    note += (
                        f" The models of {', '.join(reused)} were trained "
                        "by an earlier run on the same data and config (the "
                        "fingerprint kept with each model says so; `--reuse`) and "
                        "measured again in this one; their training time is that "
                        "run's, the run time below is this one's."
                    )
        except TrainingFailed as exc:
            say(f"error: {exc}")
            return 1
    elapsed = time.perf_counter() - started
    print()
    print(table(results))
    print()
    print(f"Most frequent intent confusions ({results[0].name}):")
    for (gold, pred), texts in results[0].confusions[:8]:
        print(f"  {gold} -> {pred}: {len(texts)}  e.g. {' | '.join(texts[:3])}")
    print(f"Role value errors ({results[0].name}): {len(results[0].role_errors)}")
    for text, gold, pred in results[0].role_errors[:15]:
        print(f"  {text!r}: annotated {gold}, extracted {pred}")
    if rows:
        print()
        print(outcome_table(rows))
    say(f"done in {elapsed / 60:.1f} min")
    if args.dump:
        dump = {r.name: r.records for r in results}
        args.dump.write_text(json.dumps(dump, ensure_ascii=False, indent=1), "utf-8")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = markdown(
            results,
            train_ex,
            eval_ex,
            title,
            note,
            elapsed,
            rows,
            read_thresholds(CONFIGS["ours"]),
        )
        args.out.write_text(report, encoding="utf-8")
        say(f"report written to {_rel(args.out)}")
    return 0


def main_model(args: argparse.Namespace) -> int:
    """--model: the outcomes of one trained model, printed and optionally written."""
    started = time.perf_counter()
    rows = run_model(args.model, args.realworld)
    limits = read_thresholds(CONFIGS["ours"])
    print()
    print(outcome_table(rows))
    for set_name, result in rows:
        print(f"Answered wrong ({set_name}):")
        for text, expected, answered, confidence in result.outcomes.wrong_items:
            print(
                f"  {text!r}: should be {expected}, answered {answered} "
                f"({confidence:.2f})"
            )
    say(f"done in {(time.perf_counter() - started) / 60:.1f} min")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        parts = [
            f"# NLU outcomes of `{_rel(args.model)}`",
            "",
            f"Generated by `.venv-rasa/bin/python -m benchmarks.eval_nlu --model "
            f"{_rel(args.model)}` on {datetime.now().strftime('%Y-%m-%d %H:%M')}; "
            "the model was measured as trained, not retrained.",
            "",
            *outcome_sections(rows, limits),
        ]
        args.out.write_text("\n".join(parts), encoding="utf-8")
        say(f"report written to {_rel(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
