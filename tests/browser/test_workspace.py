"""The workspace in Chromium: a worker signs in with the keyboard, opens a
client, moves them on and issues a personal link; axe-core finds no serious
or critical violation on the workspace's pages. Only the web app runs (no
Rasa): the chat side of the story is the rest of tests/browser."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from benchmarks.servers import Processes, demo_admin, server_env
from deploy.servers import free_port
from polkuopas.store import open_store

from .browser_stack import SECRET, screenshot
from .test_accessibility import axe_violations

pytestmark = [pytest.mark.browser]

WORKER = ("tyontekija@esimerkki.fi", "metsässä kävelee karhu")
OWNER = ("polun-omistaja@esimerkki.fi", "polut kuntoon ennen joulua")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[tuple[str, object]]:
    root = tmp_path_factory.mktemp("workspace")
    db = root / "store.db"
    with demo_admin(db) as admin:
        admin.set_staff_password("demo-tyontekija", WORKER[1])
        admin.set_staff_password("demo-polun-omistaja", OWNER[1])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes = Processes(root)
    env = server_env(db, free_port(), SECRET, POLKUOPAS_WEB_PORT=str(port))
    processes.spawn("web", [sys.executable, "-m", "polkuopas.web"], env,
                    f"{url}/health", 60)  # fmt: skip
    try:
        yield url, db
    finally:
        processes.stop_all()


def sign_in(page, base: str, who: tuple[str, str]) -> None:
    page.goto(base + "/tyotila/kirjaudu")
    page.get_by_label("Sähköpostiosoite").focus()
    page.keyboard.type(who[0])
    page.keyboard.press("Tab")
    page.keyboard.type(who[1])
    page.keyboard.press("Enter")


def test_worker_moves_a_client_and_issues_a_link(page, workspace):
    base, db = workspace
    sign_in(page, base, WORKER)
    expect(page).to_have_url(re.compile(r"/tyotila/asiakkaat$"))
    assert axe_violations(page) == []
    page.get_by_role("link", name="demo-suvi").click()
    expect(page.locator("#asiakas-step-tyotehtavat")).to_have_attribute(
        "aria-current", "step"
    )
    assert axe_violations(page) == []
    page.get_by_role("button", name="Siirrä asiakas").click()
    expect(page.get_by_role("status")).to_contain_text("siirretty")
    page.get_by_role("button", name="Luo uusi linkki").click()
    link = page.get_by_label(re.compile("linkki, voimassa")).input_value()
    raw = link.split("#token=", 1)[1]
    expect(page.get_by_role("img", name=re.compile("QR-koodi"))).to_be_visible()
    assert axe_violations(page) == []
    page.goto(base + "/tyotila/asiakkaat/demo-suvi/esitys")
    expect(page.get_by_role("link", name="Seuraava vaihe")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "tyotila-esitys")
    store = open_store(db)
    try:
        assert store.get_client("demo-suvi").current_step != "tyotehtavat"
        assert store.check_token(raw).client_id == "demo-suvi"
    finally:
        store.db.close()


def test_path_owner_sees_the_figures_only(page, workspace):
    base, _ = workspace
    sign_in(page, base, OWNER)
    expect(page).to_have_url(re.compile(r"/tyotila/polut$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Polkujen tilanne")
    assert axe_violations(page) == []
    page.goto(base + "/tyotila/asiakkaat/demo-suvi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ei käyttöoikeutta")
