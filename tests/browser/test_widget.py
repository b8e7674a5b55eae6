"""The chat widget on the demo page, in Chromium, against the real assistant."""

from __future__ import annotations

import json
import sqlite3

import pytest
from playwright.sync_api import expect

from .browser_stack import Chat, deep_focus, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.rasa]


def test_demo_client_sees_their_own_job_coach(chat):
    chat.open_demo_page().as_demo_client("Valtteri")
    answer = chat.ask("kuka on minun työhönvalmentajani?")
    assert "Jenni Koskinen" in answer
    screenshot(chat.page, "demo-valtteri-tyohonvalmentaja")


def test_without_a_token_the_widget_says_general_questions_only(chat):
    chat.open_demo_page()
    identity = chat.widget.locator(".pk-identity")
    expect(identity).to_have_text(
        "Et ole tunnistautunut – voit kysyä vain yleisiä kysymyksiä."
    )
    answer = chat.ask("kuka on minun työhönvalmentajani?")
    assert "En tiedä, kuka olet." in answer
    assert "Jenni" not in answer


def test_path_picture_highlights_the_current_step(chat):
    chat.open_demo_page().as_demo_client("Suvi")
    chat.ask("näytä minun polkuni")
    picture = chat.widget.locator(".pk-path").last
    expect(picture).to_be_visible()
    current = picture.locator('li[aria-current="step"]')
    expect(current).to_have_count(1)
    expect(current.locator(".pk-step__title")).to_contain_text("Työtehtävät työpajalla")
    expect(current).to_contain_text("Olet tässä")
    expect(current).to_contain_text("Sari Lehtonen")  # the named professional
    expect(picture.locator(".pk-step--done")).to_have_count(3)
    pilot = picture.locator("li.pk-step--pilot").first
    expect(pilot.locator(".pk-lamp").first).to_be_attached()
    expect(pilot).to_contain_text("Kokeilu")
    expect(picture.locator(".pk-branch")).to_contain_text("vaihe 6, Työhönvalmennus")
    current.scroll_into_view_if_needed()
    screenshot(chat.page, "path-suvi-current-step")


def test_path_picture_on_a_phone_fits_the_screen(phone, servers):
    chat = Chat(phone, servers).open_demo_page().as_demo_client("Mika")
    chat.ask("näytä minun polkuni")
    picture = chat.widget.locator(".pk-path").last
    expect(picture.locator('li[aria-current="step"]')).to_contain_text(
        "Työkyvyn arviointi"
    )
    expect(picture).to_contain_text("Laura Mäkinen ja Antti Karjalainen")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375
    phone.evaluate("() => document.querySelector('polkuopas-chat').scrollIntoView()")
    picture.locator('li[aria-current="step"]').scroll_into_view_if_needed()
    screenshot(phone, "path-mika-phone")


def test_html_in_a_message_is_shown_as_text(chat):
    dialogs: list[str] = []
    chat.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    chat.open_demo_page()
    hostile = "<img src=x onerror=alert(1)>"
    chat.ask(hostile)
    expect(chat.user.last).to_have_text(hostile)
    assert chat.widget.locator("img").count() == 0
    assert chat.page.locator("img").count() == 0
    chat.page.wait_for_timeout(500)
    assert dialogs == []
    screenshot(chat.page, "xss-shown-as-text")


def test_quick_reply_sends_its_payload_and_shows_its_title(chat):
    chat.open_demo_page()
    chat.widget.get_by_role("button", name="Näytä palvelupolku").click()
    expect(chat.user.last).to_have_text("Näytä palvelupolku")
    chat.wait_idle()
    chat.widget.get_by_role("button", name="Kuntouttavan työtoiminnan polku").click()
    chat.wait_idle()
    picture = chat.widget.locator(".pk-path").last
    expect(picture).to_contain_text("Yleinen kuvaus polusta")
    expect(picture.locator('li[aria-current="step"]')).to_have_count(0)


def test_keyboard_only_from_the_page_to_a_sent_message(chat):
    page = chat.page
    chat.open_demo_page()
    page.locator("body").click(position={"x": 5, "y": 300})
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focus = deep_focus(page)
        seen.append(focus)
        assert focus["outline"] != "none" and focus["outlineWidth"] >= 2, focus
        if focus["text"].startswith("Valtteri"):
            break
    else:
        raise AssertionError(f"never reached the demo client: {seen}")
    page.keyboard.press("Enter")
    expect(chat.widget.locator(".pk-identity")).to_have_attribute("data-state", "valid")
    chat.wait_for_greeting()
    for _ in range(40):
        if deep_focus(page)["cls"] == "pk-input":
            break
        page.keyboard.press("Tab")
    assert deep_focus(page)["cls"] == "pk-input"
    before = chat.bot.count()
    page.keyboard.type("kuka on minun työhönvalmentajani?")
    page.keyboard.press("Enter")
    expect(chat.bot.nth(before)).to_contain_text("Jenni Koskinen")
    expect(chat.user.last).to_have_text("kuka on minun työhönvalmentajani?")
    screenshot(page, "keyboard-only")


def test_escape_in_the_inline_chat_keeps_the_focus(chat):
    chat.open_demo_page()
    chat.input.focus()
    chat.page.keyboard.press("Escape")
    assert deep_focus(chat.page)["cls"] == "pk-input"


def test_conversation_survives_a_reload_and_start_over_clears_it(chat):
    chat.open_demo_page().as_demo_client("Suvi")
    chat.ask("missä vaiheessa olen?")
    chat.page.reload()
    expect(chat.user.last).to_have_text("missä vaiheessa olen?")
    expect(chat.widget.locator(".pk-identity")).to_have_attribute("data-state", "valid")
    chat.widget.get_by_role("button", name="Aloita alusta").click()
    expect(chat.widget.locator(".pk-notice")).to_have_text("Aloitit uuden keskustelun.")
    chat.wait_for_greeting()
    expect(chat.user).to_have_count(0)


def test_helpful_and_comment_are_stored_with_the_pseudonym_only(chat, servers):
    chat.open_demo_page().as_demo_client("Valtteri")
    chat.ask("kuka on minun työhönvalmentajani?")
    helpful = chat.widget.locator(".pk-helpful").last
    helpful.get_by_role("button", name="Kyllä, vastauksesta oli apua").click()
    expect(chat.widget.locator(".pk-helpful--done").last).to_have_text(
        "Kiitos palautteesta!"
    )
    chat.widget.get_by_role("button", name="Anna palautetta").click()
    field = chat.widget.get_by_label("Mitä haluat sanoa Polkuoppaasta?")
    expect(field).to_be_focused()
    field.fill("Selkeä! Numeroni on 040 765 4321.")
    screenshot(chat.page, "feedback-comment")
    chat.widget.get_by_role("button", name="Lähetä palaute").click()
    expect(chat.widget.locator(".pk-notice").last).to_have_text(
        "Kiitos! Palautteesi on tallennettu."
    )
    with sqlite3.connect(servers.db) as conn:
        rows = conn.execute(
            "SELECT helpful, comment, client_id, path_id FROM feedback ORDER BY id"
        ).fetchall()
    path = "tyohonvalmennus-vammaispalvelut"
    assert (1, None, "demo-valtteri", path) in rows
    assert (None, "Selkeä! Numeroni on [puhelinnumero].", "demo-valtteri", path) in rows


def test_escape_closes_the_feedback_form_and_returns_the_focus(chat):
    chat.open_demo_page()
    opener = chat.widget.get_by_role("button", name="Anna palautetta")
    opener.click()
    expect(opener).to_have_attribute("aria-expanded", "true")
    chat.page.keyboard.press("Escape")
    expect(chat.widget.locator(".pk-comment")).to_be_hidden()
    expect(opener).to_be_focused()
    expect(opener).to_have_attribute("aria-expanded", "false")


def test_empty_comment_is_not_sent(chat, servers):
    chat.open_demo_page()
    chat.widget.get_by_role("button", name="Anna palautetta").click()
    chat.widget.get_by_role("button", name="Lähetä palaute").click()
    expect(chat.widget.locator(".pk-comment__status")).to_have_text(
        "Kirjoita palaute ennen kuin lähetät sen."
    )


def test_a_message_sent_too_fast_shows_the_channels_own_words(chat):
    # What the token channel answers over its rate limit (bot/polkuopas_channel.py).
    polite = (
        "Lähetit viestejä nopeammin kuin ehdin vastata. Odota hetki. "
        "Lähetä viestisi sitten uudelleen."
    )
    chat.open_demo_page()
    chat.page.route(
        "**/webhooks/rest/webhook",
        lambda route: route.fulfill(
            status=429,
            headers={"Access-Control-Allow-Origin": "*", "Retry-After": "5"},
            content_type="application/json",
            body=json.dumps([{"recipient_id": "x", "text": polite}]),
        ),
    )
    chat.input.fill("kuka on minun työhönvalmentajani?")
    chat.input.press("Enter")
    error = chat.widget.locator(".pk-msg--error").last
    expect(error).to_contain_text(polite)
    chat.page.unroute("**/webhooks/rest/webhook")
