"""The custom actions: a tracker from JSON in, the exact responses out.

The store holds the demo clients (Valtteri, Suvi, the team client Mika and an
ended client); each test asks as one of them, or as nobody.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from conftest import BACKENDS, write_catalog
from polkuopas.admin import Admin
from polkuopas.bot_actions import (
    ActionConfirmContact,
    ActionContact,
    ActionCurrentStep,
    ActionFallback,
    ActionFollowUp,
    ActionGreet,
    ActionNextStep,
    ActionOutOfScope,
    ActionPathOverview,
    ActionRequestHuman,
    ActionResponsible,
    ActionRoleDefinition,
    ActionServiceQuestion,
    Services,
)
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.messages import Messages

TODAY = date(2026, 11, 23)
STORE_BACKENDS = BACKENDS  # every action on both client stores (conftest.py)


@pytest.fixture
def services(store, catalog) -> Services:
    list(seed_demo(Admin(store, catalog, "demo"), today=TODAY))
    return Services(store, catalog, Messages.load())


def tracker(
    client: str | None = None,
    identity: str | None = None,
    roles: tuple[str, ...] = (),
    path_id: str | None = None,
    intent: str = "ask_responsible",
    ranking: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Tracker:
    status = identity or ("valid" if client else "none")
    entities = [{"entity": "role", "value": r} for r in roles]
    if path_id:
        entities.append({"entity": "path_id", "value": path_id})
    return Tracker.from_dict(
        {
            "sender_id": "test",
            "slots": {},
            "latest_message": {
                "intent": {"name": intent, "confidence": 0.9},
                "entities": entities,
                "text": "kysymys",
                "intent_ranking": ranking or [],
                "metadata": {"polkuopas": {"identity": status, "client_id": client}},
            },
            "events": events or [],
        }
    )


async def run(action_class, services, **kwargs) -> tuple[list[dict], list]:
    dispatcher = CollectingDispatcher()
    events = await action_class(services).run(dispatcher, tracker(**kwargs), {})
    return dispatcher.messages, events


def said(messages: list[dict]) -> list[str | None]:
    """The names of the messages sent (None for a JSON payload)."""
    return [m.get("polkuopas_message") for m in messages]


def values(message: dict, *keys: str) -> dict[str, Any]:
    return {k: message[k] for k in keys}


# --- greeting and identity ----------------------------------------------------


async def test_greet_identified_client_names_their_path(services):
    messages, _ = await run(ActionGreet, services, client="demo-suvi", intent="greet")
    assert said(messages) == ["greet_personal"]
    # The service's name, not the example client's ("Suvin polku").
    assert messages[0]["path_name"] == "Kuntouttavan työtoiminnan polku"


async def test_greet_without_identity_is_general(services):
    messages, _ = await run(ActionGreet, services, intent="greet")
    assert said(messages) == ["greet_general"]


async def test_greet_with_expired_link_says_so(services):
    messages, _ = await run(ActionGreet, services, identity="expired", intent="greet")
    assert said(messages) == ["greet_general", "identity_expired"]


async def test_unknown_client_id_is_treated_as_no_identity(services):
    messages, _ = await run(ActionResponsible, services, client="nobody")
    assert said(messages) == ["identity_missing"]


async def test_personal_question_without_identity_explains_the_link(services):
    messages, _ = await run(ActionResponsible, services, roles=("tyohonvalmentaja",))
    assert said(messages) == ["identity_missing"]


async def test_revoked_link_gets_expired_line(services):
    messages, _ = await run(ActionCurrentStep, services, identity="revoked")
    assert said(messages) == ["identity_expired"]


async def test_malformed_metadata_is_no_identity(services):
    dispatcher = CollectingDispatcher()
    bad = tracker()
    bad.latest_message["metadata"] = {"polkuopas": "demo-suvi"}
    await ActionResponsible(services).run(dispatcher, bad, {})
    assert said(dispatcher.messages) == ["identity_missing"]


# --- who is responsible --------------------------------------------------------


async def test_who_is_my_job_coach(services):
    messages, events = await run(
        ActionResponsible, services, client="demo-valtteri", roles=("tyohonvalmentaja",)
    )
    assert said(messages) == ["responsible_one"]
    assert values(messages[0], "who", "name") == {
        "who": "Työhönvalmentajasi",
        "name": "Jenni Koskinen",
    }
    assert events == []


async def test_coordinator_pair_is_two_names(services):
    messages, _ = await run(
        ActionResponsible, services, client="demo-mika", roles=("asiakasvastaava",)
    )
    assert said(messages) == ["responsible_pair"]
    assert values(messages[0], "who", "names") == {
        "who": "Asiakasvastaavasi",
        "names": "Laura Mäkinen ja Antti Karjalainen",
    }


async def test_without_role_lists_everyone(services):
    messages, _ = await run(ActionResponsible, services, client="demo-suvi")
    assert said(messages) == ["responsible_all"]
    assert messages[0]["lines"].splitlines() == [
        "• Omatyöntekijä: Anna Virtanen",
        "• Työllisyysasiantuntija: Pekka Nieminen",
        "• Ohjaaja: Mika Salonen",
        "• Työvalmentaja: Sari Lehtonen",
    ]


@pytest.mark.parametrize(
    ("client", "who", "name"),
    [
        ("demo-suvi", "Työvalmentajasi", "Sari Lehtonen"),
        ("demo-valtteri", "Työhönvalmentajasi", "Jenni Koskinen"),
    ],
)
async def test_ambiguous_word_is_settled_by_own_assignments(
    services, client, who, name
):
    messages, _ = await run(
        ActionResponsible, services, client=client, roles=("valmentaja",)
    )
    assert said(messages) == ["responsible_one"]
    assert values(messages[0], "who", "name") == {"who": who, "name": name}


async def test_ambiguous_word_without_a_match_asks_with_buttons(services):
    messages, _ = await run(
        ActionResponsible, services, client="demo-mika", roles=("valmentaja",)
    )
    assert said(messages) == ["ask_which_role"]
    assert messages[0]["buttons"] == [
        {
            "title": "Työhönvalmentaja",
            "payload": '/ask_responsible{"role":"tyohonvalmentaja"}',
        },
        {
            "title": "Työvalmentaja",
            "payload": '/ask_responsible{"role":"tyovalmentaja"}',
        },
    ]


async def test_role_the_client_does_not_have(services):
    messages, _ = await run(
        ActionResponsible, services, client="demo-suvi", roles=("laakari",)
    )
    assert said(messages) == ["responsible_missing"]
    assert messages[0]["role_title"] == "lääkäri"


async def test_one_client_never_sees_another_clients_professionals(services):
    messages, _ = await run(ActionResponsible, services, client="demo-valtteri")
    text = json.dumps(messages, ensure_ascii=False)
    for other in ("Anna Virtanen", "Sari Lehtonen", "Laura Mäkinen", "Antti"):
        assert other not in text
    assert "Jenni Koskinen" in text


# --- contact details -----------------------------------------------------------


async def test_contact_details_with_substitute(services):
    messages, _ = await run(
        ActionContact, services, client="demo-suvi", roles=("ohjaaja",)
    )
    assert said(messages) == ["contact", "contact_substitute"]
    assert values(messages[0], "name", "role_title", "details") == {
        "name": "Mika Salonen",
        "role_title": "ohjaaja",
        "details": "Puhelin: 040 000 1006\nSähköposti: mika.salonen@esimerkki.fi\n"
        "Parhaiten tavoitat: työpajalla ma–to klo 8–14",
    }
    assert values(messages[1], "name", "substitute") == {
        "name": "Mika Salonen",
        "substitute": "Anna Virtanen",
    }


async def test_contact_pair_partner_is_the_substitute(services):
    messages, _ = await run(ActionContact, services, client="demo-mika")
    assert said(messages) == ["contact", "contact", "contact_pair"]
    assert [m["name"] for m in messages[:2]] == ["Laura Mäkinen", "Antti Karjalainen"]


async def test_contact_without_identity(services):
    messages, _ = await run(ActionContact, services, roles=("omatyontekija",))
    assert said(messages) == ["identity_missing"]


# --- steps and the path ----------------------------------------------------------


async def test_current_step(services):
    messages, _ = await run(ActionCurrentStep, services, client="demo-suvi")
    assert said(messages) == ["current_step"]
    assert values(messages[0], "number", "total", "title", "responsible") == {
        "number": 4,
        "total": 8,
        "title": "Työtehtävät työpajalla",
        "responsible": "työvalmentaja Sari Lehtonen",
    }


async def test_current_step_after_the_end(services):
    messages, _ = await run(ActionCurrentStep, services, client="demo-paattynyt")
    assert said(messages) == ["current_step_ended"]
    assert messages[0]["ended_on"] == "14.10.2026"


async def test_next_step_single(services):
    messages, _ = await run(ActionNextStep, services, client="demo-suvi")
    assert said(messages) == ["next_step_one"]
    assert values(messages[0], "title", "responsible") == {
        "title": "Väliarviointi",
        "responsible": "omatyöntekijä Anna Virtanen",
    }


async def test_next_step_branches_are_explained(services):
    messages, _ = await run(ActionNextStep, services, client="demo-valtteri")
    assert said(messages) == ["next_step_branches"]
    assert messages[0]["current"] == "Työpaikan etsiminen"
    assert messages[0]["lines"].splitlines() == [
        "• Työkokeilu: Jos haluat ensin kokeilla, sopiiko työ sinulle.",
        "• Tuki työpaikalla: Jos löydät työpaikan suoraan ja aloitat työn.",
    ]


async def test_next_step_after_the_end_is_the_follow_up(services):
    messages, _ = await run(ActionNextStep, services, client="demo-paattynyt")
    assert said(messages) == ["next_step_end"]
    assert values(messages[0], "window", "who") == {
        "window": "1–3 kuukauden kuluttua",
        "who": "omatyöntekijä",
    }


async def test_path_overview_personal_has_timeline_payload(services):
    messages, events = await run(
        ActionPathOverview, services, client="demo-suvi", intent="ask_path_overview"
    )
    assert said(messages) == ["path_overview_personal", None]
    assert "4. Työtehtävät työpajalla (olet tässä)" in messages[0]["lines"]
    assert "6. Työhönvalmennus työtoiminnan aikana (kokeilu)" in messages[0]["lines"]
    payload = messages[1]["custom"]
    assert payload["type"] == "polkuopas.path"
    assert payload["personal"] is True
    assert payload["current_step"] == "tyotehtavat"
    assert [s["status"] for s in payload["steps"]][:5] == [
        "done",
        "done",
        "done",
        "current",
        "upcoming",
    ]
    pilots = [s["id"] for s in payload["steps"] if s["pilot"]]
    assert pilots == ["tyohonvalmennus", "jalkikontakti"]
    work = payload["steps"][3]
    assert work["responsible"] == [
        {"role": "tyovalmentaja", "title": "Työvalmentaja", "names": ["Sari Lehtonen"]}
    ]
    assert events == []


async def test_path_overview_without_identity_asks_which_path(services):
    messages, _ = await run(ActionPathOverview, services, intent="ask_path_overview")
    assert said(messages) == ["choose_path"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/ask_path_overview{"path_id":"kuntouttava-tyotoiminta"}',
        '/ask_path_overview{"path_id":"tyohonvalmennus-vammaispalvelut"}',
        '/ask_path_overview{"path_id":"tyokykytiimi-asiakasvastaava"}',
    ]


async def test_path_overview_of_a_chosen_path_without_identity(services):
    messages, events = await run(
        ActionPathOverview,
        services,
        intent="ask_path_overview",
        path_id="tyokykytiimi-asiakasvastaava",
    )
    assert said(messages) == ["path_overview", None]
    payload = messages[1]["custom"]
    assert (payload["personal"], payload["current_step"]) == (False, None)
    assert all(s["status"] is None for s in payload["steps"])
    assert all(p["names"] == [] for s in payload["steps"] for p in s["responsible"])
    assert events == [SlotSet("path_id", "tyokykytiimi-asiakasvastaava")]


async def test_unknown_path_id_is_ignored(services):
    messages, _ = await run(
        ActionPathOverview, services, intent="ask_path_overview", path_id="x' OR 1=1"
    )
    assert said(messages) == ["choose_path"]


# --- roles ---------------------------------------------------------------------------


async def test_role_definition_works_without_identity(services):
    messages, _ = await run(ActionRoleDefinition, services, roles=("tyohonvalmentaja",))
    assert said(messages) == ["role_definition"]
    assert messages[0]["title"] == "Työhönvalmentaja"
    assert messages[0]["does"].startswith("• ")


async def test_role_definition_names_the_clients_own_professional(services):
    messages, _ = await run(
        ActionRoleDefinition, services, client="demo-suvi", roles=("tyovalmentaja",)
    )
    assert said(messages) == ["role_definition", "responsible_one"]
    assert messages[1]["name"] == "Sari Lehtonen"


async def test_two_roles_are_compared(services):
    messages, _ = await run(
        ActionRoleDefinition, services, roles=("tyovalmentaja", "tyohonvalmentaja")
    )
    assert said(messages) == ["role_difference"]
    assert values(messages[0], "title_a", "title_b") == {
        "title_a": "Työvalmentaja",
        "title_b": "Työhönvalmentaja",
    }
    assert messages[0]["difference"]


async def test_ambiguous_word_in_definition_explains_both(services):
    messages, _ = await run(ActionRoleDefinition, services, roles=("valmentaja",))
    assert said(messages) == ["role_difference"]


async def test_why_so_many_offers_the_clients_roles(services):
    messages, _ = await run(ActionRoleDefinition, services, client="demo-mika")
    assert said(messages) == ["role_why_many"]
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "Asiakasvastaava",
        "Terveydenhoitaja",
        "Lääkäri",
        "Fysioterapeutti",
    ]


# --- follow-up and a person -----------------------------------------------------


async def test_follow_up_after_the_end_has_dates_and_name(services):
    messages, _ = await run(ActionFollowUp, services, client="demo-paattynyt")
    assert said(messages) == ["follow_up_scheduled"]
    assert values(messages[0], "ended_on", "who", "due_on", "due_by") == {
        "ended_on": "14.10.2026",
        "who": "Anna Virtanen",
        "due_on": "14.11.2026",
        "due_by": "14.1.2027",
    }


async def test_follow_up_before_the_end_explains_the_pilot(services):
    messages, _ = await run(ActionFollowUp, services, client="demo-suvi")
    assert said(messages) == ["follow_up_rule", "follow_up_pilot"]
    assert values(messages[0], "who", "window") == {
        "who": "Anna Virtanen",
        "window": "1–3 kuukauden kuluttua",
    }


async def test_follow_up_without_identity_is_general(services):
    messages, _ = await run(ActionFollowUp, services)
    assert said(messages) == ["follow_up_general"]


def user_event(intent: str) -> dict[str, Any]:
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


async def test_request_human_asks_first_and_records_nothing(services):
    events = [user_event("greet"), {"event": "bot"}, user_event("request_human")]
    messages, slots = await run(
        ActionRequestHuman, services, client="demo-suvi", events=events
    )
    assert said(messages) == ["human_confirm", "human_reachable"]
    assert messages[0]["text"] == "Haluatko, että Anna Virtanen ottaa sinuun yhteyttä?"
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/affirm{"reachable":"aamupaiva"}',
        '/affirm{"reachable":"iltapaiva"}',
        '/affirm{"reachable":"milloin_vain"}',
        "/deny",
    ]
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "Kyllä, aamupäivällä",
        "Kyllä, iltapäivällä",
        "Kyllä, milloin vain",
        "Ei",
    ]
    assert messages[1]["text"] == (
        "Anna Virtanen on yleensä tavoitettavissa ma ja ke klo 9–11."
    )
    assert slots == [SlotSet("contact_offer", 2)]
    assert services.store.open_contact_requests() == []


def confirm_tracker(intent: str, offered_at: int | None, messages: int) -> Tracker:
    events = [user_event("request_human")] * (messages - 1) + [user_event(intent)]
    result = tracker(client="demo-mika", intent=intent, events=events)
    result.slots["contact_offer"] = offered_at
    return result


async def confirm(services, intent, offered_at, messages=2):
    dispatcher = CollectingDispatcher()
    events = await ActionConfirmContact(services).run(
        dispatcher, confirm_tracker(intent, offered_at, messages), {}
    )
    return dispatcher.messages, events


async def test_yes_right_after_the_offer_records_the_request(services):
    messages, events = await confirm(services, "affirm", offered_at=1)
    assert said(messages) == ["contact", "contact", "human_recorded"]
    assert events == [SlotSet("contact_offer", None)]
    requests = services.store.open_contact_requests()
    assert [(r["client_id"], r["role"], r["professional_id"]) for r in requests] == [
        ("demo-mika", "asiakasvastaava", "ky-laura")
    ]


async def test_yes_keeps_what_was_asked_masked_and_when_to_call(services):
    asked = {
        "event": "user",
        "text": "voiko joku soittaa 040 123 4567 rahasta",
        "parse_data": {"intent": {"name": "request_human"}},
    }
    result = tracker(
        client="demo-mika", intent="affirm", events=[asked, user_event("affirm")]
    )
    result.slots["contact_offer"] = 1
    result.latest_message["entities"] = [{"entity": "reachable", "value": "iltapaiva"}]
    await ActionConfirmContact(services).run(CollectingDispatcher(), result, {})
    [request] = services.store.open_contact_requests()
    assert (request["asked"], request["reachable"]) == (
        "voiko joku soittaa [puhelinnumero] rahasta",
        "iltapaiva",
    )


async def test_yes_by_typing_keeps_no_time_and_a_button_no_text(services):
    await confirm(services, "affirm", offered_at=1)
    [request] = services.store.open_contact_requests()
    assert (request["asked"], request["reachable"]) == (None, None)


async def test_no_records_nothing(services):
    messages, events = await confirm(services, "deny", offered_at=1)
    assert said(messages) == ["human_declined"]
    assert events == [SlotSet("contact_offer", None)]
    assert services.store.open_contact_requests() == []


async def test_yes_without_an_offer_records_nothing(services):
    messages, events = await confirm(services, "affirm", offered_at=None)
    assert said(messages) == ["confirm_nothing"]
    assert events == []
    assert services.store.open_contact_requests() == []


async def test_yes_to_an_old_offer_records_nothing(services):
    # The offer was made two messages ago; something else was asked in between.
    messages, events = await confirm(services, "affirm", offered_at=1, messages=3)
    assert said(messages) == ["confirm_nothing"]
    assert events == [SlotSet("contact_offer", None)]
    assert services.store.open_contact_requests() == []


async def test_request_human_without_identity_records_nothing(services):
    messages, _ = await run(ActionRequestHuman, services)
    assert said(messages) == ["human_general"]
    assert services.store.open_contact_requests() == []


async def test_greeting_records_nothing(services):
    messages, events = await run(
        ActionGreet, services, client="demo-suvi", intent="greet"
    )
    assert said(messages) == ["greet_personal"]
    assert events == []
    assert services.store.open_contact_requests() == []


# --- questions about the service ------------------------------------------------


async def test_illness_is_answered_from_the_path_with_the_ohjaaja_named(services):
    messages, _ = await run(
        ActionServiceQuestion,
        services,
        client="demo-suvi",
        intent="service_sairastuminen",
    )
    question = services.catalog.path("kuntouttava-tyotoiminta").question(
        "sairastuminen"
    )
    assert said(messages) == ["service_answer", "service_more_person"]
    assert messages[0]["text"] == " ".join(question.answer.split())
    assert messages[1]["text"] == (
        "Ohjaajasi Mika Salonen kertoo lisää.\n"
        "Puhelin: 040 000 1006\nParhaiten tavoitat: työpajalla ma–to klo 8–14"
    )


async def test_topic_the_clients_path_does_not_answer_names_the_coordinator(
    services,
):
    # Valtteri's path without its questions: the one not answered yet.
    catalog = services.catalog
    path_id = "tyohonvalmennus-vammaispalvelut"
    bare = catalog.path(path_id).model_copy(update={"questions": []})
    catalog = dataclasses.replace(catalog, paths={**catalog.paths, path_id: bare})
    services = dataclasses.replace(services, catalog=catalog)
    messages, _ = await run(
        ActionServiceQuestion, services, client="demo-valtteri", intent="service_raha"
    )
    assert said(messages) == ["service_not_on_path_ask"]
    assert (
        "Palvelukoordinaattorisi Markku Heinonen osaa vastata." in (messages[0]["text"])
    )


async def test_question_without_identity_on_a_chosen_path(services):
    messages, events = await run(
        ActionServiceQuestion,
        services,
        intent="service_paivat_tunnit",
        path_id="kuntouttava-tyotoiminta",
    )
    assert said(messages) == ["service_answer_path", "service_more_role"]
    assert messages[0]["text"].startswith("Kuntouttavan työtoiminnan polku: ")
    assert messages[1]["text"] == "Lisää kertoo ohjaaja."
    assert events == [SlotSet("path_id", "kuntouttava-tyotoiminta")]


async def test_question_that_is_no_topic_is_not_guessed(services):
    messages, _ = await run(ActionServiceQuestion, services, intent="ask_contact")
    assert said(messages) == ["service_unknown"]


# --- not understood ----------------------------------------------------------------


async def test_first_miss_offers_the_two_best_guesses(services):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "service_raha", "confidence": 0.31},
        {"name": "greet", "confidence": 0.2},
        {"name": "ask_current_step", "confidence": 0.29},
    ]
    messages, _ = await run(
        ActionFallback, services, intent="nlu_fallback", ranking=ranking
    )
    assert said(messages) == ["ask_rephrase"]
    assert "Raha ja korvaukset tai Missä vaiheessa olen?" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/service_raha",
        "/ask_current_step",
        "/something_else",
    ]
    # The labels come from messages_fi.yml (label_<intent>).
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "Raha ja korvaukset",
        "Missä vaiheessa olen?",
        "Jotain muuta",
    ]


async def test_i_cannot_answer_that_offers_the_nearest_topics_and_the_path(services):
    # A question the model took for another service: the two nearest topics
    # the client can pick, then the whole path; nothing is guessed as the answer.
    ranking = [
        {"name": "out_of_scope", "confidence": 0.9},
        {"name": "greet", "confidence": 0.04},
        {"name": "service_sairastuminen", "confidence": 0.03},
        {"name": "ask_responsible", "confidence": 0.02},
        {"name": "ask_path_overview", "confidence": 0.01},
    ]
    messages, events = await run(
        ActionOutOfScope, services, intent="out_of_scope", ranking=ranking
    )
    assert said(messages) == ["out_of_scope"]
    assert messages[0]["text"].startswith("En osaa vastata tähän.")
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/service_sairastuminen",
        "/ask_responsible",
        "/ask_path_overview",
    ]
    assert [b["title"] for b in messages[0]["buttons"]][1:] == [
        "Kuka on minun työntekijäni?",
        "Näytä koko polku",
    ]
    assert events == []


async def test_i_cannot_answer_that_without_a_ranking_offers_the_defaults(services):
    # No ranking (a rule, or a message from an older model): the client's
    # worker and the whole path, each once.
    messages, _ = await run(ActionOutOfScope, services, intent="out_of_scope")
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/ask_responsible",
        "/ask_path_overview",
    ]


async def test_second_miss_offers_a_person(services):
    previous = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    current = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    messages, _ = await run(
        ActionFallback,
        services,
        intent="nlu_fallback",
        events=[previous, {"event": "bot"}, current],
    )
    assert said(messages) == ["fallback_human"]
    assert messages[0]["buttons"] == [
        {"title": "Haluan jutella ihmisen kanssa", "payload": "/request_human"}
    ]


async def test_something_else_offers_the_clients_own_coordinator(services):
    events = [user_event("nlu_fallback"), {"event": "bot"}, user_event("x")]
    messages, slots = await run(
        ActionFallback,
        services,
        client="demo-suvi",
        intent="something_else",
        events=events,
    )
    assert said(messages) == ["fallback_coordinator", "human_reachable"]
    assert "Omatyöntekijäsi Anna Virtanen osaa auttaa." in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]][-1] == "/deny"
    assert all(
        b["payload"].startswith('/affirm{"reachable":')
        for b in messages[0]["buttons"][:-1]
    )
    assert slots == [SlotSet("contact_offer", 2)]
    assert services.store.open_contact_requests() == []


async def test_question_without_identity_answers_briefly_for_each_path(
    services, tmp_path, mini_path
):
    other = {**mini_path, "id": "toinen", "name": "Toinen polku"}
    catalog = load_catalog(write_catalog(tmp_path / "paths", paths=[mini_path, other]))
    services = dataclasses.replace(services, catalog=catalog)
    messages, _ = await run(ActionServiceQuestion, services, intent="service_raha")
    assert said(messages) == ["service_answer_each"]
    assert messages[0]["text"] == (
        "Vastaus riippuu palvelusta:\n"
        "• Pieni polku: Saat 9 euroa päivässä.\n"
        "• Toinen polku: Saat 9 euroa päivässä.\n"
        "Valitse palvelu, niin kerron tarkemmin."
    )
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/service_raha{"path_id":"mini"}',
        '/service_raha{"path_id":"toinen"}',
    ]


# --- another language ----------------------------------------------------------


async def other_language(services, lang: str, client: str | None = None):
    from polkuopas.bot_actions import ActionOtherLanguage

    status = "valid" if client else "none"
    other = Tracker.from_dict(
        {
            "sender_id": "test",
            "slots": {},
            "latest_message": {
                "intent": {"name": "other_language", "confidence": 1.0},
                "entities": [{"entity": "language", "value": lang}],
                "text": f'/other_language{{"language": "{lang}"}}',
                "intent_ranking": [],
                "metadata": {"polkuopas": {"identity": status, "client_id": client}},
            },
            "events": [],
        }
    )
    dispatcher = CollectingDispatcher()
    await ActionOtherLanguage(services).run(dispatcher, other, {})
    return dispatcher.messages


async def test_swedish_without_identity_gets_the_general_swedish_answer(services):
    messages = await other_language(services, "sv")
    assert said(messages) == ["other_language_sv"]
    assert messages[0]["text"].startswith("Polkuopas talar bara finska")


async def test_english_names_the_clients_own_coordinator_and_number(services):
    messages = await other_language(services, "en", client="demo-suvi")
    assert said(messages) == ["other_language_en_known"]
    text = messages[0]["text"]
    assert text.startswith("Polkuopas speaks only Finnish for now.")
    assert "Anna Virtanen" in text and "040 000 1004" in text


async def test_an_unknown_language_value_is_answered_in_english(services):
    messages = await other_language(services, "de")
    assert said(messages) == ["other_language_en"]


# --- a follow-up that applies after some last steps only ------------------------


async def test_sent_to_another_service_hears_of_no_follow_up(services):
    # Valtteri's path: the follow-up is for those who got coaching, not for a
    # client sent to another service at the decision (follow_up.after_steps).
    admin = Admin(services.store, services.catalog, "test")
    admin.add_client("muualle", "tyohonvalmennus-vammaispalvelut", "muu_palvelu", TODAY)
    assert admin.end("muualle", TODAY) is None
    assert services.store.find_followup("muualle") is None
    messages, _ = await run(ActionNextStep, services, client="muualle")
    assert said(messages) == ["next_step_end_no_follow_up"]
    messages, _ = await run(ActionFollowUp, services, client="muualle")
    assert said(messages) == ["follow_up_not_after_step"]
