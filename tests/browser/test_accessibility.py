"""Accessibility: axe-core (vendored, tests/browser/vendor/axe-core) finds no
serious or critical violations; 200 % zoom and a phone keep everything usable."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser_stack import AXE, Chat, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

AXE_SOURCE = AXE.read_text(encoding="utf-8")


def axe_violations(page) -> list[dict]:
    """Run axe on the page (the widget's open shadow root included)."""
    # Evaluated through the DevTools protocol, which the page's CSP does not
    # govern: the page itself allows no script but its own.
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: "
        "['violations']}); return r.violations.map(v => ({id: v.id, impact: "
        "v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))"
        ".slice(0, 5)})); }"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize(
    "url",
    [
        "/roolit",
        "/polut/kuntouttava-tyotoiminta",
        "/polut",
        "/upotus",
        "/tietoa",
        "/tietosuoja",
        "/saavutettavuus",
    ],
)
def test_page_has_no_serious_axe_violations(page, servers, url):
    page.goto(servers.web + url)
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []


def test_demo_page_with_a_conversation_and_a_path_has_no_serious_violations(chat):
    chat.open_demo_page().as_demo_client("Suvi")
    chat.ask("näytä minun polkuni")
    expect(chat.widget.locator(".pk-path")).to_be_visible()
    assert axe_violations(chat.page) == []


def test_open_feedback_form_has_no_serious_violations(chat):
    chat.open_demo_page()
    chat.widget.get_by_role("button", name="Anna palautetta").click()
    assert axe_violations(chat.page) == []


def test_floating_widget_on_a_plain_page_has_no_serious_violations(page, servers):
    page.goto(servers.host + "/")
    page.get_by_role("button", name="Kysy Polkuoppaalta").click()
    expect(page.locator("polkuopas-chat .pk-msg--bot").first).to_be_visible()
    assert axe_violations(page) == []


def test_new_messages_are_announced_in_a_live_region(chat):
    chat.open_demo_page()
    expect(chat.log).to_have_attribute("role", "log")
    expect(chat.log).to_have_attribute("aria-live", "polite")
    expect(chat.widget.locator(".pk-typing")).to_have_attribute("role", "status")
    expect(chat.input).to_have_accessible_name("Kirjoita kysymyksesi")


def test_200_percent_zoom_keeps_the_demo_usable(browser, servers):
    # 200 % zoom of a 1280 × 900 window is a 640 × 450 CSS-pixel viewport.
    context = browser.new_context(
        viewport={"width": 640, "height": 450}, device_scale_factor=2
    )
    page = context.new_page()
    try:
        chat = Chat(page, servers).open_demo_page()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 640
        answer = chat.ask("mitä työvalmentaja tekee?")
        assert answer.startswith("Työvalmentaja")
        chat.input.scroll_into_view_if_needed()
        expect(chat.input).to_be_in_viewport()
        screenshot(page, "zoom-200-demo")
    finally:
        context.close()


def test_phone_width_pages_do_not_scroll_sideways(phone, servers):
    for url in ("/", "/roolit", "/polut/tyohonvalmennus-vammaispalvelut", "/upotus"):
        phone.goto(servers.web + url)
        phone.wait_for_load_state("networkidle")
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, url
    phone.goto(servers.web + "/roolit")
    screenshot(phone, "roolit-phone")
