"""The Finnish message catalogue of the actions: complete, used, plain."""

from __future__ import annotations

import re

import pytest

from polkuopas.messages import MESSAGES_FILE, Messages
from polkuopas.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "actions/polkuopas"
ACTIONS_SOURCE = (PACKAGE / "bot_actions.py").read_text()
# Every Python file that gives a client a text: the actions, the pieces of their
# messages, the web app.
TEXT_FILES = [
    PACKAGE / "bot_actions.py",
    PACKAGE / "answers.py",
    *sorted((PACKAGE / "web").glob("*.py")),
]
TEXT_SOURCES = "\n".join(path.read_text(encoding="utf-8") for path in TEXT_FILES)
# Finnish words in the code that no client reads: the placeholders that replace
# contact details in stored feedback comments, which only admins see.
NOT_CLIENT_TEXTS = {"[sähköposti]", "[henkilötunnus]", "[puhelinnumero]"}


def names_in_code() -> set[str]:
    calls = re.findall(r"self\.say\(\s*dispatcher,\s*(.+?),?\n", ACTIONS_SOURCE)
    # offer_contact(dispatcher, view, tracker, "<message>") says the message it
    # is given (the contact offer and the coordinator offer after two misses).
    calls += re.findall(
        r"self\.offer_contact\(\s*dispatcher,[^)]*?(\"\w+\")\s*\)", ACTIONS_SOURCE
    )
    said = {name for call in calls for name in re.findall(r'"(\w+)"', call)}
    # `.text("name", ...)`, and the tables of names: labels, pages, demo buttons.
    texts = set(re.findall(r'\.text\(\s*"(\w+)"', TEXT_SOURCES))
    tables = set(
        re.findall(r'"((?:label|page|demo_client|other_language)_\w+)"', TEXT_SOURCES)
    )
    return said | texts | tables


def test_every_message_in_code_exists_and_every_message_is_used():
    messages = Messages.load()
    assert names_in_code() == set(messages.names())


def test_every_pickable_intent_has_a_label_in_the_catalogue():
    from polkuopas.bot_actions import INTENT_LABELS

    messages = Messages.load()
    assert [i for i, name in INTENT_LABELS.items() if name not in messages] == []


def test_no_finnish_text_left_in_the_python_code():
    """Client texts live in messages_fi.yml: a string literal with Finnish
    letters in the code is a text that escaped the catalogue (docstrings and
    comments aside)."""
    import ast

    found = []
    for path in TEXT_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(
                node,
                ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef,
            )
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and node.value not in NOT_CLIENT_TEXTS
                and re.search(r"[äöÄÖ]", node.value)
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert found == []


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


def test_text_fills_values_and_names_a_missing_one():
    messages = Messages.load()
    assert messages.text("contact_phone", phone="040 1") == "Puhelin: 040 1"
    with pytest.raises(KeyError, match=r"message 'contact_phone' needs \['phone'\]"):
        messages.text("contact_phone")


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
