"""`make run-scaled`: the scale-out shape started by the same code
(deploy/run_scaled.py), and conversations through it.

The first tests check, without servers, that the target reads the files
deploy/compose.yml reads (one nginx.conf, one endpoints.yml). The rest start
the whole shape (PostgreSQL, Redis, two action servers, two Rasa servers, the
web app, nginx; a few minutes) and talk to it through nginx, and to each Rasa
server directly, turn by turn.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import psycopg
import pytest
import yaml

from deploy.run_scaled import (
    ENDPOINTS,
    NGINX,
    NGINX_SOURCE,
    RASA_SERVICES,
    Scaled,
    render_nginx,
    running,
)
from deploy.servers import (
    REDIS_SERVER,
    Missing,
    free_port,
    postgres_bin,
    require_model,
)
from polkuopas.settings import PROJECT_ROOT

from .servers import start_or_skip

COMPOSE = PROJECT_ROOT / "deploy" / "compose.yml"
ENDPOINT_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def compose_rasa_services() -> dict[str, dict]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    return {
        name: service
        for name, service in services.items()
        if service.get("build", {}).get("dockerfile") == "deploy/rasa.Dockerfile"
    }


# --- one set of files --------------------------------------------------------


def test_nginx_copy_changes_only_the_addresses(tmp_path):
    source = NGINX_SOURCE.read_text()
    rendered = render_nginx(
        source, port=18080, rasa=[15001, 15002], web=18000, root=tmp_path
    )
    diff = list(difflib.ndiff(source.splitlines(), rendered.splitlines()))
    removed = [line[2:].strip() for line in diff if line.startswith("- ")]
    added = [line[2:].strip() for line in diff if line.startswith("+ ")]
    assert removed == [
        "pid /tmp/nginx.pid;",
        "server rasa-1:5005 max_fails=3 fail_timeout=10s;",
        "server rasa-2:5005 max_fails=3 fail_timeout=10s;",
        "server web:8000;",
        "listen 8080;",
    ]
    assert added == [
        f"pid {tmp_path}/nginx.pid;",
        f"error_log {tmp_path}/log/nginx.log;",
        "server 127.0.0.1:15001 max_fails=3 fail_timeout=10s;",
        "server 127.0.0.1:15002 max_fails=3 fail_timeout=10s;",
        "server 127.0.0.1:18000;",
        "listen 127.0.0.1:18080;",
    ]


def test_run_scaled_starts_every_rasa_service_of_compose():
    assert set(RASA_SERVICES) == set(compose_rasa_services())


def test_rasa_gets_what_the_compose_rasa_services_get(tmp_path):
    scaled = Scaled(tmp_path, 18080)
    scaled.postgres = SimpleNamespace(port=5432, password="pw")
    scaled.redis = SimpleNamespace(port=6379, password="pw")
    env = scaled.rasa_env(SimpleNamespace(url="http://127.0.0.1:5055"))
    for name, service in compose_rasa_services().items():
        assert set(service["environment"]) - set(env) == set(), name
    lines = ENDPOINTS.read_text().splitlines()
    code = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    assert set(ENDPOINT_VAR.findall(code)) - set(env) == set()
    assert ENDPOINTS == PROJECT_ROOT / "deploy" / "endpoints.yml"


def test_both_rasa_servers_get_the_whole_time_limit(tmp_path, monkeypatch):
    # The two Rasa servers load at once; the second one's wait counts from its
    # own launch, not from what is left after the first one's. Stand-ins
    # that answer the health URL after 1.5 s, under a limit of 2.5 s.
    import sys

    from deploy import run_scaled

    site = tmp_path / "site"
    (site / "webhooks" / "rest").mkdir(parents=True)
    (site / "webhooks" / "rest" / "index.html").write_text("ok")
    model = tmp_path / "model.tar.gz"
    model.write_text("")

    def stand_in(endpoints, credentials, port, *extra):
        code = (
            "import functools, http.server, sys, time; time.sleep(1.5); "
            "h = functools.partial(http.server.SimpleHTTPRequestHandler, "
            f"directory={str(site)!r}); "
            "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), h)"
            ".serve_forever()"
        )
        return [sys.executable, "-c", code, str(port)]

    monkeypatch.setattr(run_scaled, "MODEL", model)
    monkeypatch.setattr(run_scaled, "RASA_LIMIT", 2.5)
    monkeypatch.setattr(run_scaled, "rasa_command", stand_in)
    scaled = Scaled(tmp_path / "shape", 18080, say=lambda line: None)
    scaled.log.mkdir(parents=True)
    scaled.postgres = SimpleNamespace(port=5432, password="pw")
    scaled.redis = SimpleNamespace(port=6379, password="pw")
    actions = [SimpleNamespace(url=f"http://127.0.0.1:{n}") for n in (1, 2)]
    try:
        scaled.start_rasa(actions)
        assert all(scaled.servers[name].up() for name in RASA_SERVICES)
    finally:
        for server in scaled.servers.values():
            server.stop()


# --- the shape running ---------------------------------------------------------


def binaries_installed() -> None:
    postgres_bin()
    for binary in (REDIS_SERVER, NGINX):
        if not binary.exists():
            raise Missing(f"{binary} is missing: `make scaleout-deps` installs it")


@pytest.fixture(scope="module")
def scaled() -> Iterator[Scaled]:
    require_model()
    start_or_skip(binaries_installed, "make run-scaled")
    # Not in pytest's own folders (0700): as root, PostgreSQL runs as the
    # `postgres` user, which must reach its cluster's folder.
    folder = Path(tempfile.mkdtemp(prefix="polkuopas-scaled-"))
    folder.chmod(0o755)
    try:
        with running(folder / "scaled", free_port(), say=print) as shape:
            yield shape
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ask(url: str, message: str, token: str | None = None, sender: str = "s1"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        url + "/webhooks/rest/webhook",
        json={"sender": sender, "message": message},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return "\n".join(m.get("text") or "" for m in response.json())


def tracker_events(scaled: Scaled, conversation: str) -> list[dict]:
    with psycopg.connect(scaled.postgres.url()) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = %s ORDER BY id", (conversation,)
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


def suvis_conversations(scaled: Scaled) -> set[str]:
    with psycopg.connect(scaled.postgres.url()) as db:
        rows = db.execute(
            "SELECT DISTINCT sender_id FROM events WHERE sender_id LIKE %s",
            ("c:demo-suvi:%",),
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.rasa
def test_pages_and_chat_share_the_one_address(scaled):
    page = httpx.get(scaled.url + "/", timeout=10)
    assert page.status_code == 200
    assert httpx.get(scaled.url + "/webhooks/rest/", timeout=10).status_code == 200


@pytest.mark.rasa
def test_personal_answer_names_the_clients_own_professional(scaled):
    token = scaled.issue_token("demo-suvi")
    # Twice: round robin sends one of them to each Rasa server.
    for _ in range(2):
        assert "Sari Lehtonen" in ask(
            scaled.url, "kuka on minun työvalmentajani?", token
        )


@pytest.mark.rasa
def test_another_clients_token_cannot_read_the_conversation(scaled):
    suvi, valtteri = (
        scaled.issue_token("demo-suvi"),
        scaled.issue_token("demo-valtteri"),
    )
    ask(scaled.url, "kuka on minun työvalmentajani?", suvi, "shared")
    for _ in range(2):
        text = ask(scaled.url, "kuka on minun työhönvalmentajani?", valtteri, "shared")
        assert "Jenni Koskinen" in text
        for other in ("Sari Lehtonen", "Anna Virtanen"):
            assert other not in text
    assert tracker_events(scaled, "c:demo-suvi:shared")
    assert tracker_events(scaled, "c:demo-valtteri:shared")


@pytest.mark.rasa
def test_a_conversation_alternating_between_the_servers_keeps_its_turns(scaled):
    token = scaled.issue_token("demo-suvi")
    first, second = scaled.rasa_urls
    # The contact offer made by one server is confirmed on the other.
    ask(first, "voisko joku soittaa mulle", token, "alternating")
    ask(second, "kyllä kiitos", token, "alternating")
    ask(first, "kiitos", token, "alternating")
    events = tracker_events(scaled, "c:demo-suvi:alternating")
    said = [e["text"] for e in events if e["event"] == "user"]
    assert said == ["voisko joku soittaa mulle", "kyllä kiitos", "kiitos"]
    actions = [
        e["name"]
        for e in events
        if e["event"] == "action"
        and e["name"].startswith(("action_request", "action_c"))
    ]
    assert actions == ["action_request_human", "action_confirm_contact"]


@pytest.mark.rasa
def test_one_action_server_down_leaves_the_other_rasa_server_answering(scaled):
    token = scaled.issue_token("demo-suvi")
    question = "kuka on minun työvalmentajani?"
    first, second = scaled.rasa_urls
    action = scaled.servers["action-1"]  # the one Rasa server 1 calls
    action.stop()
    try:
        started = time.monotonic()
        text = ask(first, question, token, "outage")
        assert time.monotonic() - started < 8
        assert text.startswith("En pysty juuri nyt hakemaan tietojasi.")
        assert "Sari Lehtonen" in ask(second, question, token, "outage")
    finally:
        action.start(60)
    assert "Sari Lehtonen" in ask(first, question, token, "outage")


@pytest.mark.rasa
@pytest.mark.browser
def test_the_widget_through_nginx_with_a_personal_link(scaled):
    # Debian's Chromium (tests/browser), on the page nginx serves, talking to
    # the Rasa servers through the same nginx.
    from browser.browser_stack import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    token = scaled.issue_token("demo-suvi")
    questions = ["kuka on minun työvalmentajani?", "kuka on minun työvalmentajani?"]
    before = suvis_conversations(scaled)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(locale="fi-FI")
            page.set_default_timeout(20_000)
            # The address `make run-scaled` tells people to open.
            page.goto(f"http://localhost:{scaled.port}/#token={token}")
            assert token not in page.url
            # The demo page has the widget open on it.
            widget = page.locator("polkuopas-chat").first
            expect(widget.locator(".pk-identity")).to_have_attribute(
                "data-state", "valid"
            )
            bot = widget.locator(".pk-msg--bot .pk-bubble")
            expect(bot.first).to_contain_text("Olen Polkuopas")
            for number, question in enumerate(questions, start=1):
                widget.locator(".pk-input").fill(question)
                widget.locator(".pk-input").press("Enter")
                expect(bot.nth(number)).to_contain_text("Sari Lehtonen")
                expect(widget.locator(".pk-log")).to_have_attribute(
                    "aria-busy", "false"
                )
        finally:
            browser.close()
    # Both turns kept, in order, in the one new conversation in PostgreSQL.
    senders = suvis_conversations(scaled) - before
    assert len(senders) == 1, senders
    said = [
        e["text"] for e in tracker_events(scaled, senders.pop()) if e["event"] == "user"
    ]
    # The widget's own greeting first (its payload), then the two questions.
    assert said == ["/greet", *questions]
    logs = b"".join(p.read_bytes() for p in scaled.log.glob("*.log"))
    assert token.encode() not in logs
