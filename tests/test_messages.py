"""The Finnish message catalogue of the actions: complete, used, plain."""

from __future__ import annotations

import re

import pytest

from polkuopas.messages import MESSAGES_FILE, Messages
from polkuopas.settings import PROJECT_ROOT

ACTIONS_SOURCE = (PROJECT_ROOT / "actions/polkuopas/bot_actions.py").read_text()


def names_in_code() -> set[str]:
    calls = re.findall(r"self\.say\(\s*dispatcher,\s*(.+?),?\n", ACTIONS_SOURCE)
    # offer_contact(dispatcher, view, tracker, "<message>") says the message it
    # is given (the contact offer and the coordinator offer after two misses).
    calls += re.findall(
        r"self\.offer_contact\(\s*dispatcher,[^)]*?(\"\w+\")\s*\)", ACTIONS_SOURCE
    )
    return {name for call in calls for name in re.findall(r'"(\w+)"', call)}


def test_every_message_in_code_exists_and_every_message_is_used():
    messages = Messages.load()
    assert names_in_code() == set(messages.names())


def test_missing_value_is_an_error():
    with pytest.raises(KeyError, match=r"message 'contact' needs \['details'"):
        Messages.load().render("contact", name="A", role_title="b")


def test_render_fills_values_and_keeps_static_buttons():
    rendered = Messages.load().render(
        "responsible_all", buttons=[{"title": "x", "payload": "/x"}], lines="• A"
    )
    assert rendered["text"] == "Nämä ammattilaiset auttavat sinua nyt:\n• A"
    assert rendered["buttons"][-1] == {"title": "x", "payload": "/x"}
    assert len(rendered["buttons"]) == 3
    assert rendered["polkuopas_message"] == "responsible_all"


def test_values_with_braces_are_inserted_verbatim():
    rendered = Messages.load().render("responsible_one", who="X", name="{evil}")
    assert rendered["text"] == "X on {evil}."


def test_sentences_are_short():
    texts = [Messages.load().get(n).text for n in Messages.load().names()]
    sentences = [
        s for t in texts for s in re.split(r"(?<=[.!?])\s+|\n", t) if s.strip()
    ]
    assert [s for s in sentences if len(s.split()) > 15] == []


def test_broken_file_names_the_message(tmp_path):
    broken = tmp_path / "m.yml"
    broken.write_text("contact:\n  buttons: []\n")
    with pytest.raises(ValueError, match="contact: expected a mapping with 'text'"):
        Messages.load(broken)


def test_file_is_next_to_the_code():
    assert MESSAGES_FILE.parent == PROJECT_ROOT / "actions/polkuopas"


def test_role_messages_fit_every_role():
    """The asiakasvastaava is a pair ("He ..."), and some pairs compared are the
    same person in a different task (a sosiaaliohjaaja can be the omatyöntekijä):
    the headings must not say "Hän" or "eri ammattilaisia"."""
    messages = Messages.load()
    assert "Hän" not in messages.get("role_definition").text
    assert "eri ammattilaisia" not in messages.get("role_difference").text


@pytest.mark.parametrize("name", ["next_step_end", "follow_up_general"])
def test_the_follow_up_is_not_promised(name):
    """The source says the worker *could* call after the service (a pilot): the
    client hears "voi" and that they can call themselves."""
    text = Messages.load().get(name).text
    assert "voi ottaa sinuun yhteyttä" in text
    assert "voit soittaa itse" in text


def test_human_help_names_the_on_call_number():
    text = Messages.load().get("human_general").text
    assert "116117" in text and "112" in text
