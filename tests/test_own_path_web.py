"""The next meeting and the client's own path in the workspace (/tyotila)
and in the web API (GET /api/oma-polku), through TestClient on both stores:
the forms, who may use them (no IDOR, no session, stale form token, disabled
account), nothing lost on a refused form, and a removal that deletes."""

from __future__ import annotations

import html
import json
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from test_workspace_web import (  # noqa: F401 (fixtures)
    app,
    browser,
    csrf_of,
    goes_to_sign_in,
    sign_in,
    signed_in,
    store,
)

from conftest import BACKENDS
from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog

STORE_BACKENDS = BACKENDS
SOON = date.today() + timedelta(days=5)
GOAL = "Haluan päästä kahvilaan töihin"
SECRET = "Toisen asiakkaan tavoite"


def meeting_form(token: str, **changes: str) -> dict[str, str]:
    return {
        "csrf": token,
        "on": SOON.isoformat(),
        "at": "09:30",
        "place": "Työpaja, Lahti",
        "with": "Anna Oma",
        **changes,
    }


def item_form(token: str, **changes: str) -> dict[str, str]:
    return {"csrf": token, "kind": "goal", "text": GOAL, "agreed": "kylla", **changes}


def texts(db, client_id: str) -> list[str]:
    return [i.text for i in db.own_path_items(client_id)]


@pytest.fixture
def admin(store, mini_dir) -> Admin:  # noqa: F811
    return Admin(store, load_catalog(mini_dir), "testi")


# --- the next meeting -----------------------------------------------------------


def test_meeting_is_set_shown_listed_and_cleared(app, store):  # noqa: F811
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    response = anna.post("/tyotila/asiakkaat/c1/tapaaminen", data=meeting_form(token))
    assert response.status_code == 303
    assert response.headers["location"] == "/tyotila/asiakkaat/c1?tehty=tapaaminen"
    meeting = store.find_meeting("c1")
    assert (meeting.at_time, meeting.place, meeting.set_by) == (
        "09:30",
        "Työpaja, Lahti",
        "tyotila:anna",
    )
    entry = store.audit_entries("c1")[-1]
    assert (entry["actor"], entry["action"]) == ("tyotila:anna", "set-meeting")
    day = f"{SOON.day}.{SOON.month}.{SOON.year}"
    page = anna.get(response.headers["location"]).text
    assert "Seuraava tapaaminen on tallennettu." in page
    assert f"{day} klo 9.30" in page
    listing = anna.get("/tyotila/asiakkaat").text
    assert "Seuraava tapaaminen</th>" in listing and f"{day} klo 9.30" in listing
    response = anna.post(
        "/tyotila/asiakkaat/c1/tapaaminen/poista", data={"csrf": token}
    )
    assert response.status_code == 303
    assert store.find_meeting("c1") is None


@pytest.mark.parametrize(
    "changes",
    [
        {"on": (date.today() - timedelta(days=1)).isoformat()},
        {"on": "ensi viikolla"},
        {"at": "25:00"},
        {"place": ""},
    ],
)
def test_refused_meeting_keeps_what_was_typed(app, store, changes):  # noqa: F811
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    form = meeting_form(token, **changes)
    response = anna.post("/tyotila/asiakkaat/c1/tapaaminen", data=form)
    assert response.status_code == 400
    assert 'id="virhe-tapaaminen" role="alert"' in response.text
    assert 'aria-describedby="virhe-tapaaminen"' in response.text
    for name in ("on", "at", "place", "with"):
        assert f'value="{html.escape(form[name])}"' in response.text, name
    assert store.find_meeting("c1") is None


# --- the client's own path --------------------------------------------------------


def test_item_is_not_saved_without_the_clients_agreement(app, store):  # noqa: F811
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    form = item_form(token)
    del form["agreed"]
    response = anna.post("/tyotila/asiakkaat/c1/oma-polku", data=form)
    assert response.status_code == 400
    assert "rastita ruutu, kun asiakas on suostunut" in response.text
    # Nothing written with the client is lost: the text is back in its field.
    assert f">{GOAL}</textarea>" in response.text
    assert texts(store, "c1") == []


def test_action_without_a_date_is_refused_and_kept(app, store):  # noqa: F811
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    form = item_form(token, kind="action", text="Soittaa Kelaan")
    response = anna.post("/tyotila/asiakkaat/c1/oma-polku", data=form)
    assert response.status_code == 400
    assert ">Soittaa Kelaan</textarea>" in response.text
    assert '<option value="action" selected>' in response.text
    assert texts(store, "c1") == []


def test_item_is_written_shown_printed_and_deleted(app, store):  # noqa: F811
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    response = anna.post("/tyotila/asiakkaat/c1/oma-polku", data=item_form(token))
    assert response.status_code == 303
    due = (date.today() + timedelta(days=3)).isoformat()
    form = item_form(token, kind="action", text="Käydä kahvilassa", due=due)
    assert anna.post("/tyotila/asiakkaat/c1/oma-polku", data=form).status_code == 303
    assert texts(store, "c1") == [GOAL, "Käydä kahvilassa"]
    entry = store.audit_entries("c1")[-1]
    assert (entry["actor"], entry["action"]) == ("tyotila:anna", "add-own-path-item")
    assert GOAL not in json.dumps(store.audit_entries(), ensure_ascii=False)
    page = anna.get("/tyotila/asiakkaat/c1").text
    assert GOAL in page and 'href="/tyotila/asiakkaat/c1/oma-polku"' in page
    printable = anna.get("/tyotila/asiakkaat/c1/oma-polku")
    assert printable.status_code == 200
    assert "Sinun oma polkusi" in printable.text and GOAL in printable.text
    assert "data-print" in printable.text
    walk = anna.get("/tyotila/asiakkaat/c1/esitys").text
    assert "Sinun oma polkusi" in walk and "Käydä kahvilassa" in walk
    goal = store.own_path_items("c1")[0]
    url = f"/tyotila/asiakkaat/c1/oma-polku/{goal.id}/poista"
    assert anna.post(url, data={"csrf": token}).status_code == 303
    rows = store.db.query("SELECT text FROM own_path_items WHERE client_id = 'c1'")
    assert [r["text"] for r in rows] == ["Käydä kahvilassa"]
    again = anna.post(url, data={"csrf": token})
    assert again.status_code == 400 and "Se on ehkä jo poistettu." in again.text


# --- who may -------------------------------------------------------------------------


def test_worker_cannot_read_or_write_others_meeting_or_own_path(app, store, admin):  # noqa: F811
    admin.set_meeting("c2", SOON, "10:00", "Salainen paikka", "Olli Ohjaaja")
    item = admin.add_own_path_item("c2", "goal", SECRET, client_agreed=True)
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    assert anna.get("/tyotila/asiakkaat/c2/oma-polku").status_code == 404
    assert anna.get("/tyotila/asiakkaat/c2/esitys").status_code == 404
    for url, data in [
        ("/tyotila/asiakkaat/c2/tapaaminen", meeting_form(token)),
        ("/tyotila/asiakkaat/c2/tapaaminen/poista", {"csrf": token}),
        ("/tyotila/asiakkaat/c2/oma-polku", item_form(token)),
        (f"/tyotila/asiakkaat/c2/oma-polku/{item}/poista", {"csrf": token}),
    ]:
        assert anna.post(url, data=data).status_code == 404, url
    # Another client's item by id through one's own client: not found, kept.
    response = anna.post(
        f"/tyotila/asiakkaat/c1/oma-polku/{item}/poista", data={"csrf": token}
    )
    assert response.status_code == 400
    assert SECRET not in response.text and "Salainen paikka" not in response.text
    assert texts(store, "c2") == [SECRET]
    assert store.find_meeting("c2").place == "Salainen paikka"
    assert "Salainen paikka" not in anna.get("/tyotila/asiakkaat").text


def test_path_owner_reaches_no_clients_own_path(app, store, admin):  # noqa: F811
    admin.add_own_path_item("c1", "goal", GOAL, client_agreed=True)
    owner = signed_in(app, "omistaja")
    token = csrf_of(owner, "/tyotila/polut")
    assert owner.get("/tyotila/asiakkaat/c1/oma-polku").status_code == 403
    response = owner.post("/tyotila/asiakkaat/c1/tapaaminen", data=meeting_form(token))
    assert response.status_code == 403
    assert store.find_meeting("c1") is None


def test_no_session_stale_token_and_disabled_account_change_nothing(
    app,  # noqa: F811
    store,  # noqa: F811
    browser,  # noqa: F811
    admin,
):
    assert goes_to_sign_in(browser.get("/tyotila/asiakkaat/c1/oma-polku"))
    no_session = browser.post("/tyotila/asiakkaat/c1/oma-polku", data=item_form("x"))
    assert goes_to_sign_in(no_session)
    anna = signed_in(app, "anna")
    old = csrf_of(anna, "/tyotila/asiakkaat/c1")
    assert anna.post("/tyotila/ulos", data={"csrf": old}).status_code == 303
    assert sign_in(anna, "anna").status_code == 303
    for data in (item_form(old), item_form("")):
        response = anna.post("/tyotila/asiakkaat/c1/oma-polku", data=data)
        assert response.status_code == 403
    response = anna.post("/tyotila/asiakkaat/c1/tapaaminen", data=meeting_form(old))
    assert response.status_code == 403
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    admin.disable_staff("anna")
    response = anna.post("/tyotila/asiakkaat/c1/oma-polku", data=item_form(token))
    assert goes_to_sign_in(response)
    assert texts(store, "c1") == [] and store.find_meeting("c1") is None


# --- the web API: the client's own view ----------------------------------------------


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def test_api_gives_only_the_callers_own_path(app, store, admin):  # noqa: F811
    admin.add_own_path_item("c1", "goal", GOAL, client_agreed=True)
    admin.add_own_path_item("c2", "goal", SECRET, client_agreed=True)
    admin.set_meeting("c1", SOON, "09:30", "Työpaja", "Anna Oma")
    raw = admin.issue_token("c1", 30)
    with TestClient(app) as api:
        assert api.get("/api/oma-polku").status_code == 401
        bad = api.get("/api/oma-polku", headers=bearer("x" * 43))
        assert bad.status_code == 401 and bad.json() == {
            "error": "a valid personal link is needed"
        }
        body = api.get("/api/oma-polku", headers=bearer(raw)).json()
    assert body["goals"] == [GOAL]
    assert body["meeting"]["when"].endswith("klo 9.30")
    # What the widget shows under the path picture, composed on the server.
    assert body["title"] == "Oma polkusi"
    assert [s["heading"] for s in body["sections"]] == [
        "Seuraava tapaaminen",
        "Tavoitteesi",
    ]
    assert body["sections"][1]["items"] == [GOAL]
    assert SECRET not in json.dumps(body, ensure_ascii=False)
    admin.revoke_tokens("c1")
    with TestClient(app) as api:
        assert api.get("/api/oma-polku", headers=bearer(raw)).status_code == 401


def test_api_with_nothing_written_has_nothing_to_show(app, store, admin):  # noqa: F811
    raw = admin.issue_token("c1", 30)
    with TestClient(app) as api:
        body = api.get("/api/oma-polku", headers=bearer(raw)).json()
    assert (body["sections"], body["meeting"], body["goals"]) == ([], None, [])
