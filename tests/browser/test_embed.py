"""The widget embedded with the one-line snippet on a plain page of another
origin (another port), as an intranet page would embed it."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from .browser_stack import fake_rasa, free_port, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.rasa]


def open_launcher(page):
    launcher = page.get_by_role("button", name="Kysy Polkuoppaalta")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    return page.locator("polkuopas-chat")


def test_snippet_on_another_origin_answers_a_general_question(page, servers):
    page.goto(servers.host + "/")
    widget = open_launcher(page)
    expect(widget.locator(".pk-input")).to_be_focused()
    expect(widget.locator(".pk-msg--bot").first).to_contain_text("Olen Polkuopas")
    widget.locator(".pk-input").fill("mitä työhönvalmentaja tekee?")
    widget.locator(".pk-input").press("Enter")
    expect(widget.locator(".pk-msg--bot").nth(1)).to_contain_text(
        "Työhönvalmentaja auttaa sinua"
    )
    screenshot(page, "embed-other-origin")


def test_escape_closes_the_floating_chat_and_returns_focus(page, servers):
    page.goto(servers.host + "/")
    widget = open_launcher(page)
    expect(widget.locator(".pk-input")).to_be_focused()
    page.keyboard.press("Escape")
    launcher = page.get_by_role("button", name="Kysy Polkuoppaalta")
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(widget.locator(".pk-panel")).to_be_hidden()


def test_personal_link_identifies_the_client_and_leaves_the_address_bar(page, servers):
    token = httpx.post(
        f"{servers.web}/api/demo-token", json={"client": "demo-valtteri"}
    ).json()["token"]
    page.goto(f"{servers.host}/#token={token}")
    widget = open_launcher(page)
    expect(widget.locator(".pk-identity")).to_have_attribute("data-state", "valid")
    assert token not in page.url
    assert page.evaluate("() => sessionStorage.getItem('polkuopas:token')") == token
    assert page.evaluate("() => localStorage.length") == 0
    assert page.context.cookies() == []
    expect(widget.locator(".pk-msg--bot").first).to_contain_text(
        "Vammaispalvelujen työhönvalmennuksen polku"
    )
    widget.locator(".pk-input").fill("kuka on minun työhönvalmentajani?")
    widget.locator(".pk-input").press("Enter")
    expect(widget.locator(".pk-msg--bot").nth(1)).to_contain_text("Jenni Koskinen")
    logs = b"".join(log.read_bytes() for log in servers.logs.values())
    assert token.encode() not in logs


def test_expired_link_says_so(page, servers):
    page.goto(f"{servers.host}/#token={'A' * 43}")
    widget = open_launcher(page)
    expect(widget.locator(".pk-identity")).to_have_attribute("data-state", "none")
    expect(widget.locator(".pk-identity")).to_contain_text("Et ole tunnistautunut")


def test_unreachable_server_then_reconnected(page, servers):
    port = free_port()
    url = servers.host_page("down.html", f"http://127.0.0.1:{port}")
    page.goto(url)
    widget = open_launcher(page)
    error = widget.locator(".pk-msg--error")
    expect(error).to_contain_text(
        "Palveluun ei saada yhteyttä. Yritä hetken päästä uudelleen."
    )
    expect(error.get_by_role("button", name="Yritä uudelleen")).to_be_visible()
    screenshot(page, "embed-unreachable")
    with fake_rasa(port):
        expect(widget.locator(".pk-notice").last).to_have_text(
            "Yhteys palveluun toimii taas. Voit jatkaa.", timeout=15_000
        )
