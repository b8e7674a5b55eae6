"""Language identification in the chat channel (bot/polkuopas_rasa/language.py),
in Rasa's environment: Finnish stays Finnish on every sentence of the training
data and the evaluation sets, and Swedish and English copied from public pages
are recognised (tests/nlu/languages.yml)."""

from __future__ import annotations

import pytest
import yaml

from conftest import run_in_bot_environment
from polkuopas.settings import PROJECT_ROOT

pytestmark = pytest.mark.rasa

SCRIPT = """
import json, sys
from benchmarks.language_id import finnish_sets, other_sets
from polkuopas_rasa import language
out = {"fi": {}, "other": {}}
for name, texts in finnish_sets().items():
    out["fi"][name] = [t for t in texts if language.detect(t) != "fi"]
for lang, texts in other_sets().items():
    out["other"][lang] = [language.detect(t) for t in texts]
out["short"] = [language.detect(t) for t in ["hej", "hello", "moro", "ok"]]
from polkuopas_rasa.channel import message_for_rasa
out["to_rasa"] = [message_for_rasa(t) for t in [
    "kan jag få hjälp på svenska", "can I get help in English please",
    "kuka on mun valmentaja",
    "/ask_responsible", "/choose_path{\\"path_id\\": \\"x\\"}"]]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def verdicts() -> dict:
    return run_in_bot_environment(SCRIPT)


def test_finnish_with_typos_and_without_diacritics_stays_finnish(verdicts):
    assert set(verdicts["fi"]) >= {"data/nlu (training)", "tests/nlu/eval.yml"}
    assert verdicts["fi"] == {name: [] for name in verdicts["fi"]}


def test_swedish_and_english_of_two_words_or_more_are_recognised(verdicts):
    sentences = yaml.safe_load((PROJECT_ROOT / "tests/nlu/languages.yml").read_text())
    for lang in ("sv", "en"):
        texts = [s["text"] for s in sentences["sentences"] if s["language"] == lang]
        got = verdicts["other"][lang]
        wanted = ["fi" if len(t.split()) < 2 else lang for t in texts]
        assert got == wanted


def test_one_word_is_too_little_to_leave_finnish(verdicts):
    assert verdicts["short"] == ["fi", "fi", "fi", "fi"]


def test_the_channel_and_eval_nlu_pass_rasa_the_same_message(verdicts):
    # message_for_rasa is what the channel sends and what make eval-nlu
    # parses: another language becomes the intent, Finnish and button
    # payloads go as they are.
    assert verdicts["to_rasa"] == [
        '/other_language{"language": "sv"}',
        '/other_language{"language": "en"}',
        "kuka on mun valmentaja",
        "/ask_responsible",
        '/choose_path{"path_id": "x"}',
    ]
