"""One story across both sides, in Chromium with the whole stack (Rasa with
the trained model, the action server, the web app): a worker signs in, opens
a client, moves them to the next step, adds the next meeting and a goal the
client agreed to, and issues a personal link; the client opens the link in a
second browser context, and the chat tells the new step, the next meeting and
the goal, shows them under the path picture, and removes the goal only after
the client says Kyllä. axe-core finds no serious or critical violation on the
pages on the way."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store

from .browser_stack import Chat, screenshot
from .test_accessibility import axe_violations
from .test_workspace import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

WORKER = ("tyontekija@esimerkki.fi", "karhu kävelee metsässä aamulla")
CLIENT = "selain-oma"
MEETING_DAY = date.today() + timedelta(days=6)
GOAL = "Haluan oppia tekemään puutöitä"


@pytest.fixture
def store(servers):
    """The browser stack's client store, with a client of the demo worker
    (Anna Virtanen, ph-anna) on the step before the work tasks."""
    store = open_store(servers.db)
    admin = Admin(store, load_catalog(PROJECT_ROOT / "paths"), "test")
    admin.set_staff_password("demo-tyontekija", WORKER[1])
    if store.find_client(CLIENT) is None:
        admin.add_client(CLIENT, "kuntouttava-tyotoiminta", "aloitus")
        admin.assign(CLIENT, "omatyontekija", "ph-anna")
    yield store
    store.db.close()


def test_worker_updates_the_path_and_the_client_hears_it(browser, servers, store):
    # --- the worker, in the workspace ---------------------------------------
    worker = browser.new_context(viewport={"width": 1280, "height": 900})
    page = worker.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, servers.web, WORKER)
    expect(page).to_have_url(re.compile(r"/tyotila/asiakkaat$"))
    page.get_by_role("link", name=CLIENT).click()
    page.get_by_role("button", name="Siirrä asiakas").click()
    expect(page.get_by_role("status")).to_contain_text("siirretty")

    page.get_by_label("Päivä", exact=True).fill(MEETING_DAY.isoformat())
    page.get_by_label("Kellonaika").fill("09:30")
    page.get_by_label("Paikka").fill("Lahden Työpaja")
    page.get_by_label("Kenen kanssa").fill("Anna Virtanen")
    page.get_by_role("button", name="Tallenna tapaaminen").click()
    expect(page.get_by_role("status")).to_contain_text("tapaaminen on tallennettu")

    page.get_by_label("Teksti asiakkaan sanoin").fill(GOAL)
    # Without the client's agreement nothing is saved (the browser says so first).
    page.get_by_role("button", name="Tallenna kirjaus").click()
    assert store.own_path_items(CLIENT) == []
    page.get_by_label("Asiakas on suostunut").check()
    page.get_by_role("button", name="Tallenna kirjaus").click()
    expect(page.get_by_role("status")).to_contain_text("Kirjaus on tallennettu")
    expect(page.locator("#oma-polku-lista")).to_contain_text(GOAL)
    assert axe_violations(page) == []
    screenshot(page, "tyotila-oma-polku", full_page=True)

    page.get_by_role("link", name="Tulostettava oma polku").click()
    expect(page.get_by_role("heading", name="Sinun oma polkusi")).to_be_visible()
    assert axe_violations(page) == []
    page.go_back()

    page.get_by_role("button", name="Luo uusi linkki").click()
    link = page.get_by_label(re.compile("linkki, voimassa")).input_value()
    raw = link.split("#token=", 1)[1]
    worker.close()

    # --- the client, in another browser, with the personal link --------------
    client = browser.new_context(viewport={"width": 1280, "height": 900})
    chat = Chat(client.new_page(), servers)
    chat.page.set_default_timeout(30_000)
    chat.page.goto(f"{servers.web}/#token={raw}")
    expect(chat.widget.locator(".pk-identity")).to_have_attribute("data-state", "valid")
    chat.wait_for_greeting()
    assert "Työtehtävät työpajalla" in chat.ask("missä vaiheessa mä oon nyt?")
    day = f"{MEETING_DAY.day}.{MEETING_DAY.month}.{MEETING_DAY.year}"
    answer = chat.ask("milloin on seuraava tapaaminen?")
    assert f"{day} klo 9.30" in answer
    assert "Lahden Työpaja" in answer and "Anna Virtanen" in answer
    assert GOAL in chat.ask("mikä on minun tavoitteeni?")

    chat.ask("näytä mun polku")
    own = chat.widget.locator(".pk-own").last
    expect(own).to_contain_text(GOAL)
    expect(own).to_contain_text("Lahden Työpaja")
    assert axe_violations(chat.page) == []
    own.scroll_into_view_if_needed()
    screenshot(chat.page, "widget-oma-polku")

    # Removal asks first; only Kyllä deletes.
    assert "Haluatko" in chat.ask("poista mun tavoitteet")
    assert [i.text for i in store.own_path_items(CLIENT)] == [GOAL]
    before = chat.bot.count()
    chat.widget.get_by_role("button", name="Kyllä", exact=True).last.click()
    expect(chat.bot.nth(before)).to_contain_text("Poistin ne")
    assert store.own_path_items(CLIENT) == []
    assert "ei ole kirjoitettu" in chat.ask("mikä on mun tavoite")
    client.close()
