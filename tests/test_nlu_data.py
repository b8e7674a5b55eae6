"""The `muu_palvelu` regex feature (data/nlu/other_services.yml) marks words of
other services and benefits. It may only ever fire on out-of-scope sentences:
if a pattern matched a phrasing of an in-scope intent or a path question, the
feature would teach DIET the opposite of what it is for."""

from __future__ import annotations

import re

import yaml

from benchmarks.language_id import ANNOTATION
from polkuopas.nluvocab import synonyms
from polkuopas.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
PATHS_DIR = PROJECT_ROOT / "paths"
REGEX_FILE = NLU_DIR / "other_services.yml"


def lines(block: object) -> list[str]:
    return [
        ANNOTATION.sub(r"\1", line.strip()[2:])
        for line in str(block or "").splitlines()
        if line.strip().startswith("- ")
    ]


def patterns() -> list[re.Pattern[str]]:
    data = yaml.safe_load(REGEX_FILE.read_text(encoding="utf-8"))
    (item,) = [i for i in data["nlu"] if i.get("regex") == "muu_palvelu"]
    return [re.compile(p, re.IGNORECASE) for p in lines(item["examples"])]


def examples_by_intent() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for file in sorted(NLU_DIR.glob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            if "intent" in item:
                found.setdefault(item["intent"], []).extend(lines(item["examples"]))
    for file in sorted(PATHS_DIR.glob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for question in data.get("questions") or []:
            asks = [str(a) for a in question.get("ask") or []]
            found.setdefault(f"service_{question['id']}", []).extend(asks)
    return found


def test_no_other_service_pattern_matches_an_in_scope_phrasing():
    clashes = [
        f"{intent}: {text!r} ~ {p.pattern}"
        for intent, texts in examples_by_intent().items()
        if intent != "out_of_scope"
        for text in texts
        for p in patterns()
        if p.search(text)
    ]
    assert not clashes, "\n".join(clashes)


def test_the_feature_is_seen_in_training_and_matches_inflected_forms():
    oos = examples_by_intent()["out_of_scope"]
    hits = [t for t in oos if any(p.search(t) for p in patterns())]
    # DIET learns what the feature means only from out_of_scope sentences with it.
    assert len(hits) >= 50, len(hits)
    assert patterns()[0].search("Onko oikeus ansiopaivarahaan?")


def test_no_out_of_scope_sentence_asks_who_a_path_role_is_or_what_it_does(catalog):
    """'Kuka on terveydenhoitaja?' is a role question (ask_role_definition) for a
    client of the work-ability team; labelled out_of_scope it teaches DIET to
    refuse the question the assistant exists for. Out-of-scope sentences may
    name a role only in another sense ("paljonko sosiaaliohjaaja tienaa")."""
    # Every client word for a role, as the NLU vocabulary generator reads them
    # (paths/roles.yml: role words and ambiguous forms, with folded variants).
    words = set(synonyms(catalog))
    asks_role = re.compile(
        r"^(kuka|mikä|mika|mitä|mita) (on|tekee|tarkoittaa) (\w+)\??$"
        r"|^mitä (\w+) tekee\??$",
        re.IGNORECASE,
    )
    clashes = []
    for text in examples_by_intent()["out_of_scope"]:
        m = asks_role.match(text.strip())
        if m and (m.group(3) or m.group(4) or "").lower() in words:
            clashes.append(text)
    assert not clashes, clashes
    assert asks_role.match("Kuka on terveydenhoitaja?").group(3).lower() in words
