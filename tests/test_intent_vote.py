"""IntentVote (bot/polkuopas_rasa/intent_vote.py), in Rasa's environment: the
logistic regression is trained and persisted as Rasa's own is, and its
probabilities are averaged with the ranking DIET left on the message."""

from __future__ import annotations

import logging

import pytest

from conftest import run_in_bot_environment

pytestmark = pytest.mark.rasa

SCRIPT = r"""
import json, logging, sys, tempfile
logging.getLogger().setLevel(logging.INFO)
from pathlib import Path
import numpy as np
from scipy import sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from polkuopas_rasa.intent_vote import IntentVote, combine, soften

WORDS = ["hei", "moi", "palkka", "raha", "sairas", "kipeä"]
def message(words, intent=None):
    vector = np.array([[1.0 if w in words else 0.0 for w in WORDS]])
    data = {"text": " ".join(words)}
    if intent:
        data["intent"] = intent
    m = Message(data=data)
    m.add_features(Features(sparse.coo_matrix(vector), "sentence", "text", "test"))
    return m

EXAMPLES = {
    "greet": [["hei"], ["moi"], ["hei", "moi"]],
    "raha": [["palkka"], ["raha"], ["palkka", "raha"]],
    "sairaus": [["sairas"], ["kipeä"], ["sairas", "kipeä"]],
}
train = [message(w, intent) for intent, ws in EXAMPLES.items() for w in ws]
out = {}
with tempfile.TemporaryDirectory() as tmp:
    storage = LocalModelStorage(Path(tmp))
    resource = Resource("vote")
    context = ExecutionContext(GraphSchema({}), node_name="vote")
    config = {**IntentVote.get_default_config(), "weight": 0.25}
    vote = IntentVote.create(config, storage, resource, context)
    vote.train(TrainingData(train))
    asked = message(["palkka", "kipeä"])
    diet = [
        {"name": "sairaus", "confidence": 0.9},
        {"name": "greet", "confidence": 0.1},
    ]
    asked.set("intent_ranking", diet)
    alone = message(["palkka", "kipeä"])
    vote.process([asked, alone])
    row = vote.clf.predict_proba(vote._create_X([alone]))[0]
    own = dict(zip(vote.clf.classes_, row))
    out["own"] = {k: float(v) for k, v in own.items()}
    out["voted"] = asked.get("intent_ranking")
    out["intent"] = asked.get("intent")
    out["alone"] = alone.get("intent_ranking")
    unknown = message(["😀"])
    unknown.set("intent_ranking", diet)
    vote.process([unknown])
    out["unknown"] = unknown.get("intent_ranking")
    loaded = IntentVote.load(config, storage, resource, context)
    again = message(["palkka", "kipeä"])
    again.set("intent_ranking", diet)
    loaded.process([again])
    out["loaded"] = again.get("intent_ranking")
    try:
        IntentVote.create({**config, "weight": 1.5}, storage, Resource("bad"), context)
        out["bad_weight"] = None
    except ValueError as error:
        out["bad_weight"] = str(error)
    try:
        cold = {**config, "temperature": 0}
        IntentVote.create(cold, storage, Resource("bad2"), context)
        out["bad_temperature"] = None
    except ValueError as error:
        out["bad_temperature"] = str(error)
    warm = {**config, "temperature": 2.0}
    soft = IntentVote.create(warm, storage, Resource("soft"), context)
    soft.train(TrainingData(train))
    softened = message(["palkka", "kipeä"])
    softened.set("intent_ranking", diet)
    soft.process([softened])
    out["softened"] = softened.get("intent_ranking")
    out["soften"] = {
        "one": soften(diet, 1.0),
        "two": soften(
            [{"name": "a", "confidence": 0.99}, {"name": "b", "confidence": 0.01}], 2.0
        ),
        "empty": soften([], 2.0),
        "zeros": soften([{"name": "a", "confidence": 0.0}], 2.0),
    }
    from benchmarks.calibrate_fallback import VoteRecorder
    import polkuopas_rasa.intent_vote as module
    recorded = message(["palkka", "kipeä"])
    recorded.set("intent_ranking", diet)
    with VoteRecorder() as recorder:
        soft.process([recorded])
        out["recorded"] = recorder.take()
        out["recorded_again"] = recorder.take()
    out["recorded_ranking"] = recorded.get("intent_ranking")
    out["restored"] = module.combine is combine
    out["root_level"] = logging.getLogger().level
    out["short"] = combine(diet, {"raha": 0.5, "greet": 0.3, "sairaus": 0.2}, 0.5, 2)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def result() -> dict:
    return run_in_bot_environment(SCRIPT)


def test_the_ranking_is_the_weighted_average_of_diet_and_the_regression(result):
    own = result["own"]
    assert set(own) == {"greet", "raha", "sairaus"}
    diet = {"sairaus": 0.9, "greet": 0.1, "raha": 0.0}
    expected = {name: 0.75 * diet[name] + 0.25 * own[name] for name in own}
    voted = {item["name"]: item["confidence"] for item in result["voted"]}
    assert voted == pytest.approx(expected)
    confidences = [item["confidence"] for item in result["voted"]]
    assert confidences == sorted(confidences, reverse=True)
    assert result["intent"] == result["voted"][0]


def test_without_an_earlier_ranking_the_regression_answers_alone(result):
    alone = {item["name"]: item["confidence"] for item in result["alone"]}
    assert alone == pytest.approx(result["own"])


def test_on_a_message_of_unknown_words_the_regression_abstains(result):
    # No feature it knows: every intent gets the same share from it.
    unknown = {item["name"]: item["confidence"] for item in result["unknown"]}
    diet = {"sairaus": 0.9, "greet": 0.1, "raha": 0.0}
    assert unknown == pytest.approx({k: 0.75 * v + 0.25 / 3 for k, v in diet.items()})


def test_saving_and_loading_keep_the_root_loggers_level(result):
    # skops (Rasa saves the regression with it) sets the root logger to
    # WARNING on import; the INFO lines after the model loaded must stay.
    assert result["root_level"] == logging.INFO


def test_a_persisted_vote_loads_and_answers_the_same(result):
    loaded, voted = result["loaded"], result["voted"]
    assert [item["name"] for item in loaded] == [item["name"] for item in voted]
    assert [item["confidence"] for item in loaded] == pytest.approx(
        [item["confidence"] for item in voted]
    )


def test_the_ranking_is_cut_to_its_length_and_a_bad_weight_is_refused(result):
    assert [item["name"] for item in result["short"]] == ["sairaus", "raha"]
    assert result["short"][0]["confidence"] == pytest.approx(0.55)
    assert "between 0 and 1" in result["bad_weight"]


def test_a_temperature_softens_diet_before_the_vote(result):
    # At 2, DIET's 0.9 / 0.1 becomes 0.75 / 0.25 (square roots summed to one);
    # the regression's share is the same as without it.
    own = result["own"]
    diet = {"sairaus": 0.75, "greet": 0.25, "raha": 0.0}
    expected = {name: 0.75 * diet[name] + 0.25 * own[name] for name in own}
    softened = {item["name"]: item["confidence"] for item in result["softened"]}
    assert softened == pytest.approx(expected)
    # a sure DIET is less sure; the order of its intents stays
    two = dict(result["soften"]["two"])
    assert list(two) == ["a", "b"]
    assert two["a"] == pytest.approx(0.9087, abs=1e-4)
    assert sum(two.values()) == pytest.approx(1.0)
    assert result["soften"]["one"] == [["sairaus", 0.9], ["greet", 0.1]]
    assert result["soften"]["empty"] == []
    assert result["soften"]["zeros"] == [["a", 0.0]]
    assert "above 0" in result["bad_temperature"]


def test_the_benchmarks_recorder_sees_both_voters_and_changes_nothing(result):
    # benchmarks/calibrate_fallback.py records what the vote averages, to
    # replay it with other settings: DIET's ranking as it came (unsoftened)
    # and the regression's probabilities; the answer is the same as unrecorded.
    diet, own = result["recorded"]
    assert diet == [["sairaus", 0.9], ["greet", 0.1]]
    assert dict(own) == pytest.approx(result["own"])
    assert result["recorded_again"] is None
    assert result["recorded_ranking"] == result["softened"]
    assert result["restored"]
