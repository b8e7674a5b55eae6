"""The README and docs/ agree with the code.

Every make target and file they name exists, every setting and CLI command is
documented, links between the documents resolve, the generated references are
fresh, and the "adding an intent" checklist holds for every intent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from polkuopas import docgen
from polkuopas.settings import PROJECT_ROOT, Settings

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
DOCUMENTS = [README, *DOCS]
TEXTS = {doc: doc.read_text(encoding="utf-8") for doc in DOCUMENTS}
ALL_TEXT = "\n".join(TEXTS.values())
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")

# Paths the documents name that are made at run time, not kept in git.
RUNTIME = ("var/", "bot/models/", "deploy/.env")
# Paths of the target layout that other branches create; the documents already
# describe them. Once a path exists, this test asks for it to leave the list.
PENDING: set[str] = set()


def doc_id(doc: Path) -> str:
    return str(doc.relative_to(PROJECT_ROOT))


# --- make targets, settings, CLI ------------------------------------------------


def test_documented_make_targets_exist():
    targets = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.MULTILINE))
    documented = set(re.findall(r"\bmake ([a-z][a-z-]*)", ALL_TEXT))
    assert documented - targets == set()
    readme = set(re.findall(r"\bmake ([a-z][a-z-]*)", TEXTS[README]))
    assert {"run", "test", "help", "docs"} <= readme


def test_every_setting_is_documented_and_no_other():
    documented = set(re.findall(r"`(POLKUOPAS_[A-Z_]+)`", ALL_TEXT))
    variables = {f"POLKUOPAS_{name.upper()}" for name in Settings.model_fields}
    assert variables - documented == set()
    assert documented - variables == set()


def test_every_cli_command_is_in_the_reference():
    cli = (PROJECT_ROOT / "docs/cli.md").read_text(encoding="utf-8")
    missing = {c for c in docgen.cli_commands() if f"### `{c}`" not in cli}
    assert missing == set()


def test_generated_references_are_fresh():
    stale = [doc_id(p) for p in docgen.stale_files()]
    assert stale == [], "run `make docs`"


def test_a_stale_reference_is_found(tmp_path):
    doc = tmp_path / "configuration.md"
    doc.write_text(
        "text\n<!-- BEGIN GENERATED: settings -->\nold\n"
        "<!-- END GENERATED: settings -->\nmore\n",
        encoding="utf-8",
    )
    assert docgen.stale_files((doc,)) == [doc]
    doc.write_text(docgen.regenerate(doc.read_text("utf-8")), encoding="utf-8")
    assert docgen.stale_files((doc,)) == []
    assert "`POLKUOPAS_DB`" in doc.read_text("utf-8")
    assert doc.read_text("utf-8").endswith("<!-- END GENERATED: settings -->\nmore\n")


def test_make_docs_regenerates():
    assert re.search(r"^docs:.*\n\t.*-m polkuopas\.docgen\s*$", MAKEFILE, re.M)


# --- files and links ------------------------------------------------------------

# A path in backticks: a folder ending in "/", or a file with an extension; at
# least one "/" so that bare names (`test_cli.py`) and values are left alone.
PATH_RE = re.compile(
    r"`((?:\.?[A-Za-z0-9_-]+/)+(?:[A-Za-z0-9_.-]+\.[a-z]{2,4}(?:\.gz)?)?)`"
)


def named_paths(text: str) -> set[str]:
    return {
        p for p in PATH_RE.findall(text) if not p.startswith(RUNTIME) and "://" not in p
    }


@pytest.mark.parametrize("doc", DOCUMENTS, ids=doc_id)
def test_every_named_file_exists(doc):
    names = named_paths(TEXTS[doc])
    missing = sorted(
        p for p in names if p not in PENDING and not (PROJECT_ROOT / p).exists()
    )
    assert missing == []


def test_pending_paths_are_still_pending():
    arrived = sorted(p for p in PENDING if (PROJECT_ROOT / p).exists())
    assert arrived == [], "these exist now: remove them from PENDING"


LINK_RE = re.compile(r"\]\(([^)\s]+)\)")


def anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
        found.add(slug.replace(" ", "-"))
    return found


@pytest.mark.parametrize("doc", DOCUMENTS, ids=doc_id)
def test_links_between_documents_resolve(doc):
    broken = []
    for link in LINK_RE.findall(TEXTS[doc]):
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        if not path.exists() or (
            anchor
            and path.suffix == ".md"
            and anchor not in anchors(path.read_text(encoding="utf-8"))
        ):
            broken.append(link)
    assert broken == []


def test_every_document_is_linked_from_the_readme():
    linked = {
        (README.parent / link.partition("#")[0]).resolve()
        for link in LINK_RE.findall(TEXTS[README])
    }
    assert [doc_id(d) for d in DOCS if d.resolve() not in linked] == []


def test_readme_stays_short():
    assert len(TEXTS[README].splitlines()) <= 170


# --- the "adding an intent" checklist ---------------------------------------------


def yaml_files(folder: str) -> list[dict]:
    return [
        yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        for p in sorted((PROJECT_ROOT / folder).rglob("*.yml"))
    ]


def examples(entries: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        if "intent" in entry:
            lines = [x for x in entry.get("examples", "").splitlines() if x.strip()]
            counts[entry["intent"]] = counts.get(entry["intent"], 0) + len(lines)
    return counts


def intents_in_steps(documents: list[dict], key: str) -> set[str]:
    return {
        step["intent"]
        for document in documents
        for block in document.get(key) or []
        for step in block.get("steps", [])
        if "intent" in step
    }


DOMAIN = yaml.safe_load((PROJECT_ROOT / "bot/domain.yml").read_text("utf-8"))
ALL_INTENTS = sorted(
    i if isinstance(i, str) else next(iter(i)) for i in DOMAIN["intents"]
)
# Path questions are not intents one adds by hand: `service_<topic>` comes from
# the paths' `questions` (data/nlu/questions_generated.yml) and is measured on
# the real-world set; checked apart below.
PATH_QUESTIONS = [i for i in ALL_INTENTS if i.startswith("service_")]
# A button's payload only ("Jotain muuta" under the clarifying guesses).
BUTTONS_ONLY = {"something_else"}
INTENTS = [i for i in ALL_INTENTS if i not in PATH_QUESTIONS]
CHECKLIST = (PROJECT_ROOT / "docs/adding-an-intent.md").read_text("utf-8")


def test_checklist_names_the_places_it_checks():
    for place in (
        "bot/domain.yml",
        "data/nlu/",
        "data/rules/",
        "data/stories/",
        "actions/polkuopas/bot_actions.py",
        "actions/polkuopas/messages_fi.yml",
        "tests/stories/test_conversations.yml",
        "tests/nlu/eval.yml",
    ):
        assert f"`{place}" in CHECKLIST, place


def test_every_intent_has_training_examples():
    counts = examples([e for d in yaml_files("data/nlu") for e in d.get("nlu") or []])
    intents = [i for i in INTENTS if i not in BUTTONS_ONLY]
    assert {i: counts.get(i, 0) for i in intents if counts.get(i, 0) < 20} == {}


def test_every_intent_has_a_rule():
    ruled = intents_in_steps(yaml_files("data/rules"), "rules")
    assert [i for i in INTENTS if i not in ruled] == []


def test_every_intent_has_a_conversation_test():
    tested = intents_in_steps(yaml_files("tests/stories"), "stories")
    assert [i for i in INTENTS if i not in tested] == []


def test_every_path_question_has_phrasings_a_rule_and_a_real_world_measure():
    generated = yaml.safe_load(
        (PROJECT_ROOT / "data/nlu/questions_generated.yml").read_text("utf-8")
    )
    counts = examples(generated["nlu"])
    assert {i: counts.get(i, 0) for i in PATH_QUESTIONS if counts.get(i, 0) < 4} == {}
    ruled = intents_in_steps(yaml_files("data/rules"), "rules")
    assert [i for i in PATH_QUESTIONS if i not in ruled] == []
    assert PATH_QUESTIONS


def test_every_intent_has_evaluation_sentences():
    evaluation = yaml.safe_load(
        (PROJECT_ROOT / "tests/nlu/eval.yml").read_text(encoding="utf-8")
    )
    counts = examples(evaluation["nlu"])
    intents = [i for i in INTENTS if i not in BUTTONS_ONLY]
    assert {i: counts.get(i, 0) for i in intents if counts.get(i, 0) < 5} == {}


def test_every_ruled_action_exists():
    from polkuopas.bot_actions import ACTIONS

    custom = {a.NAME for a in ACTIONS}
    responses = set(DOMAIN.get("responses") or {})
    declared = set(DOMAIN.get("actions") or [])
    actions = {
        step["action"]
        for document in yaml_files("data/rules") + yaml_files("data/stories")
        for block in (document.get("rules") or []) + (document.get("stories") or [])
        for step in block.get("steps", [])
        if "action" in step
    }
    unknown = [
        a
        for a in sorted(actions)
        if not (a in responses or (a in custom and a in declared))
    ]
    assert unknown == []


def test_no_training_data_left_in_bot():
    assert sorted((PROJECT_ROOT / "bot").glob("data/**/*.yml")) == []
