"""The copied question sets stay unseen, apart and valid.

tests/nlu/realworld.yml (the report set), tests/nlu/dev.yml (the
development set, for choosing settings) and the holdout sets tests/nlu/holdout.yml,
holdout-2.yml, ... (each copied after a round's training data was fixed, for
the report) hold questions copied from
public pages, to measure the assistant on phrasings nobody here wrote. That only
works while none of them is trained on: no sentence may appear, after
lowercasing and folding whitespace and punctuation, in the NLU training data
(data/nlu/, the generated files included) or among the `ask` phrasings of the
path files, which become training data. A setting chosen on the development
set is only honestly measured on the report sets if no sentence is in both,
and a holdout set measures something new only if it repeats no set before it.
Every label must be something the assistant can answer with.
"""

from __future__ import annotations

import re

import pytest
import yaml

from benchmarks.eval_nlu import holdout_files
from benchmarks.language_id import ANNOTATION
from polkuopas.settings import PROJECT_ROOT

REALWORLD = PROJECT_ROOT / "tests" / "nlu" / "realworld.yml"
DEV = PROJECT_ROOT / "tests" / "nlu" / "dev.yml"
# The holdout sets in the order they were collected, as eval-nlu measures them.
HOLDOUTS = holdout_files()
SETS = {"realworld": REALWORLD, "dev": DEV} | {path.stem: path for path in HOLDOUTS}
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
PATHS_DIR = PROJECT_ROOT / "paths"
DOMAIN = PROJECT_ROOT / "bot" / "domain.yml"

# The shared question topics every path answers (team convention); paths may
# add their own ids, which are read from the path files below.
TOPICS = {
    "mika_palvelu",
    "miten_paasee",
    "raha",
    "matkakulut",
    "paivat_tunnit",
    "kesto",
    "sairastuminen",
    "pakko",
    "lopettaminen",
    "etana",
    "suunnitelma",
    "oikeudet",
    "valitus",
    "ei_suju",
    "jalkeen",
    "suostumus",
}
QUESTION = "question:"


def fold(text: str) -> str:
    """Lowercase, entity markup removed, without whitespace and punctuation."""
    return re.sub(r"[\W_]+", "", ANNOTATION.sub(r"\1", text).lower())


def load_questions(path=REALWORLD) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["questions"]


def training_sentences() -> dict[str, str]:
    """Folded sentence -> where it is, for all NLU data and path phrasings."""
    found: dict[str, str] = {}
    for file in sorted(NLU_DIR.rglob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            for line in str(item.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    where = f"{file.relative_to(PROJECT_ROOT)}"
                    found.setdefault(fold(line.strip()[2:]), where)
    for file in sorted(PATHS_DIR.glob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for question in data.get("questions") or []:
            for ask in question.get("ask") or []:
                where = f"{file.relative_to(PROJECT_ROOT)} ({question.get('id')})"
                found.setdefault(fold(str(ask)), where)
    return found


def domain_intents() -> set[str]:
    data = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    intents = set()
    for intent in data.get("intents") or []:
        intents.add(next(iter(intent)) if isinstance(intent, dict) else intent)
    return intents


def known_topics() -> set[str]:
    topics = set(TOPICS)
    for file in PATHS_DIR.glob("*.yml"):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        topics |= {str(q["id"]) for q in data.get("questions") or [] if "id" in q}
    return topics


QUESTION_SETS = {name: load_questions(path) for name, path in SETS.items()}
MINIMUM = {"realworld": 50, "dev": 30}  # a holdout set: 40


@pytest.mark.parametrize("name", sorted(SETS))
def test_the_file_has_questions_with_text_label_and_source(name: str):
    questions = QUESTION_SETS[name]
    assert len(questions) >= MINIMUM.get(name, 40)
    for item in questions:
        # second_label: a second reader's label, where the set was read twice.
        assert set(item) - {"second_label"} == {"text", "label", "source"}, item
        assert item["text"].strip() == item["text"] and item["text"], item
        assert re.match(r"https?://\S+$", item["source"]), item


@pytest.mark.parametrize("name", sorted(SETS))
def test_the_header_states_the_true_count(name: str):
    # The header explains why there are fewer than wanted; it must stay true.
    header = SETS[name].read_text(encoding="utf-8")
    questions = QUESTION_SETS[name]
    pages = {item["source"] for item in questions}
    stated = re.search(r"Count: (\d+) questions from (\d+) pages", header)
    assert stated, "the header must say how many questions from how many pages"
    assert (int(stated[1]), int(stated[2])) == (len(questions), len(pages))


@pytest.mark.parametrize("name", sorted(SETS))
def test_no_question_is_listed_twice(name: str):
    folded = [fold(item["text"]) for item in QUESTION_SETS[name]]
    twice = sorted({f for f in folded if folded.count(f) > 1})
    assert twice == [], f"listed twice: {twice}"


def test_no_sentence_is_in_both_the_development_and_the_report_set():
    report = {fold(item["text"]) for item in QUESTION_SETS["realworld"]}
    both = [
        item["text"] for item in QUESTION_SETS["dev"] if fold(item["text"]) in report
    ]
    assert both == [], (
        "a setting chosen on tests/nlu/dev.yml must be measured on questions it "
        "was not chosen on; in both sets: " + "; ".join(both)
    )


def test_the_first_holdout_set_is_there():
    assert HOLDOUTS and HOLDOUTS[0].name == "holdout.yml"


@pytest.mark.parametrize("index", range(len(HOLDOUTS)))
def test_a_holdout_set_repeats_no_question_or_page_of_the_sets_before_it(index: int):
    # It measures something new only if its pages were not used before.
    others = QUESTION_SETS["realworld"] + QUESTION_SETS["dev"]
    for earlier in HOLDOUTS[:index]:
        others = others + QUESTION_SETS[earlier.stem]
    texts = {fold(item["text"]) for item in others}
    pages = {item["source"] for item in others}
    holdout = QUESTION_SETS[HOLDOUTS[index].stem]
    assert [i["text"] for i in holdout if fold(i["text"]) in texts] == []
    assert sorted({i["source"] for i in holdout} & pages) == []


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_label_can_be_answered(name: str):
    intents, topics = domain_intents(), known_topics()
    bad = [
        f"{item['text']!r}: {label}"
        for item in QUESTION_SETS[name]
        for label in (item["label"], item.get("second_label", item["label"]))
        if not (
            label in intents
            or (label.startswith(QUESTION) and label.removeprefix(QUESTION) in topics)
        )
    ]
    assert bad == [], "unknown labels: " + "; ".join(bad)


@pytest.mark.parametrize("name", sorted(SETS))
def test_no_copied_sentence_is_trained_on(name: str):
    training = training_sentences()
    assert len(training) > 100, "the training data was not found"
    leaked = [
        f"{item['text']!r} is in {training[fold(item['text'])]}"
        for item in QUESTION_SETS[name]
        if fold(item["text"]) in training
    ]
    assert leaked == [], (
        f"sentences of tests/nlu/{name}.yml must not be training data; rephrase "
        "the training example in your own words: " + "; ".join(leaked)
    )


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Mitä teen, jos sairastun?", "mitäteenjossairastun"),
        ("  SAANKO   työtoiminnasta palkkaa ?", "saankotyötoiminnastapalkkaa"),
        ("kuka on [ohjaaja](role:ohjaaja)?", "kukaonohjaaja"),
        ('soita [Kelaan]{"entity": "role", "value": "kela"}', "soitakelaan"),
    ],
)
def test_fold(text: str, folded: str):
    assert fold(text) == folded


def test_the_leak_check_sees_the_training_data():
    # The check must fail on a real leak: an example of the training data,
    # written with other case, spacing and punctuation, is still found.
    example = next(
        line.strip()[2:]
        for file in sorted(NLU_DIR.rglob("*.yml"))
        for item in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("nlu")
        or []
        if "intent" in item
        for line in str(item.get("examples") or "").splitlines()
        if line.strip().startswith("- ")
    )
    assert fold("  " + example.upper() + " ?!") in training_sentences()
