"""What the action server keeps for the path owners' learning pages: a message
the assistant did not understand or answered with low confidence, its personal
data masked, with the path (from the identity) and the best guesses, and no
client id; on both client stores."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import test_actions
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from conftest import BACKENDS
from polkuopas.bot_actions import (
    ActionCurrentStep,
    ActionFallback,
    ActionOutOfScope,
    ActionResponsible,
)
from polkuopas.store import iso, now_utc

STORE_BACKENDS = BACKENDS
services = test_actions.services  # the demo clients on the real paths


def tracker(
    text: str,
    intent: str,
    confidence: float,
    client: str | None = "demo-suvi",
    ranking: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    path_id: str | None = None,
) -> Tracker:
    entities = [{"entity": "path_id", "value": path_id}] if path_id else []
    return Tracker.from_dict(
        {
            "sender_id": "test",
            "slots": {},
            "latest_message": {
                "intent": {"name": intent, "confidence": confidence},
                "entities": entities,
                "text": text,
                "intent_ranking": ranking or [],
                "metadata": {
                    "polkuopas": {
                        "identity": "valid" if client else "none",
                        "client_id": client,
                    }
                },
            },
            "events": events or [],
        }
    )


async def run(action_class, services, tracker: Tracker) -> None:
    await action_class(services).run(CollectingDispatcher(), tracker, {})


def notes(store) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT * FROM unanswered ORDER BY id"))


MISS = [
    {"name": "nlu_fallback", "confidence": 0.7},
    {"name": "ask_contact", "confidence": 0.45},
    {"name": "request_human", "confidence": 0.4},
    {"name": "greet", "confidence": 0.1},
]


async def test_a_miss_is_kept_masked_with_the_path_and_no_client(services):
    text = "voiko joku soittaa numeroon 040 123 4567 tai hetu 131052-308T"
    await run(
        ActionFallback, services, tracker(text, "nlu_fallback", 0.7, ranking=MISS)
    )
    [note] = notes(services.store)
    assert note["kind"] == "fallback"
    assert note["path_id"] == "kuntouttava-tyotoiminta"
    assert "040 123 4567" not in note["text"] and "131052-308T" not in note["text"]
    assert note["text"].startswith("voiko joku soittaa numeroon ")
    assert (note["intent"], note["confidence"]) == ("ask_contact", 0.45)
    assert note["second_intent"] == "request_human"
    assert not any("client" in column for column in note)
    assert "demo-suvi" not in " ".join(str(v) for v in note.values())


async def test_low_confidence_answer_is_kept_and_a_sure_one_is_not(services):
    await run(ActionCurrentStep, services, tracker("missä mennään", "ask_current_step",
                                                   0.95))  # fmt: skip
    assert notes(services.store) == []
    await run(ActionCurrentStep, services, tracker("mites nyt", "ask_current_step",
                                                   0.72))  # fmt: skip
    [note] = notes(services.store)
    assert (note["kind"], note["text"]) == ("low_confidence", "mites nyt")


async def test_an_unsure_i_cannot_answer_that_is_kept_and_a_sure_one_is_not(
    services,
):
    ranking = [
        {"name": "out_of_scope", "confidence": 0.41},
        {"name": "service_kesto", "confidence": 0.3},
    ]
    dispatcher = CollectingDispatcher()
    await ActionOutOfScope(services).run(
        dispatcher, tracker("paljonko lomaa saa", "out_of_scope", 0.97), {}
    )
    assert dispatcher.messages[0]["text"].startswith("En osaa vastata tähän.")
    assert notes(services.store) == []
    await run(ActionOutOfScope, services, tracker(
        "kauanko tää kestää", "out_of_scope", 0.41, ranking=ranking))  # fmt: skip
    [note] = notes(services.store)
    assert (note["kind"], note["text"]) == ("low_confidence", "kauanko tää kestää")
    assert (note["intent"], note["second_intent"]) == ("out_of_scope", "service_kesto")


async def test_button_payloads_and_a_second_action_of_a_turn_keep_nothing(services):
    await run(ActionFallback, services,
              tracker("/something_else", "something_else", 1.0))  # fmt: skip
    events = [{"event": "user", "text": "epäselvä"},
              {"event": "action", "name": "action_fallback"}]  # fmt: skip
    await run(ActionResponsible, services,
              tracker("epäselvä", "nlu_fallback", 0.7, events=events))  # fmt: skip
    assert notes(services.store) == []


async def test_without_identity_the_path_asked_about_is_kept(services):
    await run(ActionFallback, services, tracker(
        "entäs lomat", "nlu_fallback", 0.7, client=None,
        path_id="tyokykytiimi-asiakasvastaava"))  # fmt: skip
    await run(ActionFallback, services, tracker(
        "ihan muuta", "nlu_fallback", 0.7, client=None))  # fmt: skip
    assert [(n["path_id"], n["text"]) for n in notes(services.store)] == [
        ("tyokykytiimi-asiakasvastaava", "entäs lomat"),
        (None, "ihan muuta"),
    ]


async def test_notes_past_the_retention_go_as_new_ones_come(services):
    store = services.store
    with store.transaction():
        store.add_unanswered("fallback", "vanha", "kuntouttava-tyotoiminta", [])
        store.db.execute(
            "UPDATE unanswered SET created_at = ?", ["2020-01-01T00:00:00+00:00"]
        )
    await run(ActionFallback, services, tracker("uusi", "nlu_fallback", 0.7))
    assert [n["text"] for n in notes(store)] == ["uusi"]
    assert notes(store)[0]["created_at"] <= iso(now_utc())


@pytest.mark.sqlite_only
async def test_a_failed_note_loses_the_note_not_the_answer(services, caplog):
    # A view in the table's place: every insert fails.
    services.store.db.execute("DROP TABLE unanswered")
    services.store.db.execute("CREATE VIEW unanswered AS SELECT 1 AS id")
    dispatcher = CollectingDispatcher()
    text = "salainen 040 123 4567"
    with caplog.at_level(logging.DEBUG, logger="polkuopas.actions"):
        await ActionFallback(services).run(
            dispatcher, tracker(text, "nlu_fallback", 0.7), {}
        )
    assert dispatcher.messages  # answered
    assert "could not keep a learning note" in caplog.text
    assert "salainen" not in caplog.text
