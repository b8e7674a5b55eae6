"""What a public service owes its chat users, in Chromium against the real
assistant: the AI disclosure before the first message, the personal-data hint,
saving and deleting the conversation, the widget's Swedish and English texts,
a message typed before the greeting, and the demo page opened with a link."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from benchmarks.servers import demo_admin

from .browser_stack import Chat, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.rasa]


def test_disclosure_is_shown_before_the_first_message(page, servers):
    page.goto(servers.web + "/")
    widget = page.locator("polkuopas-chat").first
    disclosure = widget.locator(".pk-disclosure")
    expect(disclosure).to_be_visible()
    expect(disclosure).to_contain_text("automaattinen avustaja, ei ihminen")
    expect(disclosure).to_contain_text("Päätökset tekevät aina ammattilaiset")
    expect(disclosure).to_contain_text("haluan puhua ihmisen kanssa")
    # Above the conversation, so it is read before any answer.
    above = widget.evaluate(
        "el => !!(el.shadowRoot.querySelector('.pk-disclosure')"
        ".compareDocumentPosition(el.shadowRoot.querySelector('.pk-log'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    assert above
    for name in ("Tietoa Polkuoppaasta", "Tietosuoja", "Saavutettavuus"):
        expect(disclosure.get_by_role("link", name=name)).to_be_visible()
    hint = widget.locator(".pk-hint")
    expect(hint).to_contain_text("Älä kirjoita henkilötunnusta")
    assert "pk" in (
        widget.locator("input.pk-input").get_attribute("aria-describedby") or ""
    )


def test_personal_data_typed_in_the_widget_is_removed_and_explained(chat):
    chat.open_demo_page().as_demo_client("Suvi")
    answer = chat.ask("mun hetu on 010101-123A, kuka on mun ohjaaja")
    assert "Poistin viestistäsi henkilötunnuksen." in answer
    assert "Mika Salonen" in answer


def conversation_id(page) -> str:
    state = json.loads(
        page.evaluate("() => sessionStorage.getItem('polkuopas:conversation')")
    )
    return state["sender"]


def tracker_events(servers, sender_id: str) -> int:
    with sqlite3.connect(servers.tracker_db) as db:
        return db.execute(
            "SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender_id,)
        ).fetchone()[0]


def test_save_and_delete_the_conversation(chat):
    chat.open_demo_page().as_demo_client("Suvi")
    chat.ask("kuka on minun työvalmentajani?")
    conversation = "c:demo-suvi:" + conversation_id(chat.page)
    assert tracker_events(chat.servers, conversation) > 0

    with chat.page.expect_download() as download:
        chat.widget.get_by_role("button", name="Tallenna keskustelu").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Sinä: kuka on minun työvalmentajani?" in saved
    assert "Sari Lehtonen" in saved

    chat.widget.get_by_role("button", name="Poista keskustelu").click()
    dialog = chat.widget.locator(".pk-confirm")
    expect(dialog).to_contain_text("Haluatko poistaa tämän keskustelun?")
    screenshot(chat.page, "delete-conversation-confirm")
    chat.widget.get_by_role("button", name="Kyllä, poista").click()
    expect(chat.widget.locator(".pk-notice").first).to_have_text(
        "Keskustelu poistettiin."
    )
    assert tracker_events(chat.servers, conversation) == 0
    expect(chat.user).to_have_count(0)
    # A new conversation starts with a greeting.
    chat.wait_for_greeting()


def test_cancelling_the_delete_keeps_everything(chat):
    chat.open_demo_page().as_demo_client("Suvi")
    chat.ask("missä vaiheessa olen?")
    conversation = "c:demo-suvi:" + conversation_id(chat.page)
    chat.widget.get_by_role("button", name="Poista keskustelu").click()
    chat.widget.locator(".pk-confirm").get_by_role("button", name="Peruuta").click()
    expect(chat.widget.locator(".pk-confirm")).to_be_hidden()
    assert tracker_events(chat.servers, conversation) > 0
    expect(chat.user).to_have_count(1)


@pytest.mark.parametrize(
    ("lang", "data_lang", "launcher", "disclosure"),
    [
        ("sv", None, "Fråga Polkuopas", "automatisk assistent, inte en människa"),
        ("en", None, "Ask Polkuopas", "automated assistant, not a person"),
        ("fi", "en", "Ask Polkuopas", "automated assistant, not a person"),
        ("de", None, "Kysy Polkuoppaalta", "automaattinen avustaja, ei ihminen"),
    ],
)
def test_widget_texts_follow_the_page_language(
    page, servers, lang, data_lang, launcher, disclosure
):
    url = servers.host_page(
        f"lang-{lang}-{data_lang}.html", servers.rasa, lang, data_lang
    )
    page.goto(url)
    page.get_by_role("button", name=launcher).click()
    expect(page.locator("polkuopas-chat .pk-disclosure")).to_contain_text(disclosure)


def test_swedish_message_gets_a_swedish_answer_in_the_widget(chat):
    chat.open_demo_page()
    assert "Polkuopas talar bara finska" in chat.ask("jag vill prata svenska")


def test_a_question_sent_before_the_greeting_is_answered(page, servers):
    first = {"held": False}

    def hold_the_greeting(route):
        if not first["held"]:
            first["held"] = True
            time.sleep(1.5)
        route.continue_()

    page.route("**/webhooks/rest/webhook", hold_the_greeting)
    page.goto(servers.web + "/")
    chat = Chat(page, servers)
    chat.input.fill("kuka on minun työvalmentajani?")
    chat.input.press("Enter")
    # Shown at once, sent when the greeting has come.
    expect(chat.user.first).to_have_text("kuka on minun työvalmentajani?")
    expect(chat.input).to_have_value("")
    expect(chat.bot.nth(1)).to_contain_text("En tiedä, kuka olet.")
    expect(chat.bot.first).to_contain_text("Olen Polkuopas")


def test_demo_page_opened_with_a_personal_link_presses_no_demo_choice(page, servers):
    with demo_admin(servers.db) as admin:
        token = admin.issue_token("demo-suvi", 1)
    page.goto(f"{servers.web}/#token={token}")
    chat = Chat(page, servers)
    expect(chat.widget.locator(".pk-identity")).to_have_attribute("data-state", "valid")
    expect(page.locator('[data-demo-client][aria-pressed="true"]')).to_have_count(0)
    expect(page.locator("#demo-status")).to_contain_text("Avasit sivun omalla linkillä")
