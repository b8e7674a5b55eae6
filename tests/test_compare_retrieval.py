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


ev = _load("benchmarks.eval_nlu", "benchmarks/eval_nlu.py")
cr = _load("compare_retrieval", "benchmarks/compare_retrieval.py")

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
