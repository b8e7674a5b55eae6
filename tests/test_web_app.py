"""The web app through TestClient: pages, headers, CORS, the widget's files."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store
from polkuopas.web import create_app
from polkuopas.web.config import WebSettings

PATH_IDS = [
    "kuntouttava-tyotoiminta",
    "tyohonvalmennus-vammaispalvelut",
    "tyokykytiimi-asiakasvastaava",
]
PAGES = ["/", "/roolit", "/polut", "/upotus", *(f"/polut/{p}" for p in PATH_IDS)]
ORIGIN = "http://intra.example.fi"


def make_settings(tmp_path: Path, **overrides) -> WebSettings:
    values = {
        "db": tmp_path / "web.db",
        "paths_dir": PROJECT_ROOT / "paths",
        "rasa_url": "http://127.0.0.1:5005",
        "cors_origins": f"http://127.0.0.1:8000 {ORIGIN}",
        "demo": True,
        **overrides,
    }
    return WebSettings(**values)


@pytest.fixture
def client(tmp_path: Path):
    store = open_store(tmp_path / "web.db")
    list(seed_demo(Admin(store, load_catalog(PROJECT_ROOT / "paths"), "test")))
    store.db.close()
    with TestClient(create_app(make_settings(tmp_path))) as client:
        yield client


class _Page(HTMLParser):
    """What a page holds that the CSP would block or a reader would miss."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes = 0
        self.event_handlers: list[str] = []
        self.ids: list[str] = []
        self.lang: str | None = None
        self.h1 = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.inline_scripts += 1
        if tag == "style":
            self.style_elements += 1
        if tag == "html":
            self.lang = names.get("lang")
        if tag == "h1":
            self.h1 += 1
        if "style" in names:
            self.style_attributes += 1
        if names.get("id"):
            self.ids.append(names["id"])
        self.event_handlers += [n for n in names if n.startswith("on")]


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.mark.parametrize("url", PAGES)
def test_page_returns_200_html(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("url", PAGES)
def test_page_has_no_inline_code_and_unique_ids(client, url):
    page = parse(client.get(url).text)
    assert page.inline_scripts == 0
    assert page.style_elements == 0
    assert page.style_attributes == 0
    assert page.event_handlers == []
    assert len(page.ids) == len(set(page.ids))
    assert page.lang == "fi"
    assert page.h1 == 1


@pytest.mark.parametrize("url", PAGES)
def test_page_security_headers(client, url):
    headers = client.get(url).headers
    assert headers["content-security-policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; font-src 'self'; "
        "connect-src 'self' http://127.0.0.1:5005; form-action 'self'; "
        "frame-ancestors 'self'; base-uri 'none'"
    )
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["cross-origin-resource-policy"] == "same-origin"


def test_csp_allows_no_unsafe_sources(client):
    csp = client.get("/").headers["content-security-policy"]
    assert "unsafe" not in csp
    assert "*" not in csp


def test_unknown_path_page_is_a_finnish_404(client):
    response = client.get("/polut/ei-ole")
    assert response.status_code == 404
    assert "Sivua ei löytynyt" in response.text
    assert "ei-ole" not in response.text


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/ei-ole")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_demo_page_lists_the_demo_clients_and_the_widget(client):
    html = client.get("/").text
    for client_id in ("demo-valtteri", "demo-suvi", "demo-mika", "demo-paattynyt"):
        assert f'data-demo-client="{client_id}"' in html
    assert '<polkuopas-chat id="chat" server="http://127.0.0.1:5005"' in html
    assert re.search(r'<script src="/widget/polkuopas-widget.js\?v=\w+" defer>', html)


def test_demo_page_without_demo_has_no_demo_buttons(tmp_path):
    settings = make_settings(tmp_path, demo=False)
    with TestClient(create_app(settings)) as client:
        html = client.get("/").text
    assert "data-demo-client" not in html
    assert "omalla linkillä" in html


def test_role_page_lists_every_role_with_its_paths(client, catalog):
    html = client.get("/roolit").text
    for role in catalog.roles.values():
        assert f'id="rooli-{role.id}"' in html
    assert 'href="/polut/kuntouttava-tyotoiminta#step-tyotehtavat"' in html
    assert "Mitä hän ei tee" in html


def test_role_page_search_without_javascript_hides_the_rest(client):
    html = client.get("/roolit", params={"q": "työhönvalmentaja"}).text
    shown = re.findall(
        r'<article class="role" id="rooli-([a-z_]+)"[^>]*?(?<!hidden)>', html
    )
    hidden = re.findall(
        r'<article class="role" id="rooli-([a-z_]+)"[^>]* hidden>', html
    )
    assert "tyohonvalmentaja" in shown
    assert "laakari" in hidden
    assert "Haulla ”työhönvalmentaja” löytyi" in html


def test_role_page_search_escapes_the_query(client):
    html = client.get("/roolit", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_role_page_rejects_an_overlong_query(client):
    assert client.get("/roolit", params={"q": "a" * 101}).status_code == 400


def test_path_page_draws_every_step_in_order(client, catalog):
    path = catalog.path("kuntouttava-tyotoiminta")
    html = client.get(f"/polut/{path.id}").text
    ids = re.findall(r'<li class="pk-step[^"]*" id="step-([a-z_]+)"', html)
    assert ids == [s.id for s in path.ordered_steps()]
    assert html.count('class="pk-lamp"') >= 2  # pilots carry the lamp
    assert "Tästä polku jatkuu jollakin näistä tavoista:" in html


def test_path_page_is_general_not_personal(client):
    html = client.get("/polut/kuntouttava-tyotoiminta").text
    assert "aria-current" not in html.split('<ol class="pk-steps">')[1]
    for name in ("Sari Lehtonen", "Anna Virtanen", "Pekka Nieminen"):
        assert name not in html


def test_embed_page_shows_the_snippet_with_this_servers_address(client):
    html = client.get("/upotus").text
    assert (
        "&lt;script src=&#34;http://testserver/widget/polkuopas-widget.js&#34;" in html
        or '&lt;script src="http://testserver/widget/polkuopas-widget.js"' in html
    )
    for option in ("data-server", "data-title", "data-lang", "data-open", "data-path"):
        assert f"<code>{option}</code>" in html


def test_widget_files_are_served_for_other_sites(client):
    response = client.get("/widget/polkuopas-widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    css = client.get("/widget/polkuopas-widget.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"


def test_widget_file_answers_304_to_its_etag(client):
    etag = client.get("/widget/polkuopas-widget.js").headers["etag"]
    response = client.get(
        "/widget/polkuopas-widget.js", headers={"If-None-Match": etag}
    )
    assert response.status_code == 304


def test_unknown_widget_file_is_404(client):
    assert client.get("/widget/../app.py").status_code == 404
    assert client.get("/widget/nothing.js").status_code == 404


def test_cors_preflight_allows_a_configured_origin(client):
    response = client.options(
        "/api/feedback",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Authorization" in response.headers["access-control-allow-headers"]


def test_cors_refuses_another_origin(client):
    response = client.options(
        "/api/feedback",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    simple = client.get("/api/identity", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_settings_refuse_an_origin_with_a_path(tmp_path):
    with pytest.raises(ValueError, match="is not an origin"):
        make_settings(tmp_path, cors_origins="http://ok.example http://x.example/a")


def test_settings_split_origins(tmp_path):
    settings = make_settings(
        tmp_path, cors_origins="http://a.example, http://b.ex:8080/"
    )
    assert settings.origins() == ["http://a.example", "http://b.ex:8080"]
    assert make_settings(tmp_path, rasa_url="https://r.example/x/").rasa_origin() == (
        "https://r.example"
    )


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_widget_script_is_sent_compressed_and_small(client):
    response = client.get(
        "/widget/polkuopas-widget.js", headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < 20_000
    assert response.text.startswith("/*! Polkuopas chat widget")


def test_path_page_lists_sources_and_assumptions_by_id(client, catalog):
    path = catalog.path("kuntouttava-tyotoiminta")
    html = client.get(f"/polut/{path.id}").text
    for item in [*path.sources, *path.assumptions]:
        assert f'id="lahde-{item.id}"' in html
    assert path.assumptions[0].text.split()[0] in html


def test_path_page_shows_the_questions_as_the_bot_answers_them(client, catalog):
    path = catalog.path("kuntouttava-tyotoiminta")
    html = client.get(f"/polut/{path.id}").text
    assert path.questions, "the path has questions to show"
    for question in path.questions:
        section = html.split(f'id="kysymys-{question.id}"')[1].split("</section>")[0]
        assert " ".join(question.answer.split()) in " ".join(section.split())
        for source_id in question.sources:
            assert f'href="#lahde-{source_id}"' in section
    sairastuminen = html.split('id="kysymys-sairastuminen"')[1].split("</section>")[0]
    assert "Lisää kertoo ohjaaja." in sairastuminen
