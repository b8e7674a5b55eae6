"""The pages a public service owes its users: /tietoa (what Polkuopas is),
/tietosuoja (the privacy notice) and /saavutettavuus (the accessibility
statement), with the county's details from settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_web_app import make_settings

from polkuopas.settings import PROJECT_ROOT
from polkuopas.web import create_app

WIDGET_SRC = PROJECT_ROOT / "web-widget" / "src"


@pytest.fixture
def client(tmp_path: Path):
    settings = make_settings(
        tmp_path,
        county_name="Kanta-Hämeen hyvinvointialue",
        county_contact="kirjaamo@omahame.example",
        privacy_officer="tietosuoja@omahame.example",
        accessibility_feedback="saavutettavuus@omahame.example",
        retention_days=45,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_privacy_notice_names_the_controller_and_every_required_part(client):
    response = client.get("/tietosuoja")
    assert response.status_code == 200
    page = response.text
    for text in [
        "Kanta-Hämeen hyvinvointialue",
        "kirjaamo@omahame.example",
        "tietosuoja@omahame.example",
        "Rekisterinpitäjä",
        "Miksi tietoja käsitellään",
        "oikeusperuste",
        "Mitä tietoja käsitellään",
        "Kuinka kauan tietoja säilytetään",
        "45 päivään",
        "Kenelle tietoja luovutetaan",
        "Sinun oikeutesi",
        "tietosuojavaltuutetulle",
    ]:
        assert text in page, text


def test_accessibility_statement_has_the_parts_the_supervisor_asks_for(client):
    page = client.get("/saavutettavuus").text
    for text in [
        "306/2019",
        "Kanta-Hämeen hyvinvointialue",
        "Täyttää saavutettavuusvaatimukset osittain",
        "Sisältö, joka ei ole saavutettavaa",
        "saavutettavuus@omahame.example",
        "Valvontaviranomainen",
        "saavutettavuusvaatimukset.fi",
    ]:
        assert text in page, text


def test_about_page_says_it_is_an_automated_assistant_and_how_to_reach_a_person(
    client,
):
    page = client.get("/tietoa").text
    assert "automaattinen avustaja" in page
    assert "ei ihminen" in page
    assert "Päätökset tekevät aina ammattilaiset" in page
    assert "haluan puhua ihmisen kanssa" in page
    assert 'href="/tietoa/nlu.md"' in page


def test_nlu_report_is_served_as_markdown(client):
    response = client.get("/tietoa/nlu.md")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.text == (PROJECT_ROOT / "reports" / "nlu.md").read_text()


@pytest.mark.parametrize("page", ["/", "/roolit", "/polut", "/upotus", "/tietoa"])
def test_every_page_links_the_three_pages_in_its_footer(client, page):
    html = client.get(page).text
    footer = html[html.index('<footer class="site-footer">') :]
    for link in ["/tietoa", "/tietosuoja", "/saavutettavuus"]:
        assert f'href="{link}"' in footer


def test_widget_strings_exist_in_finnish_swedish_and_english_with_the_same_keys():
    strings = {
        lang: json.loads((WIDGET_SRC / f"strings.{lang}.json").read_text())
        for lang in ("fi", "sv", "en")
    }
    assert list(strings["sv"]) == list(strings["fi"])
    assert list(strings["en"]) == list(strings["fi"])
    for lang, texts in strings.items():
        assert texts["lang"] == lang
        assert all(isinstance(v, str) and v for v in texts.values())
        # Placeholders survive translation.
        for key, text in texts.items():
            assert sorted(_fields(text)) == sorted(_fields(strings["fi"][key])), key


def _fields(text: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", text)
