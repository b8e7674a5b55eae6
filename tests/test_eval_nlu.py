"""The NLU evaluation's own logic, without Rasa and without training.

What is tested here decides the figures of reports/nlu.md: which label an
answer must have, when an answer counts as right, honestly unsure or wrong,
and how the tables show it. Training and parsing need Rasa (`make eval-nlu`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from polkuopas.settings import PROJECT_ROOT


def _load_module():
    # Loaded from its file: the script runs in the Rasa environment, this test
    # in the app environment, where Rasa is never imported.
    path = PROJECT_ROOT / "benchmarks" / "eval_nlu.py"
    spec = importlib.util.spec_from_file_location("eval_nlu", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_nlu"] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


ev = _load_module()
LIMITS = ev.Thresholds(threshold=0.3, ambiguity=0.1)


def prediction(
    intent: str,
    confidence: float,
    second: float = 0.0,
    full: str = "",
    ranked: str | None = None,
    runner_up: str = "out_of_scope",
):
    """A Prediction as parse_all builds it (fallback keeps the ranking)."""
    ranked = ranked or intent
    return ev.Prediction(
        intent=intent,
        confidence=confidence,
        ranked=ranked,
        top=[(ranked, confidence), (runner_up, second)],
        roles=[],
        seconds=0.01,
        full=full or ranked,
    )


# --- labels -------------------------------------------------------------------


def test_question_labels_map_to_the_question_intent():
    assert ev.question_intent("raha") == "service_raha"
    assert ev.expected_intent("question:raha") == "service_raha"
    assert ev.expected_intent("question:suostumus") == "service_suostumus"
    assert ev.expected_intent("out_of_scope") == "out_of_scope"
    assert ev.expected_intent("greet") == "greet"


@pytest.mark.parametrize(
    ("expected", "predicted", "right"),
    [
        ("greet", "greet", True),
        ("greet", "goodbye", False),
        ("ask_service/raha", "ask_service/raha", True),
        ("ask_service/raha", "ask_service/kesto", False),  # the wrong answer
        ("ask_service/raha", "ask_service", False),  # no answer chosen
        ("out_of_scope", "out_of_scope/asuminen", True),  # the key picks wording
        ("greet", "greeting", False),
        ("greet", "nlu_fallback", False),
    ],
)
def test_matches(expected: str, predicted: str, right: bool):
    assert ev.matches(expected, predicted) is right


def test_full_intent_takes_the_response_selector_key_of_the_ranked_intent():
    # The shape Rasa 3.6 returns with a ResponseSelector for a retrieval intent.
    parsed = {
        "intent": {"name": "ask_service", "confidence": 0.91},
        "response_selector": {
            "all_retrieval_intents": ["ask_service"],
            "default": {
                "response": {
                    "responses": [{"text": "..."}],
                    "confidence": 0.88,
                    "intent_response_key": "ask_service/raha",
                    "utter_action": "utter_ask_service/raha",
                },
                "ranking": [],
            },
        },
    }
    assert ev.full_intent(parsed, "ask_service") == "ask_service/raha"
    # A key of another intent does not belong to this one.
    assert ev.full_intent(parsed, "out_of_scope") == "out_of_scope"
    assert ev.full_intent({"intent": {"name": "greet"}}, "greet") == "greet"
    assert ev.full_intent({"response_selector": None}, "greet") == "greet"


# --- outcomes -----------------------------------------------------------------


def test_a_confident_right_answer_is_right():
    assert ev.outcome("greet", prediction("greet", 0.9, 0.05), LIMITS) == ev.RIGHT


def test_a_confident_other_answer_is_wrong():
    assert ev.outcome("goodbye", prediction("greet", 0.9, 0.05), LIMITS) == ev.WRONG


def test_the_pipelines_own_fallback_is_unsure():
    p = prediction("nlu_fallback", 0.7, 0.1, ranked="greet")
    assert ev.outcome("greet", p, LIMITS) == ev.UNSURE


def test_below_the_threshold_is_unsure_even_for_the_right_intent():
    # The default pipeline is judged by our config's thresholds too.
    assert ev.outcome("greet", prediction("greet", 0.29, 0.1), LIMITS) == ev.UNSURE
    assert ev.outcome("greet", prediction("greet", 0.3, 0.1), LIMITS) == ev.RIGHT


def test_two_close_intents_are_unsure():
    assert ev.outcome("greet", prediction("greet", 0.45, 0.36), LIMITS) == ev.UNSURE
    assert ev.outcome("greet", prediction("greet", 0.45, 0.34), LIMITS) == ev.RIGHT


def test_a_path_question_is_right_only_with_its_topic():
    asked = ev.expected_intent("question:raha")
    right = prediction("service_raha", 0.8)
    other = prediction("service_kesto", 0.8)
    personal = prediction("ask_next_step", 0.95)
    assert ev.outcome(asked, right, LIMITS) == ev.RIGHT
    assert ev.outcome(asked, other, LIMITS) == ev.WRONG
    assert ev.outcome(asked, personal, LIMITS) == ev.WRONG


def test_count_outcomes_tallies_and_lists_the_wrong_ones():
    examples = [
        ev.Example("moi", "greet", []),
        ev.Example("mitä kuntouttava työtoiminta on?", "ask_service/mika_palvelu", []),
        ev.Example("asumistuki?", "out_of_scope", []),
        ev.Example("hmm", "thank", []),
    ]
    preds = [
        prediction("greet", 0.95),
        prediction("ask_next_step", 0.97),
        prediction("nlu_fallback", 0.2, ranked="out_of_scope"),
        prediction("thank", 0.5, 0.45),
    ]
    o = ev.count_outcomes(examples, preds, LIMITS)
    assert (o.n, o.right, o.unsure, o.wrong) == (4, 1, 2, 1)
    assert o.wrong_items == [
        (
            "mitä kuntouttava työtoiminta on?",
            "ask_service/mika_palvelu",
            "ask_next_step",
            0.97,
        )
    ]
    assert o.rate(o.unsure) == 0.5
    assert ev.Outcomes().rate(0) == 0.0
    assert o.asked_by_intent == {
        "greet": 1,
        "ask_service/mika_palvelu": 1,
        "out_of_scope": 1,
        "thank": 1,
    }
    assert o.right_by_intent == {"greet": 1}


def test_an_unsure_answer_counts_when_a_button_offers_the_right_intent():
    examples = [
        ev.Example("milloin soittaa?", "ask_follow_up", []),
        ev.Example("kuka auttaa?", "ask_contact", []),
        ev.Example("paljonko rahaa?", ev.expected_intent("question:raha"), []),
        ev.Example("mitä on työkyky?", "out_of_scope", []),
    ]
    unsure = [
        ["ask_next_step", "ask_follow_up"],
        ["ask_responsible", "ask_path_overview"],
        ["ask_next_step", "service_raha"],
        ["ask_responsible", "service_mika_palvelu"],
    ]
    preds = []
    for offered in unsure:
        p = prediction("nlu_fallback", 0.2, ranked=offered[0])
        p.offered = offered
        preds.append(p)
    o = ev.count_outcomes(examples, preds, LIMITS)
    # An out-of-scope question is never counted: no button is right for it.
    assert (o.unsure, o.unsure_offered) == (4, 2)


def test_offered_buttons_are_what_the_fallback_action_offers():
    from polkuopas.bot_actions import INTENT_LABELS, OFFER_DEFAULTS

    assert set(INTENT_LABELS) == ev.CLICKABLE
    assert OFFER_DEFAULTS == ev.OFFER_DEFAULTS
    ranking = ["out_of_scope", "greet", "service_raha", "ask_contact", "ask_next_step"]
    assert ev.offered_buttons(ranking) == ["service_raha", "ask_contact"]
    assert ev.offered_buttons(["out_of_scope", "ask_responsible"]) == [
        "ask_responsible",
        "ask_path_overview",
    ]
    assert ev.offered_buttons([]) == ["ask_responsible", "ask_path_overview"]


def test_thresholds_come_from_the_config(tmp_path: Path):
    ours = ev.read_thresholds(PROJECT_ROOT / "bot" / "config.yml")
    config = yaml.safe_load((PROJECT_ROOT / "bot" / "config.yml").read_text())
    fallback = next(
        c for c in config["pipeline"] if c["name"] in ev.FALLBACK_COMPONENTS
    )
    assert ours == ev.Thresholds(
        fallback["threshold"],
        fallback["ambiguity_threshold"],
        fallback.get("out_of_scope_threshold"),
    )
    other = tmp_path / "config.yml"
    other.write_text(
        "pipeline:\n  - name: FallbackClassifier\n    threshold: 0.55\n",
        encoding="utf-8",
    )
    assert ev.read_thresholds(other) == ev.Thresholds(0.55, 0.1)
    other.write_text("pipeline:\n  - name: WhitespaceTokenizer\n", encoding="utf-8")
    assert ev.read_thresholds(other) == ev.Thresholds(0.3, 0.1)
    other.write_text(
        "pipeline:\n  - name: polkuopas_rasa.fallback.Fallback\n"
        "    threshold: 0.55\n    out_of_scope_threshold: 0.25\n",
        encoding="utf-8",
    )
    assert ev.read_thresholds(other) == ev.Thresholds(0.55, 0.1, 0.25)


def test_an_out_of_scope_floor_lowers_only_out_of_scopes_threshold():
    limits = ev.Thresholds(0.5, 0.05, 0.3)
    oos = prediction("out_of_scope", 0.35, second=0.1, runner_up="greet")
    assert ev.outcome("out_of_scope", oos, limits) == ev.RIGHT
    assert ev.outcome("service_raha", oos, limits) == ev.WRONG
    assert ev.outcome("out_of_scope", oos, ev.Thresholds(0.5, 0.05)) == ev.UNSURE
    low = prediction("out_of_scope", 0.25, second=0.1, runner_up="greet")
    assert ev.outcome("out_of_scope", low, limits) == ev.UNSURE
    tie = prediction("out_of_scope", 0.45, second=0.43, runner_up="greet")
    assert ev.outcome("greet", tie, limits) == ev.UNSURE
    greet = prediction("greet", 0.45, second=0.1)
    assert ev.outcome("greet", greet, limits) == ev.UNSURE


# --- scores -------------------------------------------------------------------


def test_accuracy_counts_fallback_wrong_and_retrieval_keys_right():
    examples = [
        ev.Example("a", "greet", []),
        ev.Example("b", "out_of_scope", []),
        ev.Example("c", "ask_service/raha", []),
        ev.Example("d", "thank", []),
    ]
    preds = [
        prediction("greet", 0.9),
        prediction("out_of_scope", 0.9, full="out_of_scope/asuminen"),
        prediction("nlu_fallback", 0.2, ranked="ask_service", full="ask_service/raha"),
        prediction("goodbye", 0.9),
    ]
    s = ev.score(
        "ours", PROJECT_ROOT / "bot" / "config.yml", examples, preds, 1.0, set()
    )
    assert s.accuracy == 0.5  # the fallback and the goodbye are not right
    assert s.accuracy_ranked == 0.75  # the ranking had the right question
    assert s.fallbacks == 1
    assert [pair for pair, _ in s.confusions] == [
        ("ask_service/raha", "nlu_fallback"),
        ("thank", "goodbye"),
    ]


def test_an_in_scope_question_answered_i_cannot_answer_is_wrong_and_counted_apart():
    examples = [
        ev.Example("paljonko saa rahaa?", "service_raha", []),
        ev.Example("kuka on mun ohjaaja?", "ask_responsible", []),
        ev.Example("asumistuki?", "out_of_scope", []),
    ]
    preds = [
        prediction("out_of_scope", 0.9),
        prediction("ask_contact", 0.9),
        prediction("service_raha", 0.9),
    ]
    o = ev.count_outcomes(examples, preds, LIMITS)
    assert (o.wrong, o.wrong_cannot_answer) == (3, 1)
    assert o.wrong_cannot_answer_offered == 0


def test_i_cannot_answer_with_the_right_topic_among_its_buttons_is_counted():
    examples = [
        ev.Example("sairastuin, mitä teen?", "service_sairastuminen", []),
        ev.Example("paljonko saa rahaa?", "service_raha", []),
    ]
    near = [("out_of_scope", 0.9), ("greet", 0.05), ("service_sairastuminen", 0.03)]
    preds = [
        dataclasses.replace(
            prediction("out_of_scope", 0.9),
            top=near[:2],
            offered=ev.offered_buttons([n for n, _ in near]),
        ),
        prediction("out_of_scope", 0.9),
    ]
    o = ev.count_outcomes(examples, preds, LIMITS)
    # Still wrong: the client is told "En osaa vastata tähän".
    assert (o.wrong, o.wrong_cannot_answer, o.wrong_cannot_answer_offered) == (2, 2, 1)


def test_a_set_read_twice_is_also_counted_where_both_readers_agree():
    examples = [
        ev.Example("moi", "greet", [], second="greet"),
        ev.Example("saanko karenssin?", "out_of_scope", [], second="service_pakko"),
        ev.Example("asumistuki?", "out_of_scope", [], second="out_of_scope"),
    ]
    preds = [
        prediction("greet", 0.95),
        prediction("service_pakko", 0.9),
        prediction("service_raha", 0.9),
    ]
    o = ev.count_outcomes(examples, preds, LIMITS)
    assert (o.n, o.right, o.wrong) == (3, 1, 2)
    assert (o.agreed.n, o.agreed.right, o.agreed.wrong) == (2, 1, 1)
    # Where the readers differ, the wrong answer shows both labels.
    assert o.wrong_items[0][1] == "out_of_scope (second reader: service_pakko)"
    assert o.wrong_items[1][1] == "out_of_scope"
    once = [ev.Example("moi", "greet", []), ev.Example("hei", "greet", [])]
    assert ev.count_outcomes(once, preds[:2], LIMITS).agreed is None


def test_the_second_label_is_read_as_an_intent(tmp_path: Path):
    copied = tmp_path / "holdout-9.yml"
    copied.write_text(
        "questions:\n"
        "  - text: Paljonko saa rahaa?\n"
        "    label: question:raha\n"
        "    second_label: out_of_scope\n"
        "    source: https://example.fi/a\n"
        "  - text: Mikä on työpaja?\n"
        "    label: out_of_scope\n"
        "    source: https://example.fi/b\n",
        encoding="utf-8",
    )
    first, second = ev.load_realworld(copied)
    assert (first.intent, first.second) == ("service_raha", "out_of_scope")
    assert (second.intent, second.second) == ("out_of_scope", None)


# --- the report ---------------------------------------------------------------


def _scored(name: str, o) -> object:
    s = ev.Scores(name=name, config="bot/config.yml", accuracy=0.5)
    s.outcomes = o
    return s


def test_outcome_table_shows_counts_and_shares():
    o = ev.Outcomes(n=4, right=2, unsure=1, wrong=1)
    text = ev.outcome_table([("tests/nlu/realworld.yml", _scored("ours", o))])
    lines = text.strip().splitlines()
    assert lines[0] == (
        "| evaluation set | pipeline | questions | intent accuracy "
        "| answered right | honestly unsure | of which a button is right "
        '| answered wrong | of which "En osaa vastata tähän" '
        "| of these, a button is right |"
    )
    assert lines[1] == "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    assert lines[2] == (
        "| `tests/nlu/realworld.yml` | ours | 4 | 50.0 % "
        "| 2 (50.0 %) | 1 (25.0 %) | 0 | 1 (25.0 %) | 0 | 0 |"
    )


def test_outcome_table_adds_a_row_where_both_readers_agree():
    o = ev.Outcomes(n=4, right=2, unsure=1, wrong=1)
    o.agreed = ev.Outcomes(n=2, right=2)
    text = ev.outcome_table([("tests/nlu/holdout-9.yml", _scored("ours", o))])
    lines = text.strip().splitlines()
    assert len(lines) == 4
    assert lines[3] == (
        "| `tests/nlu/holdout-9.yml`, labels both readers agree on | ours | 2 | – "
        "| 2 (100.0 %) | 0 (0.0 %) | 0 | 0 (0.0 %) | 0 | 0 |"
    )


def test_wrong_text_lists_each_wrong_answer_safely():
    o = ev.Outcomes(
        n=2,
        right=1,
        wrong=1,
        wrong_items=[("onko a|b sama?", "ask_service/mika_palvelu", "greet", 0.934)],
    )
    text = ev.wrong_text(_scored("ours", o))
    assert "| onko a\\|b sama? | ask_service/mika_palvelu | greet | 0.93 |" in text
    assert ev.wrong_text(_scored("ours", ev.Outcomes(n=1, right=1))) == (
        "No question was answered wrong.\n"
    )


def test_outcome_sections_name_the_thresholds_and_every_set():
    rows = [
        ("tests/nlu/eval.yml", _scored("ours", ev.Outcomes(n=1, right=1))),
        ("tests/nlu/realworld.yml", _scored("default", ev.Outcomes(n=1, wrong=1))),
    ]
    text = "\n".join(ev.outcome_sections(rows, ev.Thresholds(0.4, 0.15)))
    assert "below 0.4 or within 0.15" in text
    assert "### Answered wrong: `tests/nlu/eval.yml`, ours" in text
    assert "### Answered wrong: `tests/nlu/realworld.yml`, default" in text
    assert "`service_<topic>`" in text


# --- the real-world set -------------------------------------------------------


def test_load_realworld_maps_labels(tmp_path: Path):
    path = tmp_path / "rw.yml"
    path.write_text(
        "questions:\n"
        '  - text: "Saanko työtoiminnasta palkkaa?"\n'
        "    label: question:raha\n"
        "    source: https://example.org/a\n"
        '  - text: "Mikä on ruokakunta?"\n'
        "    label: out_of_scope\n"
        "    source: https://example.org/b\n",
        encoding="utf-8",
    )
    examples = ev.load_realworld(path)
    assert [(e.text, e.intent, e.roles) for e in examples] == [
        ("Saanko työtoiminnasta palkkaa?", "service_raha", []),
        ("Mikä on ruokakunta?", "out_of_scope", []),
    ]


def test_the_real_file_loads_whole():
    data = yaml.safe_load(ev.REALWORLD_FILE.read_text(encoding="utf-8"))
    examples = ev.load_realworld(ev.REALWORLD_FILE)
    assert len(examples) == len(data["questions"]) > 0
    assert all(e.intent and "question:" not in e.intent for e in examples)


def test_the_development_set_loads_whole_and_is_measured_apart():
    data = yaml.safe_load(ev.DEV_FILE.read_text(encoding="utf-8"))
    examples = ev.load_realworld(ev.DEV_FILE)
    assert len(examples) == len(data["questions"]) > 0
    assert all(e.intent and "question:" not in e.intent for e in examples)
    assert ev.DEV_FILE != ev.REALWORLD_FILE


def test_holdout_sets_come_in_the_order_they_were_collected(tmp_path: Path):
    for name in ("holdout-10.yml", "holdout.yml", "holdout-2.yml", "holdouts.yml"):
        (tmp_path / name).write_text("questions: []\n", encoding="utf-8")
    (tmp_path / "holdout-old.yml").write_text("questions: []\n", encoding="utf-8")
    found = [p.name for p in ev.holdout_files(tmp_path)]
    assert found == ["holdout.yml", "holdout-2.yml", "holdout-10.yml"]


def test_every_holdout_set_of_the_project_is_measured(monkeypatch):
    monkeypatch.setattr(ev, "load_examples", lambda path: [])  # eval.yml needs Rasa
    names = [name for name, _ in ev.evaluation_sets(ev.REALWORLD_FILE)]
    holdouts = ev.holdout_files()
    assert holdouts, "tests/nlu/holdout.yml is missing"
    assert names[-len(holdouts) :] == [ev._rel(p) for p in holdouts]


# --- reusing a model trained on the same data (--models DIR --reuse) ------------


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "a.yml").write_text("nlu: []\n", encoding="utf-8")
    config = tmp_path / "config.yml"
    config.write_text("pipeline: []\n", encoding="utf-8")
    return config, nlu


def test_the_fingerprint_follows_data_config_and_rasa(data):
    config, nlu = data
    first = ev.fingerprint(config, nlu, "3.6.21")
    assert ev.fingerprint(config, nlu, "3.6.21") == first
    assert ev.fingerprint(config, nlu, "3.6.20") != first
    (nlu / "a.yml").write_text("nlu: [x]\n", encoding="utf-8")
    assert ev.fingerprint(config, nlu, "3.6.21") != first
    (nlu / "a.yml").write_text("nlu: []\n", encoding="utf-8")
    (nlu / "b.yml").write_text("", encoding="utf-8")  # a new, empty file counts
    assert ev.fingerprint(config, nlu, "3.6.21") != first
    (nlu / "b.yml").unlink()
    config.write_text("pipeline: [y]\n", encoding="utf-8")
    assert ev.fingerprint(config, nlu, "3.6.21") != first


def test_a_kept_model_is_reused_only_for_the_same_fingerprint(tmp_path: Path):
    assert ev.reusable(tmp_path, "ours", "abc") is None  # nothing kept
    (tmp_path / "ours.tar.gz").write_bytes(b"model")
    assert ev.reusable(tmp_path, "ours", "abc") is None  # no fingerprint kept
    sidecar = tmp_path / "ours.json"
    sidecar.write_text('{"fingerprint": "abc", "seconds": 12.5}', encoding="utf-8")
    assert ev.reusable(tmp_path, "ours", "abc") == 12.5
    assert ev.reusable(tmp_path, "ours", "other") is None
    sidecar.write_text("{not json", encoding="utf-8")
    assert ev.reusable(tmp_path, "ours", "abc") is None


def test_train_or_reuse_trains_once_then_reuses(data, tmp_path, monkeypatch):
    config, nlu = data
    work = tmp_path / "models"
    work.mkdir()
    monkeypatch.setattr(ev, "fingerprint", lambda c, n: "print-1")
    trained = []

    def fake_train(config_, nlu_, out, name):
        trained.append(name)
        model = out / f"{name}.tar.gz"
        model.write_bytes(b"model")
        return model, 42.0

    monkeypatch.setattr(ev, "train", fake_train)
    model, seconds, reused = ev.train_or_reuse(config, nlu, work, "ours", True)
    assert (seconds, reused, trained) == (42.0, False, ["ours"])
    model, seconds, reused = ev.train_or_reuse(config, nlu, work, "ours", True)
    assert (model, seconds, reused, trained) == (
        work / "ours.tar.gz",
        42.0,
        True,
        ["ours"],
    )
    # Without --reuse, or after the data changed, it trains again.
    ev.train_or_reuse(config, nlu, work, "ours", False)
    monkeypatch.setattr(ev, "fingerprint", lambda c, n: "print-2")
    ev.train_or_reuse(config, nlu, work, "ours", True)
    assert trained == ["ours", "ours", "ours"]


def test_reuse_without_a_models_folder_is_a_usage_error(capsys):
    assert ev.main(["--reuse"]) == 2
    assert "--reuse needs --models DIR" in capsys.readouterr().err


# --- measuring the served model (--served bot/models/polkuopas.tar.gz) ----------


def test_the_served_model_is_measured_as_ours_and_not_trained(tmp_path, monkeypatch):
    served = tmp_path / "polkuopas.tar.gz"
    served.write_bytes(b"model")
    trained, measured = [], []

    def fake_train_or_reuse(config, nlu, work, name, reuse):
        trained.append(name)
        return work / f"{name}.tar.gz", 7.0, False

    def fake_measure(name, config, model, seconds, sets, known, limits):
        measured.append((name, model, seconds))
        result = ev.Scores(name=name, config=ev._rel(config), n=0)
        result.train_seconds = seconds
        return [("eval", result)]

    monkeypatch.setattr(ev, "load_examples", lambda path: [])
    monkeypatch.setattr(ev, "evaluation_sets", lambda realworld: [("eval", [])])
    monkeypatch.setattr(ev, "load_vocabulary", lambda folder: _Vocabulary())
    monkeypatch.setattr(ev, "train_or_reuse", fake_train_or_reuse)
    monkeypatch.setattr(ev, "measure", fake_measure)
    configs = list(ev.CONFIGS.items())
    results, _, _, reused = ev.run_eval(configs, tmp_path, None, False, served)
    assert trained == ["default"]  # ours is not trained again
    assert measured[0][:2] == ("ours", served)
    assert measured[1][:2] == ("default", tmp_path / "default.tar.gz")
    assert reused == []
    # The report says the served model was built by make train, not how long.
    row = next(r for r in ev.table(results).splitlines() if "training time" in r)
    assert [c.strip() for c in row.strip("|").split("|")][1:] == ["make train", "7 s"]


class _Vocabulary:
    def __init__(self) -> None:
        self.entity_synonyms: dict[str, str] = {}


def test_served_needs_a_model_file_and_the_eval_sets(tmp_path, capsys):
    missing = tmp_path / "none.tar.gz"
    assert ev.main(["--served", str(missing)]) == 2
    assert "no served model" in capsys.readouterr().err
    served = tmp_path / "polkuopas.tar.gz"
    served.write_bytes(b"model")
    assert ev.main(["--served", str(served), "--cv", "3"]) == 2
    assert "not with --cv or --model" in capsys.readouterr().err
    other = tmp_path / "other.yml"
    other.write_text("pipeline: []\n", encoding="utf-8")
    assert ev.main(["--served", str(served), "--config", str(other)]) == 2
    assert "not among the configs" in capsys.readouterr().err
