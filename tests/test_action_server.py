"""The action server speaks Rasa's action-server protocol as rasa_sdk does."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError
from rasa_sdk import Action
from rasa_sdk.interfaces import ActionExecutionRejection

from polkuopas.action_server import create_app, valid_shape
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


def test_server_webhook_other_methods_return_405(client):
    assert client.get("/webhook").status_code == 405
    assert client.put("/webhook", json=action_call()).status_code == 405


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
        {"tracker": []},
        {"tracker": {"sender_id": 42}},
        {"tracker": {"sender_id": None}},
        {"tracker": {"sender_id": "x", "slots": []}},
        {"tracker": {"sender_id": "x", "slots": None}},
        {"tracker": {"sender_id": "x", "latest_message": "moi"}},
        {"tracker": {"sender_id": "x", "events": None}},
        {"tracker": {"sender_id": "x", "events": {"event": "user"}}},
        {"tracker": {"sender_id": "x", "events": [{"event": "user"}, 1]}},
        {"tracker": {"sender_id": "x", "events": [None]}},
        {"next_action": 42},
        {"next_action": True},
        {"next_action": ["action_responsible"]},
        {"domain": ["not", "a", "mapping"]},
        {"domain": "3.1"},
        {"domain": 0},
    ],
)
def test_server_webhook_wrong_shape_returns_400_without_echo(client, overrides):
    response = client.post("/webhook", json=action_call(**overrides))
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid body request"}


def test_server_webhook_minimal_tracker_returns_200(client):
    """`slots`, `latest_message` and `events` may be missing; extra keys pass."""
    body = action_call("action_greet", extra={"any": [1, 2]})
    body["tracker"] = {"sender_id": "x", "unknown": None}
    response = client.post("/webhook", json=body)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbf" + json.dumps(action_call()).encode(),  # UTF-8 BOM
        json.dumps(action_call()).encode("utf-16"),
    ],
)
def test_server_webhook_reads_what_json_reads_returns_200(client, raw):
    response = client.post(
        "/webhook", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["responses"][0]["name"] == "Anna Virtanen"


def test_server_webhook_deeply_nested_body_returns_400(client):
    nested = b'{"domain": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post(
        "/webhook", content=nested, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid body request"}


# The request models the server validated with before its shape check became
# plain `isinstance` tests (reports/bench.md, change 12): the reference for
# what it must accept and refuse.
class _TrackerModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    sender_id: str
    slots: dict[str, Any] = {}
    latest_message: dict[str, Any] = {}
    events: list[dict[str, Any]] = []


class _ActionCallModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    next_action: str | None = None
    tracker: _TrackerModel | None = None
    domain: dict[str, Any] | None = None


def models_accept(call: dict) -> bool:
    try:
        _ActionCallModel.model_validate(call)
    except ValidationError:
        return False
    return True


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=4), json_values, max_size=3)


@st.composite
def objects(draw, fields: dict) -> dict:
    """A JSON object with each of `fields` present two times out of three."""
    return {
        key: draw(values)
        for key, values in fields.items()
        if draw(st.sampled_from([True, True, False]))
    }


valid_calls = objects(
    {
        "next_action": st.text(max_size=4) | st.none(),
        "tracker": st.none()
        | objects(
            {
                "sender_id": st.text(max_size=4),
                "slots": json_objects,
                "latest_message": json_objects,
                "events": st.lists(json_objects, max_size=3),
                "paused": json_values,
            }
        ),
        "domain": json_objects | st.none(),
        "version": json_values,
    }
)
# Where one value of a valid call is replaced by any JSON value.
PLACES = [
    (),
    ("next_action",),
    ("domain",),
    ("tracker",),
    ("tracker", "sender_id"),
    ("tracker", "slots"),
    ("tracker", "latest_message"),
    ("tracker", "events"),
    ("tracker", "events", 0),
]


@st.composite
def action_calls(draw) -> dict:
    """A valid action call, or one with a single value of any JSON type."""
    call = draw(valid_calls)
    place = draw(st.sampled_from(PLACES))
    if place:
        *parents, last = place
        target = call
        for key in parents:
            if not isinstance(target.get(key), dict | list):
                target[key] = {"sender_id": "x", "events": [{}]}
            target = target[key]
        if isinstance(target, list) and not target:
            target.append({})
        target[last] = draw(json_values)
    return call


@settings(max_examples=300)
@given(call=action_calls())
def test_shape_check_accepts_exactly_what_the_models_accepted(call):
    assert valid_shape(call) == models_accept(call)


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
