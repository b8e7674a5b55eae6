"""Fallback (bot/polkuopas_rasa/fallback.py), in Rasa's environment: Rasa's
FallbackClassifier, except that a best guess of out_of_scope has its own,
lower confidence floor; the ambiguity check stays for every intent."""

from __future__ import annotations

import pytest

from conftest import run_in_bot_environment

pytestmark = pytest.mark.rasa

SCRIPT = r"""
import json
from polkuopas_rasa.fallback import Fallback
from rasa.shared.nlu.training_data.message import Message

def message(*ranking):
    ranking = [{"name": n, "confidence": c} for n, c in ranking]
    return Message(data={"text": "x", "intent": dict(ranking[0]),
                         "intent_ranking": [dict(r) for r in ranking]})

CASES = {
    "oos_above_floor": [("out_of_scope", 0.35), ("greet", 0.1)],
    "oos_below_floor": [("out_of_scope", 0.25), ("greet", 0.1)],
    "oos_tie": [("out_of_scope", 0.45), ("greet", 0.43)],
    "other_low": [("greet", 0.45), ("out_of_scope", 0.1)],
    "other_high": [("greet", 0.55), ("out_of_scope", 0.1)],
}
out = {}
for name, floor in (("ours", 0.3), ("rasa", None)):
    config = {**Fallback.get_default_config(), "threshold": 0.5,
              "ambiguity_threshold": 0.05, "out_of_scope_threshold": floor}
    fallback = Fallback(config)
    messages = {case: message(*r) for case, r in CASES.items()}
    fallback.process(list(messages.values()))
    out[name] = {case: m.get("intent")["name"] for case, m in messages.items()}
try:
    Fallback({**Fallback.get_default_config(), "out_of_scope_threshold": 1.5})
    out["bad"] = None
except ValueError as error:
    out["bad"] = str(error)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def result() -> dict:
    return run_in_bot_environment(SCRIPT)


def test_out_of_scope_answers_from_its_own_floor(result):
    ours = result["ours"]
    assert ours["oos_above_floor"] == "out_of_scope"
    assert ours["oos_below_floor"] == "nlu_fallback"


def test_a_tie_and_every_other_intent_fall_back_as_in_rasa(result):
    for name in ("ours", "rasa"):
        assert result[name]["oos_tie"] == "nlu_fallback"
        assert result[name]["other_low"] == "nlu_fallback"
        assert result[name]["other_high"] == "greet"


def test_without_a_floor_it_is_rasas_fallback(result):
    assert result["rasa"]["oos_above_floor"] == "nlu_fallback"
    assert result["rasa"]["oos_below_floor"] == "nlu_fallback"


def test_a_floor_outside_0_to_1_is_refused_by_name(result):
    assert "out_of_scope_threshold" in result["bad"]
    assert "1.5" in result["bad"]


# benchmarks/eval_nlu.outcome replays the rule on rankings (it must also run
# without Rasa, so it cannot import the component). Both are run here on the
# same grid of rankings: the replay is unsure exactly where Fallback falls back.
AGREEMENT = r"""
import itertools, json
from benchmarks.eval_nlu import Prediction, Thresholds, outcome, UNSURE
from polkuopas_rasa.fallback import Fallback
from rasa.shared.nlu.training_data.message import Message

grid = [round(0.05 * i, 2) for i in range(21)]
settings = [(0.55, 0.05, 0.25), (0.5, 0.1, None), (0.3, 0.0, 0.45)]
disagree, cases = [], 0
for threshold, ambiguity, floor in settings:
    fallback = Fallback({**Fallback.get_default_config(), "threshold": threshold,
                         "ambiguity_threshold": ambiguity,
                         "out_of_scope_threshold": floor})
    limits = Thresholds(threshold, ambiguity, floor)
    for best, first, second in itertools.product(
            ("out_of_scope", "greet"), grid, grid):
        if second > first:
            continue
        other = "greet" if best == "out_of_scope" else "out_of_scope"
        ranking = [{"name": best, "confidence": first},
                   {"name": other, "confidence": second}]
        message = Message(data={"text": "x", "intent": dict(ranking[0]),
                                "intent_ranking": [dict(r) for r in ranking]})
        fallback.process([message])
        fell_back = message.get("intent")["name"] == "nlu_fallback"
        prediction = Prediction(intent=best, confidence=first, ranked=best,
                                top=[(best, first), (other, second)], roles=[],
                                seconds=0.0)
        replayed = outcome(best, prediction, limits) == UNSURE
        cases += 1
        if fell_back != replayed:
            disagree.append([threshold, ambiguity, floor, best, first, second,
                             fell_back])
print(json.dumps({"cases": cases, "disagree": disagree}))
"""


def test_eval_nlu_replays_exactly_what_fallback_does():
    result = run_in_bot_environment(AGREEMENT)
    assert result["cases"] > 1000
    assert result["disagree"] == [], result["disagree"][:10]
