"""The role vocabulary for the NLU model, generated from `paths/roles.yml`.

`paths/roles.yml` is the single source of the words clients use for each role.
This module turns it into Rasa training data (`data/nlu/roles_generated.yml`):

- `synonyms`: every form in a role's `words` maps to the role id, and every form
  of an `ambiguous` group maps to the group's `word` key (``valmentajani`` ->
  ``valmentaja``), so the EntitySynonymMapper turns an extracted word into an id;
- a `lookup` table `role` with all forms, for the RegexFeaturizer (and any
  RegexEntityExtractor).

Every form is lowercased and also added without diacritics (``työhönvalmentaja``
-> ``tyohonvalmentaja``), because clients often type without ä and ö. The output
is deduplicated and sorted (synonyms alphabetically, the lookup table longest
form first), so it changes only when `roles.yml` changes.

    python -m polkuopas.nluvocab            # write data/nlu/roles_generated.yml
    python -m polkuopas.nluvocab --check    # exit 1 if the checked-in file is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from polkuopas.catalog import Catalog, PathFileError, fold, load_catalog
from polkuopas.settings import PROJECT_ROOT

LOOKUP_NAME = "role"
COMMAND = "python -m polkuopas.nluvocab"
DEFAULT_PATHS_DIR = PROJECT_ROOT / "paths"
DEFAULT_OUT = PROJECT_ROOT / "data" / "nlu" / "roles_generated.yml"

EXIT_STALE = 1
EXIT_ERROR = 2


class VocabularyError(ValueError):
    """Two roles (or groups) claim the same form once ä and ö are folded."""


def variants(word: str) -> set[str]:
    """A form as clients may type it: lowercased, and without ä/ö/å."""
    lower = " ".join(word.lower().split())
    return {lower, fold(lower)}


def synonyms(catalog: Catalog) -> dict[str, str]:
    """Every lowercased form and its folded variant -> role id or ambiguous key.

    Raises VocabularyError when folding makes a form of one role equal to a form
    of another (`roles.yml` only checks the forms as written).
    """
    owners: dict[str, str] = {}
    groups: list[tuple[str, list[str]]] = [
        (role.id, list(role.words)) for role in catalog.roles.values()
    ]
    groups += [(amb.word, list(amb.forms)) for amb in catalog.ambiguous.values()]
    for value, words in groups:
        for word in words:
            for form in sorted(variants(word)):
                if owners.setdefault(form, value) != value:
                    raise VocabularyError(
                        f"form {form!r} (from {word!r}) belongs to both "
                        f"{owners[form]!r} and {value!r}; change one of them in "
                        "roles.yml"
                    )
    return owners


def lookup_order(form: str) -> tuple[int, str]:
    """Longest form first, then alphabetical.

    Rasa joins a lookup table into one regex alternation in file order, and an
    alternation takes the first alternative that matches: `kelan asiantuntija`
    must come before `kelan`, or a RegexEntityExtractor would split it in two.
    """
    return (-len(form), form)


def lookup(catalog: Catalog) -> list[str]:
    """All forms, longest first: the `role` lookup table."""
    return sorted(synonyms(catalog), key=lookup_order)


def _block(lines: Sequence[str]) -> list[str]:
    return [f"    - {line}" for line in lines]


def render(catalog: Catalog, source: str = "paths/roles.yml") -> str:
    """The whole `roles_generated.yml` as text (pure; same input, same text)."""
    mapping = synonyms(catalog)
    by_value: dict[str, list[str]] = {}
    for form, value in mapping.items():
        by_value.setdefault(value, []).append(form)
    out = [
        "# GENERATED FILE - do not edit by hand.",
        f"# Source: {source} (role words and ambiguous forms).",
        f"# Regenerate with: {COMMAND}   (check: {COMMAND} --check)",
        "# Every form and its variant without ä/ö maps to a role id, or to the key",
        "# of an ambiguous group; the lookup table `role` lists every form, the",
        "# longest first (Rasa matches lookup entries in file order).",
        'version: "3.1"',
        "nlu:",
    ]
    for value in sorted(by_value):
        out += [f"- synonym: {value}", "  examples: |"]
        out += _block(sorted(by_value[value]))
    out += [f"- lookup: {LOOKUP_NAME}", "  examples: |"]
    out += _block(sorted(mapping, key=lookup_order))
    return "\n".join(out) + "\n"


def relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Generate the NLU role vocabulary (synonyms and the `role` "
        "lookup table) from paths/roles.yml.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the file differs from what would be generated",
    )
    parser.add_argument(
        "--paths-dir",
        type=Path,
        default=DEFAULT_PATHS_DIR,
        help="folder with roles.yml and the path files (default: paths/)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="file to write or check (default: data/nlu/roles_generated.yml)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prog = "nluvocab"
    try:
        catalog = load_catalog(args.paths_dir)
        text = render(catalog, source=relative(args.paths_dir / "roles.yml"))
    except (PathFileError, VocabularyError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    state = sync_generated(args.out, text, args.check, prog, COMMAND, "paths/roles.yml")
    if isinstance(state, int):
        return state
    forms = len(lookup(catalog))
    print(f"{relative(args.out)} {state}: {forms} forms, {len(catalog.roles)} roles")
    return 0


def sync_generated(
    out: Path, text: str, check: bool, prog: str, command: str, source: str
) -> int | str:
    """Check (`check`) or write a generated file. Checking: prints the verdict
    and returns the exit code. Writing: returns "written" or "unchanged" for
    the caller's summary line."""
    shown = relative(out)
    current = out.read_text(encoding="utf-8") if out.exists() else None
    if check:
        if current == text:
            print(f"{shown} is up to date")
            return 0
        why = "is missing" if current is None else "is stale"
        print(
            f"{prog}: {shown} {why}: it does not match {source}. "
            f"Run `{command}` and commit the result.",
            file=sys.stderr,
        )
        return EXIT_STALE
    out.parent.mkdir(parents=True, exist_ok=True)
    if current == text:
        return "unchanged"
    out.write_text(text, encoding="utf-8")
    return "written"


if __name__ == "__main__":
    sys.exit(main())
