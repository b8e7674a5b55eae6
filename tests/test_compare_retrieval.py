"""The ResponseSelector comparison (benchmarks/compare_retrieval.py) rewrites
the same data and config it compares against, and nothing else."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import yaml

from polkuopas.settings import PROJECT_ROOT


def _load(name: str, file: str):
    # Loaded from their files: the script runs in the Rasa environment; this
    # test runs in the app environment, where Rasa is never imported.
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


cr = _load("compare_retrieval", "benchmarks/compare_retrieval.py")
ev = cr.ev  # the eval_nlu module the script itself uses (patched below)

DATA = """version: "3.1"
nlu:
- intent: service_raha
  examples: |
    - saanko rahaa
    - paljonko [ohjaaja](role) maksaa
- intent: ask_contact
  examples: |
    - miten tavoitan hänet
- intent: service_kesto
  examples: |
    - kauanko kestää
"""


def test_service_intents_become_one_retrieval_intent(tmp_path):
    source, target = tmp_path / "nlu", tmp_path / "out"
    source.mkdir()
    (source / "q.yml").write_text(DATA, encoding="utf-8")
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "stale.yml").write_text("nlu: []\n", encoding="utf-8")

    topics = cr.write_retrieval_data(source, target)

    assert topics == ["kesto", "raha"]
    assert not (target / "sub" / "stale.yml").exists()
    data = yaml.safe_load((target / "q.yml").read_text(encoding="utf-8"))
    intents = [item["intent"] for item in data["nlu"]]
    assert intents == ["ask_service/raha", "ask_contact", "ask_service/kesto"]
    # The examples, entity markup included, are the same bytes.
    assert data["nlu"][0]["examples"] == yaml.safe_load(DATA)["nlu"][0]["examples"]
    responses = yaml.safe_load(
        (target / "retrieval_responses.yml").read_text(encoding="utf-8")
    )["responses"]
    assert set(responses) == {"utter_ask_service/kesto", "utter_ask_service/raha"}


def test_data_without_path_questions_is_refused(tmp_path):
    (tmp_path / "nlu").mkdir()
    (tmp_path / "nlu" / "a.yml").write_text("nlu: []\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no service_<topic> intent"):
        cr.write_retrieval_data(tmp_path / "nlu", tmp_path / "out")


def test_the_selector_goes_right_after_diet_of_our_own_config():
    ours = yaml.safe_load((PROJECT_ROOT / "bot" / "config.yml").read_text("utf-8"))
    changed = cr.retrieval_config(ours)
    names = [step["name"] for step in changed["pipeline"]]
    original = [step["name"] for step in ours["pipeline"]]
    at = original.index("DIETClassifier") + 1
    assert names == [*original[:at], "ResponseSelector", *original[at:]]
    assert changed["pipeline"][at]["retrieval_intent"] == "ask_service"
    assert changed["policies"] == ours["policies"]
    assert [s["name"] for s in ours["pipeline"]] == original  # not changed in place


def test_expected_path_questions_are_asked_for_with_their_topic():
    sets = [("x", [ev.Example("saanko rahaa", "service_raha", []),
                   ev.Example("hei", "greet", [])])]  # fmt: skip
    ((_, examples),) = cr.as_retrieval(sets)
    assert [e.intent for e in examples] == ["ask_service/raha", "greet"]
    assert sets[0][1][0].intent == "service_raha"
    assert ev.matches("ask_service/raha", "ask_service/raha")
    assert not ev.matches("ask_service/raha", "ask_service/kesto")


def test_the_report_puts_both_pipelines_side_by_side_per_set(monkeypatch):
    monkeypatch.setattr(
        ev, "environment", lambda: {"rasa": "3.6.21", "python": "3.10", "cpus": "2"}
    )
    rows = []
    for name, right, wrong in (("ours", 8, 1), ("retrieval", 7, 2)):
        result = ev.Scores(name=name, config="c")
        result.outcomes = ev.Outcomes(n=10, right=right, unsure=10 - right - wrong,
                                      wrong=wrong)  # fmt: skip
        result.outcomes.wrong_items = [("saanko rahaa", "service_raha", "greet", 0.9)]
        rows.append(("tests/nlu/dev.yml", result, (right - 5, 5)))
    text = cr.report(
        rows, ev.Thresholds(0.4, 0.2), {"ours": 900, "retrieval": 1000}, ["raha"], 60
    )
    assert (
        "| `tests/nlu/dev.yml` | ours | 10 | 8 (80.0 %) | 1 (10.0 %) | 1 (10.0 %) "
        "| 3 / 5 |" in text
    )
    assert "| retrieval | 10 | 7 (70.0 %) | 1 (10.0 %) | 2 (20.0 %) | 2 / 5 |" in text
    assert "## Answered wrong: `tests/nlu/dev.yml`, retrieval" in text
    assert "saanko rahaa" in text
    assert "0.4 / 0.2" in text


def test_path_questions_right_are_counted_from_the_outcomes(monkeypatch):
    outcomes = ev.Outcomes(n=4, right=2, wrong=2)
    outcomes.asked_by_intent = {"ask_service/raha": 2, "service_kesto": 1, "greet": 1}
    outcomes.right_by_intent = {"ask_service/raha": 1, "greet": 1}
    result = ev.Scores(name="ours", config="c")
    result.outcomes = outcomes
    monkeypatch.setattr(ev, "measure", lambda *args: [("tests/nlu/dev.yml", result)])
    rows = cr.measure("ours", None, None, 0.0, [], set(), ev.Thresholds())
    # Both forms of a path question count; the greeting does not.
    assert rows == [("tests/nlu/dev.yml", result, (1, 3))]
