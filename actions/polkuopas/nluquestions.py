"""NLU training data for the path questions, generated from `paths/*.yml`.

Each path file's `questions[].ask` phrasings are the training examples of the
topic's intent (`service_<topic>`); a topic asked on several paths gets the
phrasings of all of them, each once. The output is ordered by topic (the shared
topics in `catalog.TOPICS` order, then the paths' own) and by first appearance,
so it changes only when a path file's phrasings change.

    python -m polkuopas.nluquestions            # write data/nlu/questions_generated.yml
    python -m polkuopas.nluquestions --check    # exit 1 if the file is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from polkuopas.catalog import Catalog, PathFileError, load_catalog
from polkuopas.nluvocab import (
    EXIT_STALE as EXIT_STALE,  # its exit code when stale, as nluvocab's
)
from polkuopas.nluvocab import (
    lookup_order,
    relative,
    sync_generated,
    synonyms,
)
from polkuopas.questions import intent_for, topics
from polkuopas.settings import PROJECT_ROOT

COMMAND = "python -m polkuopas.nluquestions"
DEFAULT_PATHS_DIR = PROJECT_ROOT / "paths"
DEFAULT_OUT = PROJECT_ROOT / "data" / "nlu" / "questions_generated.yml"

EXIT_ERROR = 2


def phrasings(catalog: Catalog) -> dict[str, list[str]]:
    """Intent -> its examples, each phrasing once (as written, spaces tidied)."""
    out: dict[str, list[str]] = {}
    for topic in topics(catalog):
        seen: dict[str, None] = {}
        for path in catalog.paths.values():
            question = path.question(topic)
            for ask in question.ask if question else []:
                seen.setdefault(" ".join(ask.split()), None)
        out[intent_for(topic)] = list(seen)
    return out


def role_annotator(catalog: Catalog):
    """Marks the role words of a phrasing as `role` entities, as the hand-written
    data does: unmarked, the path questions would teach the model that
    "työhönvalmentaja" in a question is no role (it then misses
    "mitä työhönvalmentaja tekee?")."""
    mapping = synonyms(catalog)
    forms = sorted(mapping, key=lookup_order)
    if not forms:
        return lambda text: text
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(f) for f in forms) + r")(?![\w-])",
        re.IGNORECASE,
    )

    def annotate(text: str) -> str:
        def mark(match: re.Match[str]) -> str:
            value = mapping[match.group(1).lower()]
            return f'[{match.group(1)}]{{"entity": "role", "value": "{value}"}}'

        return pattern.sub(mark, text)

    return annotate


def _quoted(text: str) -> str:
    # A phrasing that starts like YAML or Rasa markup would be misread.
    if text[:1] in "[{\"'!&*|>%@`#" or ": " in text or " #" in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def render(catalog: Catalog, source: str = "paths/*.yml") -> str:
    """The whole `questions_generated.yml` as text (pure; same input, same text)."""
    out = [
        "# GENERATED FILE - do not edit by hand.",
        f"# Source: {source} (the `ask` phrasings of each path's `questions`).",
        f"# Regenerate with: {COMMAND}   (check: {COMMAND} --check)",
        "# One intent per question topic; the answer depends on the client's path",
        "# and comes from the action action_service_question.",
        'version: "3.1"',
        "nlu:",
    ]
    annotate = role_annotator(catalog)
    for intent, examples in phrasings(catalog).items():
        out += [f"- intent: {intent}", "  examples: |"]
        for example in examples:
            marked = annotate(example)
            out.append(f"    - {marked if marked != example else _quoted(example)}")
    return "\n".join(out) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Generate the NLU data of the path questions from paths/*.yml.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the file differs from what would be generated",
    )
    parser.add_argument("--paths-dir", type=Path, default=DEFAULT_PATHS_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prog = "nluquestions"
    try:
        catalog = load_catalog(args.paths_dir)
        text = render(catalog, source=relative(args.paths_dir) + "/*.yml")
    except PathFileError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    state = sync_generated(
        args.out, text, args.check, prog, COMMAND, "the path files' questions"
    )
    if isinstance(state, int):
        return state
    counts = phrasings(catalog)
    examples = sum(len(v) for v in counts.values())
    print(f"{relative(args.out)} {state}: {examples} phrasings, {len(counts)} topics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
