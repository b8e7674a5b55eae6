"""The web app's JSON API: identity, feedback, path pictures, demo tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from polkuopas.admin import Admin
from polkuopas.answers import path_payload
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import now_utc, open_store
from polkuopas.web import create_app
from polkuopas.web.api import scrub
from polkuopas.web.config import WebSettings

HOSTILE = [
    "<script>alert(1)</script>",
    "'; DROP TABLE feedback; --",
    "../../etc/passwd",
    "x" * 65,
    "Topic",
    "",
    "\u202eevil",
]


class App:
    def __init__(self, root: Path, demo: bool = True, seed: bool = True):
        self.db = root / "api.db"
        self.store = open_store(self.db)
        self.admin = Admin(self.store, load_catalog(PROJECT_ROOT / "paths"), "test")
        if seed:
            list(seed_demo(self.admin))
        settings = WebSettings(db=self.db, paths_dir=PROJECT_ROOT / "paths", demo=demo)
        self.client = TestClient(create_app(settings))

    def feedback_rows(self) -> list[dict]:
        return list(
            self.store.db.query(
                "SELECT topic, helpful, comment, client_id, path_id FROM feedback"
            )
        )

    def bearer(self, client_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin.issue_token(client_id, 1)}"}


@pytest.fixture
def app(tmp_path: Path):
    app = App(tmp_path)
    with app.client:
        yield app
    app.store.db.close()


# --- identity ---------------------------------------------------------------


def test_identity_without_a_token_is_none(app):
    assert app.client.get("/api/identity").json() == {"identity": "none"}


def test_identity_with_a_good_token_is_valid_and_names_no_one(app):
    response = app.client.get("/api/identity", headers=app.bearer("demo-suvi"))
    assert response.json() == {"identity": "valid"}
    assert response.headers["cache-control"] == "no-store"


def test_identity_with_a_revoked_token_is_revoked(app):
    headers = app.bearer("demo-suvi")
    app.admin.revoke_tokens("demo-suvi")
    assert app.client.get("/api/identity", headers=headers).json() == {
        "identity": "revoked"
    }


@pytest.mark.parametrize(
    "header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer x", "Bearer " + "A" * 43]
)
def test_identity_with_a_bad_header_is_none(app, header):
    response = app.client.get("/api/identity", headers={"Authorization": header})
    assert response.json() == {"identity": "none"}


def test_identity_is_checked_once_a_request(app, monkeypatch):
    # The rate limit and the route share one look-up of the token.
    store = app.client.app.state.store
    checked = []
    check_token = type(store).check_token

    def counting(self, raw, now=None):
        checked.append(raw)
        return check_token(self, raw, now)

    monkeypatch.setattr(type(store), "check_token", counting)
    response = app.client.post(
        "/api/feedback",
        json={"topic": "askel", "helpful": True},
        headers=app.bearer("demo-suvi"),
    )
    assert response.status_code == 201
    assert len(checked) == 1


# --- feedback ---------------------------------------------------------------


def test_feedback_helpful_from_an_identified_client_keeps_only_the_pseudonym(app):
    response = app.client.post(
        "/api/feedback",
        json={"topic": "responsible_one", "helpful": True},
        headers=app.bearer("demo-suvi"),
    )
    assert response.status_code == 201
    assert app.feedback_rows() == [
        {
            "topic": "responsible_one",
            "helpful": 1,
            "comment": None,
            "client_id": "demo-suvi",
            "path_id": "kuntouttava-tyotoiminta",
        }
    ]


def test_feedback_path_comes_from_the_clients_own_path_not_the_body(app):
    body = {"topic": "path_overview", "helpful": False}
    body["path_id"] = "tyohonvalmennus-vammaispalvelut"
    app.client.post("/api/feedback", json=body, headers=app.bearer("demo-suvi"))
    assert app.feedback_rows()[0]["path_id"] == "kuntouttava-tyotoiminta"


def test_feedback_anonymous_with_a_path(app):
    body = {"topic": "path_overview", "helpful": False}
    body["path_id"] = "kuntouttava-tyotoiminta"
    response = app.client.post("/api/feedback", json=body)
    assert response.status_code == 201
    assert app.feedback_rows() == [
        {
            "topic": "path_overview",
            "helpful": 0,
            "comment": None,
            "client_id": None,
            "path_id": "kuntouttava-tyotoiminta",
        }
    ]


def test_feedback_comment_is_stored_without_personal_data(app):
    comment = "Hyvä! Soita 040 123 4567 tai maili matti.m@example.fi, hetu 010203-123A."
    app.client.post("/api/feedback", json={"topic": "comment", "comment": comment})
    assert app.feedback_rows()[0]["comment"] == (
        "Hyvä! Soita [puhelinnumero] tai maili [sähköposti], hetu [henkilötunnus]."
    )


def test_feedback_comment_html_is_kept_as_plain_text(app):
    text = "<img src=x onerror=alert(1)>"
    app.client.post("/api/feedback", json={"topic": "comment", "comment": text})
    assert app.feedback_rows()[0]["comment"] == text


def test_feedback_with_a_revoked_token_is_anonymous(app):
    headers = app.bearer("demo-suvi")
    app.admin.revoke_tokens("demo-suvi")
    app.client.post(
        "/api/feedback", json={"topic": "x", "helpful": True}, headers=headers
    )
    assert app.feedback_rows()[0]["client_id"] is None


@pytest.mark.parametrize("topic", HOSTILE)
def test_feedback_hostile_topic_is_400_without_echo(app, topic):
    response = app.client.post("/api/feedback", json={"topic": topic, "helpful": True})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid request", "fields": ["topic"]}
    assert app.feedback_rows() == []


@pytest.mark.parametrize(
    "body",
    [
        {"topic": "x", "helpful": "yes"},
        {"topic": "x", "helpful": 1},
        {"topic": "x", "comment": "a" * 1001},
        {"topic": "x", "comment": 42},
        {"topic": "x", "helpful": True, "client_id": "demo-suvi"},
        {"topic": "x", "helpful": True, "path_id": "<b>"},
        {"helpful": True},
        [],
        "moi",
    ],
)
def test_feedback_invalid_body_is_400(app, body):
    response = app.client.post("/api/feedback", json=body)
    assert response.status_code == 400
    assert "moi" not in response.text
    assert "demo-suvi" not in response.text
    assert app.feedback_rows() == []


def test_feedback_without_helpful_or_comment_is_400(app):
    for body in ({"topic": "x"}, {"topic": "x", "comment": "   \x00 "}):
        response = app.client.post("/api/feedback", json=body)
        assert response.status_code == 400
    assert app.feedback_rows() == []


def test_feedback_unknown_path_is_400(app):
    response = app.client.post(
        "/api/feedback", json={"topic": "x", "helpful": True, "path_id": "ei-ole"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "unknown path_id"}


def test_feedback_body_that_is_not_json_is_400(app):
    response = app.client.post(
        "/api/feedback",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_feedback_oversized_body_is_413(app):
    body = '{"topic": "x", "comment": "' + "a" * 20_000 + '"}'
    response = app.client.post(
        "/api/feedback", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert app.feedback_rows() == []


def test_feedback_report_sees_web_feedback(app):
    app.client.post("/api/feedback", json={"topic": "responsible_one", "helpful": True})
    app.client.post(
        "/api/feedback", json={"topic": "responsible_one", "helpful": False}
    )
    assert app.store.feedback_summary() == [
        {
            "topic": "responsible_one",
            "path_id": "-",
            "helpful": 1,
            "not_helpful": 1,
            "comments": 0,
        }
    ]


def test_scrub_keeps_dates_and_short_numbers():
    text = "Tapaaminen 12.3.2026 klo 9, huone 204, 3 kertaa."
    assert scrub(text) == text


def test_scrub_removes_control_and_direction_characters():
    assert scrub("a\u202eb\x07c\nd") == "abc\nd"


# --- path pictures -------------------------------------------------------------


def test_path_picture_is_the_general_payload(app, catalog):
    response = app.client.get("/api/polut/kuntouttava-tyotoiminta")
    path = catalog.path("kuntouttava-tyotoiminta")
    assert response.json() == path_payload(catalog, path, None)


def test_path_picture_unknown_is_404(app):
    response = app.client.get("/api/polut/ei-ole")
    assert response.status_code == 404
    assert response.json() == {"error": "unknown path"}


# --- demo tokens -------------------------------------------------------------


def test_demo_token_is_valid_for_the_demo_client_for_two_hours(app):
    response = app.client.post("/api/demo-token", json={"client": "demo-valtteri"})
    assert response.status_code == 200
    body = response.json()
    check = app.store.check_token(body["token"])
    assert (check.status, check.client_id) == ("valid", "demo-valtteri")
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=1, minutes=59) < expires - now_utc() <= timedelta(hours=2)
    assert response.headers["cache-control"] == "no-store"


def test_demo_token_is_audited_without_the_token(app):
    token = app.client.post("/api/demo-token", json={"client": "demo-suvi"}).json()
    entries = app.store.audit_entries("demo-suvi")
    assert entries[-1]["action"] == "issue-demo-token"
    assert token["token"] not in str(entries)


@pytest.mark.parametrize("client_id", ["asiakas-0042", "demo-", "", "<x>", "a" * 65])
def test_demo_token_for_a_non_demo_client_is_refused(app, client_id):
    app.admin.add_client("asiakas-0042", "kuntouttava-tyotoiminta")
    response = app.client.post("/api/demo-token", json={"client": client_id})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_demo_token_with_extra_fields_is_400(app):
    response = app.client.post(
        "/api/demo-token", json={"client": "demo-suvi", "days": 365}
    )
    assert response.status_code == 400


def test_demo_token_when_the_demo_is_off_is_404(tmp_path):
    app = App(tmp_path, demo=False)
    with app.client:
        response = app.client.post("/api/demo-token", json={"client": "demo-suvi"})
    assert response.status_code == 404
    assert app.store.db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0] == 0


def test_demo_token_when_the_demo_data_is_missing_is_409(tmp_path):
    app = App(tmp_path, seed=False)
    with app.client:
        response = app.client.post("/api/demo-token", json={"client": "demo-suvi"})
    assert response.status_code == 409
    assert "polkuopas demo" in response.json()["error"]
