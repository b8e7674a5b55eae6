"""The next meeting and the client's own path: the store, the audited Admin
code, the CLI and the chat's actions, on both client stores.

What the client and their worker write together is personal: it is written
only with the client's agreement, the audit log never holds its text, and a
removal deletes the rows (on SQLite the bytes leave the file as well).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from conftest import BACKENDS
from polkuopas.admin import Admin
from polkuopas.answers import clock, load_own_path, meeting_when, own_path_payload
from polkuopas.bot_actions import (
    ActionConfirmContact,
    ActionMyActions,
    ActionMyGoal,
    ActionNextMeeting,
    ActionRemoveOwnPath,
    Services,
)
from polkuopas.catalog import load_catalog
from polkuopas.cli import main
from polkuopas.errors import Conflict, Invalid, NotFound
from polkuopas.messages import Messages
from polkuopas.settings import get_settings
from polkuopas.store import Meeting

STORE_BACKENDS = BACKENDS
TODAY = date.today()
SOON = TODAY + timedelta(days=7)
GOAL = "Haluan oppia puutöitä ja saada aamurytmin kuntoon"
TRY = "Kokeilla kahvilatyötä"
ACTION = "Soittaa Kelaan matkakuluista"


@pytest.fixture
def admin(store, mini_dir) -> Admin:
    admin = Admin(store, load_catalog(mini_dir), "testi")
    admin.add_professional("aa", "Anna Oma", "omatyontekija")
    admin.add_client("c1", "mini")
    admin.add_client("c2", "mini")
    admin.assign("c1", "omatyontekija", "aa")
    return admin


def written(admin: Admin, client_id: str = "c1") -> dict[str, int]:
    return {
        "goal": admin.add_own_path_item(client_id, "goal", GOAL, client_agreed=True),
        "try": admin.add_own_path_item(client_id, "try", TRY, client_agreed=True),
        "action": admin.add_own_path_item(
            client_id, "action", ACTION, SOON, client_agreed=True
        ),
    }


def texts_in_table(store, client_id: str | None = None) -> list[str]:
    sql = "SELECT text FROM own_path_items"
    params: list[Any] = []
    if client_id:
        sql, params = sql + " WHERE client_id = ?", [client_id]
    return [r["text"] for r in store.db.query(sql, params)]


# --- the next meeting ---------------------------------------------------------


def test_meeting_is_set_replaced_and_cleared_with_audit(admin, store):
    admin.set_meeting("c1", SOON, "09:30", "Työpaja, Lahti", "Anna Oma")
    admin.set_meeting("c1", SOON, "13:00", "Palvelutori", "Anna Oma")
    meeting = store.find_meeting("c1")
    assert (meeting.meets_on, meeting.at_time, meeting.place) == (
        SOON.isoformat(),
        "13:00",
        "Palvelutori",
    )
    assert meeting.set_by == "testi"
    admin.clear_meeting("c1")
    assert store.find_meeting("c1") is None
    with pytest.raises(NotFound):
        admin.clear_meeting("c1")
    entries = [e for e in store.audit_entries("c1") if "meeting" in e["action"]]
    assert [e["action"] for e in entries] == [
        "set-meeting",
        "set-meeting",
        "clear-meeting",
    ]
    # When, but never where or with whom.
    assert json.loads(entries[0]["details"]) == {
        "on": SOON.isoformat(),
        "at": "09:30",
    }
    assert "Palvelutori" not in json.dumps(store.audit_entries())


@pytest.mark.parametrize(
    ("on", "at", "place", "who", "error"),
    [
        (TODAY - timedelta(days=1), "09:30", "Paikka", "Anna", "in the past"),
        (SOON, "9.30", "Paikka", "Anna", "HH:MM"),
        (SOON, "24:00", "Paikka", "Anna", "HH:MM"),
        (SOON, "09:30", "  ", "Anna", "place must not be empty"),
        (SOON, "09:30", "Paikka", "", "with whom must not be empty"),
        (SOON, "09:30", "x" * 201, "Anna", "longer than 200"),
    ],
)
def test_bad_meeting_is_refused_and_nothing_is_written(
    admin, store, on, at, place, who, error
):
    with pytest.raises(Invalid, match=error):
        admin.set_meeting("c1", on, at, place, who)
    assert store.find_meeting("c1") is None


def test_meeting_of_unknown_or_ended_client_is_refused(admin, store):
    with pytest.raises(NotFound):
        admin.set_meeting("nobody", SOON, "09:30", "Paikka", "Anna")
    admin.end("c2")
    with pytest.raises(Conflict):
        admin.set_meeting("c2", SOON, "09:30", "Paikka", "Anna")


def test_meeting_is_in_the_workers_client_list(admin, store):
    admin.set_meeting("c1", SOON, "09:30", "Paikka", "Anna")
    rows = {r["id"]: r for r in store.client_rows("aa")}
    assert (rows["c1"]["meeting_on"], rows["c1"]["meeting_at"]) == (
        SOON.isoformat(),
        "09:30",
    )


def test_meeting_is_said_in_finnish():
    monday = date(2027, 1, 4)
    meeting = Meeting("c1", monday.isoformat(), "09:05", "P", "A", "x", "x")
    assert meeting_when(meeting) == "maanantaina 4.1.2027 klo 9.05"
    assert clock("14:30") == "14.30"


# --- the client's own path ----------------------------------------------------


def test_nothing_is_written_without_the_clients_agreement(admin, store):
    with pytest.raises(Invalid, match="agreed"):
        admin.add_own_path_item("c1", "goal", GOAL)
    assert texts_in_table(store) == []
    assert not [e for e in store.audit_entries("c1") if "own-path" in e["action"]]


@pytest.mark.parametrize(
    ("kind", "text", "due", "error"),
    [
        ("wish", GOAL, None, "unknown kind"),
        ("goal", " \n ", None, "must not be empty"),
        ("goal", "x" * 501, None, "longer than 500"),
        ("action", ACTION, None, "needs a date"),
    ],
)
def test_bad_item_is_refused(admin, store, kind, text, due, error):
    with pytest.raises(Invalid, match=error):
        admin.add_own_path_item("c1", kind, text, due, client_agreed=True)
    assert texts_in_table(store) == []


def test_items_are_kept_in_order_and_audited_without_their_text(admin, store):
    ids = written(admin)
    items = store.own_path_items("c1")
    assert [(i.kind, i.text) for i in items] == [
        ("goal", GOAL),
        ("try", TRY),
        ("action", ACTION),
    ]
    assert items[2].due_on == SOON.isoformat()
    audit = json.dumps(store.audit_entries(), ensure_ascii=False)
    assert GOAL not in audit and ACTION not in audit
    entry = store.audit_entries("c1")[-1]
    assert entry["action"] == "add-own-path-item"
    assert json.loads(entry["details"]) == {"item": ids["action"], "kind": "action"}


def test_control_characters_are_dropped_from_a_text(admin, store):
    admin.add_own_path_item("c1", "goal", "Oppia\u202e\x00 uutta", client_agreed=True)
    assert texts_in_table(store) == ["Oppia uutta"]


def test_removing_one_item_deletes_its_row(admin, store):
    ids = written(admin)
    admin.remove_own_path_item("c1", ids["goal"])
    assert GOAL not in texts_in_table(store)
    assert len(texts_in_table(store)) == 2
    with pytest.raises(NotFound):
        admin.remove_own_path_item("c1", ids["goal"])


def test_an_item_is_removed_only_through_its_own_client(admin, store):
    ids = written(admin)
    with pytest.raises(NotFound):
        admin.remove_own_path_item("c2", ids["goal"])
    assert GOAL in texts_in_table(store)


def test_removing_the_own_path_deletes_every_row_of_that_client_only(admin, store):
    written(admin)
    written(admin, "c2")
    assert admin.remove_own_path("c1") == 3
    assert texts_in_table(store, "c1") == []
    assert len(texts_in_table(store, "c2")) == 3
    rows = store.db.execute(
        "SELECT COUNT(*) FROM own_path_items WHERE client_id = ?", ["c1"]
    ).fetchone()
    assert rows[0] == 0  # deleted, not flagged
    entry = store.audit_entries("c1")[-1]
    assert (entry["action"], json.loads(entry["details"])) == (
        "remove-own-path",
        {"count": 3},
    )


@pytest.mark.sqlite_only
def test_removed_text_is_gone_from_the_sqlite_file(admin, store, store_url):
    written(admin)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(store_url)
    assert GOAL.encode() in path.read_bytes()
    admin.remove_own_path("c1")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert GOAL.encode() not in path.read_bytes()
    assert ACTION.encode() not in path.read_bytes()


def test_payload_for_the_widget_leaves_a_past_meeting_out(admin, store):
    written(admin)
    admin.set_meeting("c1", SOON, "09:30", "Työpaja", "Anna Oma")
    payload = own_path_payload(load_own_path(store, "c1"))
    assert payload["goals"] == [GOAL] and payload["tries"] == [TRY]
    assert payload["actions"] == [
        {"text": ACTION, "due_on": SOON.isoformat(), "due": f"{SOON:%-d.%-m.%Y}"}
    ]
    assert payload["meeting"]["place"] == "Työpaja"
    assert payload["sections"][-1] == {
        "heading": "Sovitut tehtävät",
        "items": [f"{ACTION} ({SOON.day}.{SOON.month}.{SOON.year} mennessä)"],
    }
    later = own_path_payload(load_own_path(store, "c1"), SOON + timedelta(days=1))
    assert later["meeting"] is None
    assert "Seuraava tapaaminen" not in [s["heading"] for s in later["sections"]]


# --- the CLI ----------------------------------------------------------------------


@pytest.fixture
def cli(env, mini_dir, monkeypatch, capsys):
    monkeypatch.setenv("POLKUOPAS_PATHS_DIR", str(mini_dir))
    get_settings.cache_clear()

    def _run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert _run("client", "add", "--id", "c1", "--path", "mini")[0] == 0
    return _run


def test_cli_sets_shows_and_clears_the_meeting(cli):
    on = SOON.isoformat()
    code, out, _ = cli("client", "meeting", "c1", "--on", on, "--at", "09:30",
                       "--place", "Työpaja", "--with", "Anna Oma")  # fmt: skip
    assert (code, out) == (0, f"set the next meeting of c1: {on} 09:30\n")
    assert cli("client", "meeting", "c1")[1] == f"{on} 09:30, Työpaja, with Anna Oma\n"
    shown = json.loads(cli("client", "show", "c1", "--json")[1])
    assert shown["next_meeting"] == {
        "on": on,
        "at": "09:30",
        "place": "Työpaja",
        "with": "Anna Oma",
    }
    assert cli("client", "meeting", "c1", "--clear")[0] == 0
    assert cli("client", "meeting", "c1")[1] == "no next meeting\n"


def test_cli_refuses_a_partial_or_bad_meeting(cli):
    code, _, err = cli("client", "meeting", "c1", "--at", "09:30")
    assert code == 2 and "give all of --on, --at, --place and --with" in err
    code, _, err = cli("client", "meeting", "c1", "--on", "huomenna")
    assert code == 2 and "invalid date" in err
    code, _, err = cli("client", "meeting", "c1", "--clear", "--at", "09:30")
    assert code == 2 and "--clear takes no other option" in err


def test_cli_writes_the_own_path_only_with_agreement_and_removes_it(cli):
    code, _, err = cli("client", "own-path", "c1", "--add", "goal", "--text", GOAL)
    assert code == 2 and "agreed" in err
    assert cli("client", "own-path", "c1")[1] == "no own path written\n"
    code, out, _ = cli("client", "own-path", "c1", "--add", "goal", "--text", GOAL,
                       "--client-agreed")  # fmt: skip
    assert code == 0 and out.startswith("added item ")
    item = out.split()[2]
    assert cli("client", "own-path", "c1")[1] == f"{item}\tgoal\t{GOAL}\n"
    assert cli("client", "own-path", "c1", "--remove", item)[0] == 0
    assert cli("client", "own-path", "c1", "--remove", item)[0] == 2
    assert cli("client", "own-path", "c1", "--remove-all")[1] == (
        "removed 0 item(s) of the own path of c1\n"
    )


# --- the chat ---------------------------------------------------------------------


@pytest.fixture
def services(admin, store, mini_dir) -> Services:
    return Services(store, load_catalog(mini_dir), Messages.load())


def user_event(intent: str) -> dict[str, Any]:
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def tracker(
    client: str | None,
    intent: str,
    identity: str | None = None,
    events: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
) -> Tracker:
    status = identity or ("valid" if client else "none")
    return Tracker.from_dict(
        {
            "sender_id": "test",
            "slots": slots or {},
            "latest_message": {
                "intent": {"name": intent, "confidence": 0.9},
                "entities": [],
                "text": "kysymys",
                "metadata": {"polkuopas": {"identity": status, "client_id": client}},
            },
            "events": events or [user_event(intent)],
        }
    )


async def run(action_class, services, *args, **kwargs):
    dispatcher = CollectingDispatcher()
    events = await action_class(services).run(dispatcher, tracker(*args, **kwargs), {})
    return dispatcher.messages, events


def said(messages: list[dict]) -> list[str | None]:
    return [m.get("polkuopas_message") for m in messages]


async def test_next_meeting_is_told_with_place_and_person(admin, services):
    admin.set_meeting("c1", SOON, "09:30", "Työpaja, Lahti", "Anna Oma")
    messages, _ = await run(ActionNextMeeting, services, "c1", "ask_next_meeting")
    assert said(messages) == ["next_meeting"]
    text = messages[0]["text"]
    assert f"{SOON.day}.{SOON.month}.{SOON.year} klo 9.30" in text
    assert "Paikka: Työpaja, Lahti" in text and "Tapaat: Anna Oma" in text


async def test_no_meeting_and_a_past_meeting_are_said_honestly(admin, store, services):
    messages, _ = await run(ActionNextMeeting, services, "c1", "ask_next_meeting")
    assert said(messages) == ["next_meeting_none"]
    with store.transaction():
        store.set_meeting("c1", TODAY - timedelta(days=3), "10:00", "P", "A", "x")
    messages, _ = await run(ActionNextMeeting, services, "c1", "ask_next_meeting")
    assert said(messages) == ["next_meeting_past"]


@pytest.mark.parametrize(
    "action", [ActionNextMeeting, ActionMyGoal, ActionMyActions, ActionRemoveOwnPath]
)
@pytest.mark.parametrize(
    ("identity", "answer"),
    [("none", "identity_missing"), ("expired", "identity_expired")],
)
async def test_without_identity_nothing_personal_is_told(
    admin, services, action, identity, answer
):
    written(admin)
    admin.set_meeting("c1", SOON, "09:30", "Työpaja", "Anna Oma")
    messages, events = await run(action, services, None, "x", identity=identity)
    assert said(messages) == [answer]
    assert not events
    assert GOAL not in json.dumps(messages, ensure_ascii=False)


async def test_goal_and_tries_in_the_clients_own_words(admin, services):
    messages, _ = await run(ActionMyGoal, services, "c1", "ask_my_goal")
    assert said(messages) == ["my_goals_none"]
    written(admin)
    written(admin, "c2")
    admin.remove_own_path("c2")
    messages, _ = await run(ActionMyGoal, services, "c1", "ask_my_goal")
    assert said(messages) == ["my_goals", "my_tries"]
    assert messages[0]["text"] == f"Tavoitteesi omin sanoin:\n• {GOAL}"
    assert messages[1]["text"] == f"Haluat kokeilla:\n• {TRY}"


async def test_another_clients_own_path_is_never_told(admin, services):
    written(admin, "c2")
    messages, _ = await run(ActionMyGoal, services, "c1", "ask_my_goal")
    assert said(messages) == ["my_goals_none"]


async def test_actions_with_dates_and_the_meeting(admin, services):
    messages, _ = await run(ActionMyActions, services, "c1", "ask_my_actions")
    assert said(messages) == ["my_actions_none"]
    written(admin)
    admin.set_meeting("c1", SOON, "09:30", "Työpaja", "Anna Oma")
    messages, _ = await run(ActionMyActions, services, "c1", "ask_my_actions")
    assert said(messages) == ["my_actions", "my_actions_meeting"]
    due = f"{SOON.day}.{SOON.month}.{SOON.year}"
    assert messages[0]["text"].endswith(f"• {ACTION} ({due} mennessä)")


async def test_removal_asks_first_and_deletes_nothing(admin, store, services):
    written(admin)
    messages, events = await run(
        ActionRemoveOwnPath, services, "c1", "request_remove_own_path"
    )
    assert said(messages) == ["remove_own_path_ask"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert events == [SlotSet("remove_offer", 1)]
    assert len(texts_in_table(store, "c1")) == 3


async def test_removal_with_nothing_written_offers_nothing(admin, services):
    messages, events = await run(
        ActionRemoveOwnPath, services, "c1", "request_remove_own_path"
    )
    assert said(messages) == ["remove_own_path_nothing"]
    assert not events


def answer_tracker(intent: str, offered_at: int | None, messages: int, **slots):
    events = [user_event("request_remove_own_path")] * (messages - 1)
    return tracker(
        "c1",
        intent,
        events=[*events, user_event(intent)],
        slots={"remove_offer": offered_at, **slots},
    )


async def answer(services, intent, offered_at=1, messages=2, **slots):
    dispatcher = CollectingDispatcher()
    events = await ActionConfirmContact(services).run(
        dispatcher, answer_tracker(intent, offered_at, messages, **slots), {}
    )
    return dispatcher.messages, events


async def test_yes_right_after_the_question_really_deletes(admin, store, services):
    written(admin)
    messages, events = await answer(services, "affirm")
    assert said(messages) == ["remove_own_path_done"]
    assert events == [SlotSet("remove_offer", None)]
    assert texts_in_table(store, "c1") == []
    entry = store.audit_entries("c1")[-1]
    assert (entry["actor"], entry["action"]) == ("asiakas (chat)", "remove-own-path")
    assert GOAL not in json.dumps(store.audit_entries(), ensure_ascii=False)
    assert store.open_contact_requests() == []


async def test_no_deletes_nothing(admin, store, services):
    written(admin)
    messages, events = await answer(services, "deny")
    assert said(messages) == ["remove_own_path_declined"]
    assert events == [SlotSet("remove_offer", None)]
    assert len(texts_in_table(store, "c1")) == 3


async def test_yes_to_an_old_question_deletes_nothing(admin, store, services):
    written(admin)
    messages, events = await answer(services, "affirm", offered_at=1, messages=3)
    assert said(messages) == ["confirm_nothing"]
    assert events == [SlotSet("remove_offer", None)]
    assert len(texts_in_table(store, "c1")) == 3


async def test_yes_to_a_removal_does_not_also_record_a_contact(admin, store, services):
    written(admin)
    # An older offer of contact is still in its slot: only the removal is fresh.
    messages, events = await answer(services, "affirm", contact_offer=0)
    assert said(messages) == ["remove_own_path_done"]
    assert SlotSet("contact_offer", None) in events
    assert store.open_contact_requests() == []
