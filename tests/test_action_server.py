"""The action server speaks Rasa's action-server protocol as rasa_sdk does."""

from __future__ import annotations

import json
import zlib

import pytest
from fastapi.testclient import TestClient
from rasa_sdk import Action
from rasa_sdk.interfaces import ActionExecutionRejection

from polkuopas.action_server import create_app
from polkuopas.admin import Admin
from polkuopas.bot_actions import ACTIONS
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.settings import PROJECT_ROOT, Settings
from polkuopas.store import open_store


class Rejecting(Action):
    def name(self) -> str:
        return "action_rejecting"

    def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection("action_rejecting", "not now")


class Crashing(Action):
    def name(self) -> str:
        return "action_crashing"

    def run(self, dispatcher, tracker, domain):
        raise RuntimeError("secret internals")


@pytest.fixture
def client(tmp_path):
    db = tmp_path / "server.db"
    store = open_store(db)
    list(seed_demo(Admin(store, load_catalog(PROJECT_ROOT / "paths"), "demo")))
    store.db.close()
    app = create_app(Settings(db=db))
    with TestClient(app) as test_client:
        app.state.executor.register_action(Rejecting())
        app.state.executor.register_action(Crashing())
        yield test_client


def action_call(action: str = "action_responsible", **overrides) -> dict:
    """A request shaped as Rasa 3.6 sends it."""
    body = {
        "next_action": action,
        "sender_id": "c:demo-suvi:abc",
        "tracker": {
            "sender_id": "c:demo-suvi:abc",
            "slots": {"path_id": None},
            "latest_message": {
                "intent": {"name": "ask_responsible", "confidence": 0.98},
                "entities": [
                    {"entity": "role", "value": "omatyontekija", "start": 14, "end": 27}
                ],
                "text": "kuka on mun omatyöntekijä",
                "message_id": "m1",
                "metadata": {
                    "polkuopas": {"identity": "valid", "client_id": "demo-suvi"}
                },
            },
            "latest_event_time": 1700000000.0,
            "followup_action": None,
            "paused": False,
            "events": [],
            "latest_input_channel": "rest",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
        "domain": {"version": "3.1", "intents": ["ask_responsible"]},
        "version": "3.6.21",
    }
    body.update(overrides)
    return body


def test_server_health_returns_200(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_server_list_actions_returns_200(client):
    response = client.get("/actions")
    assert response.status_code == 200
    names = [item["name"] for item in response.json()]
    assert names[: len(ACTIONS)] == [a.NAME for a in ACTIONS]


def test_server_webhook_runs_action_returns_200(client):
    response = client.post("/webhook", json=action_call())
    assert response.status_code == 200
    body = response.json()
    assert body["events"] == []
    assert [(r["polkuopas_message"], r["text"]) for r in body["responses"]] == [
        ("responsible_one", "Omatyöntekijäsi on Anna Virtanen.")
    ]


def test_server_webhook_deflate_body_returns_200(client):
    raw = zlib.compress(json.dumps(action_call()).encode())
    response = client.post(
        "/webhook",
        content=raw,
        headers={"Content-Encoding": "deflate", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["responses"][0]["name"] == "Anna Virtanen"


def test_server_webhook_without_next_action_returns_200_null(client):
    response = client.post("/webhook", json={"tracker": {"sender_id": "x"}})
    assert response.status_code == 200
    assert response.json() is None


@pytest.mark.parametrize(
    "content", [b"{not json", b"null", b"[1, 2]", b"\xff\xfe", b"", b"42"]
)
def test_server_webhook_invalid_body_returns_400(client, content):
    response = client.post(
        "/webhook", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid body request"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"tracker": None},
        {"tracker": "kuka on mun omatyöntekijä"},
        {"tracker": {"slots": {}}},
        {"tracker": {"sender_id": "x", "events": "none"}},
        {"tracker": {"sender_id": "x", "latest_message": None}},
        {"next_action": 42},
        {"domain": ["not", "a", "mapping"]},
    ],
)
def test_server_webhook_wrong_shape_returns_400_without_echo(client, overrides):
    response = client.post("/webhook", json=action_call(**overrides))
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid body request"}


def test_server_webhook_unknown_action_returns_404(client):
    response = client.post("/webhook", json=action_call("action_nobody"))
    assert response.status_code == 404
    assert response.json() == {
        "error": "No registered action found for name 'action_nobody'.",
        "action_name": "action_nobody",
    }


def test_server_webhook_rejected_action_returns_400(client):
    response = client.post("/webhook", json=action_call("action_rejecting"))
    assert response.status_code == 400
    assert response.json() == {"error": "not now", "action_name": "action_rejecting"}


def test_server_webhook_missing_domain_returns_449(client):
    body = action_call()
    del body["domain"]
    response = client.post("/webhook", json=body)
    assert response.status_code == 449
    assert response.json()["action_name"] == "action_responsible"


def test_server_webhook_crashing_action_returns_500_without_echo(client):
    response = client.post("/webhook", json=action_call("action_crashing"))
    assert response.status_code == 500
    assert response.json() == {
        "error": "The action failed.",
        "action_name": "action_crashing",
    }


@pytest.fixture
def guarded(tmp_path):
    app = create_app(Settings(db=tmp_path / "g.db", action_secret="s3cret"))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("header", [None, "", "wrong", "s3cret "])
def test_server_webhook_without_the_secret_returns_401(guarded, header):
    headers = {} if header is None else {"X-Polkuopas-Secret": header}
    response = guarded.post("/webhook", json=action_call(), headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_server_webhook_with_the_secret_returns_200(guarded):
    response = guarded.post(
        "/webhook",
        json=action_call("action_greet"),
        headers={"X-Polkuopas-Secret": "s3cret"},
    )
    assert response.status_code == 200


def test_server_webhook_other_clients_sender_reveals_nothing(client):
    """Identity comes only from the channel's metadata, never from sender_id."""
    body = action_call(sender_id="c:demo-valtteri:abc")
    body["tracker"]["sender_id"] = "c:demo-valtteri:abc"
    body["tracker"]["latest_message"]["metadata"] = {}
    response = client.post("/webhook", json=body)
    assert response.status_code == 200
    assert [r["polkuopas_message"] for r in response.json()["responses"]] == [
        "identity_missing"
    ]
