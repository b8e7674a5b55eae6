"""The workspace's admin, learning and link-slip pages in Chromium: axe-core
finds no serious or critical violation on them (an error state included), the
personal link's slip prints alone on one A4 page, and the screenshots of the
workspace for reports/screenshots/ are taken on the way. Only the web app runs
(no Rasa)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from benchmarks.servers import Processes, demo_admin, free_port, server_env
from polkuopas.store import open_store

from .browser_stack import SECRET, screenshot
from .test_accessibility import axe_violations

pytestmark = [pytest.mark.browser]

WORKER = ("tyontekija@esimerkki.fi", "metsässä kävelee karhu")
OWNER = ("polun-omistaja@esimerkki.fi", "polut kuntoon ennen joulua")
ADMIN = ("admin@esimerkki.fi", "ylläpito hoitaa tunnukset")
PATH = "kuntouttava-tyotoiminta"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("workspace-admin")
    db = root / "store.db"
    with demo_admin(db) as admin:
        for staff_id, who in (("demo-tyontekija", WORKER),
                              ("demo-polun-omistaja", OWNER),
                              ("demo-admin", ADMIN)):  # fmt: skip
            admin.set_staff_password(staff_id, who[1])
    store = open_store(db)
    try:  # what the action server and the widget would have recorded
        with store.transaction():
            for text, times, guess in (
                ("saako pajalle ottaa koiran mukaan", 3, ("ask_next_step", 0.42)),
                ("mitä jos sairastun kesken jakson", 2, ("service_sairaus", 0.55)),
            ):
                for _ in range(times):
                    store.add_unanswered("fallback", text, PATH, [guess])
            store.add_feedback("raha", False, "en ymmärtänyt vastausta",
                               client_id="demo-suvi", path_id=PATH)  # fmt: skip
            store.add_feedback("raha", True, None, path_id=PATH)
            store.add_contact_request("demo-suvi", "omatyontekija", "ph-anna")
    finally:
        store.db.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes = Processes(root)
    env = server_env(db, free_port(), SECRET, POLKUOPAS_WEB_PORT=str(port))
    processes.spawn("web", [sys.executable, "-m", "polkuopas.web"], env,
                    f"{url}/health", 60)  # fmt: skip
    try:
        yield url
    finally:
        processes.stop_all()


def shot(page, name: str, mask: list, full_page: bool = False) -> None:
    """A screenshot with the masked parts painted over."""
    path = screenshot(page, name, full_page)  # where it goes; then masked
    page.screenshot(path=str(path), full_page=full_page, mask=mask)


def sign_in(page, base: str, who: tuple[str, str]) -> None:
    page.goto(base + "/tyotila/kirjaudu")
    page.get_by_label("Sähköpostiosoite").fill(who[0])
    page.get_by_label("Salasana").fill(who[1])
    page.get_by_role("button", name="Kirjaudu").click()
    expect(page.get_by_role("button", name=re.compile("Kirjaudu ulos"))).to_be_visible()


def test_admin_pages_have_no_serious_violations(page, workspace):
    page.goto(workspace + "/tyotila/kirjaudu")
    screenshot(page, "tyotila-kirjaudu")
    sign_in(page, workspace, ADMIN)
    for url, name in (
        ("/tyotila/henkilosto", "tyotila-kayttajat"),
        ("/tyotila/henkilosto/demo-polun-omistaja", "tyotila-kayttaja"),
        ("/tyotila/ammattilaiset", "tyotila-ammattilaiset"),
        ("/tyotila/ammattilaiset/ph-anna", None),
        ("/tyotila/uusi-asiakas", "tyotila-uusi-asiakas"),
        ("/tyotila/yhteydenotot", "tyotila-yhteydenotot"),
        ("/tyotila/jalkikontaktit", "tyotila-jalkikontaktit"),
    ):
        page.goto(workspace + url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert axe_violations(page) == [], url
        if name:
            screenshot(page, name)
    # An error: a worker account without a professional record.
    page.goto(workspace + "/tyotila/henkilosto")
    page.get_by_label("Tunnus", exact=True).fill("uusi-tyontekija")
    page.get_by_label("Nimi", exact=True).fill("Ulla Uusi")
    page.get_by_label("Sähköposti (kirjautumistunnus)").fill("ulla@esimerkki.fi")
    page.get_by_label("Rooli", exact=True).select_option("tyontekija")
    page.get_by_role("button", name="Lisää käyttäjä").click()
    expect(page.get_by_role("alert")).to_contain_text("valita ammattilainen")
    expect(page.get_by_label("Nimi", exact=True)).to_have_value("Ulla Uusi")
    assert axe_violations(page) == []
    # With the professional: added, then a password set on the member's page.
    page.get_by_label("Ammattilainen (työntekijälle pakollinen)").select_option(
        "ph-anna"
    )
    page.get_by_role("button", name="Lisää käyttäjä").click()
    expect(page.get_by_role("status")).to_contain_text("Käyttäjä on lisätty")
    page.get_by_label("Uusi salasana", exact=True).fill("kesä tulee taas pian")
    page.get_by_label("Salasana uudelleen").fill("kesä tulee taas pian")
    page.get_by_role("button", name="Aseta salasana").click()
    expect(page.get_by_role("status")).to_contain_text("Uusi salasana on asetettu")


def test_path_owner_learns_from_the_conversations(page, workspace):
    sign_in(page, workspace, OWNER)
    page.get_by_role("link", name="Oppiminen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("voi oppia")
    page.get_by_role(
        "link", name=re.compile("Suvin polku|kuntouttava", re.I)
    ).first.click()
    row = page.get_by_role("row", name=re.compile("saako pajalle ottaa koiran"))
    expect(row).to_contain_text("3")
    expect(
        page.get_by_role("row", name=re.compile("en ymmärtänyt vastausta"))
    ).to_be_visible()
    assert "demo-suvi" not in page.content()
    assert axe_violations(page) == []
    screenshot(page, "tyotila-oppiminen", full_page=True)


def test_link_slip_prints_alone_on_one_a4_page(page, workspace):
    sign_in(page, workspace, WORKER)
    screenshot(page, "tyotila-omat-asiakkaat")
    page.get_by_role("link", name="demo-suvi").click()
    screenshot(page, "tyotila-asiakas")
    page.get_by_role("button", name="Luo uusi linkki").click()
    slip = page.locator(".slip")
    expect(slip).to_contain_text("Sinun oma linkkisi Polkuoppaaseen")
    expect(slip).to_contain_text("Anna Virtanen")
    assert axe_violations(page) == []
    # The pictures for reports/ do not show the link: its token, its QR code.
    secret = [page.locator("#linkki"), page.locator(".slip__link"), page.locator("svg")]
    shot(page, "tyotila-linkki", secret, full_page=True)
    page.emulate_media(media="print")
    expect(slip).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_label(re.compile("linkki, voimassa"))).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    shot(page, "tyotila-linkki-tuloste", secret)
