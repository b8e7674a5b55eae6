"""The workspace's admin pages (clients, professionals, staff accounts), the
path owners' own paths and learning pages, and the printable link slip,
through TestClient on SQLite and PostgreSQL: every route for every role, by
id (no IDOR), without a session, with a stale form token, after disable; every
change through the CLI's audited code with the staff member as the actor."""

from __future__ import annotations

import copy
import re

import pytest
import test_workspace_web as web
from fastapi.testclient import TestClient
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from test_workspace_web import EMAIL, csrf_of, goes_to_sign_in, sign_in, signed_in

from conftest import BACKENDS, MINI_PATH, write_catalog
from polkuopas.admin import Admin
from polkuopas.bot_actions import ActionRequestHuman, Services
from polkuopas.catalog import load_catalog
from polkuopas.messages import Messages
from polkuopas.passwords import verify_password

STORE_BACKENDS = BACKENDS
# The same store (two workers, a path owner, an admin) and app as there.
store = web.store
app = web.app
GOOD = "kolme vihreää omenaa puussa"


@pytest.fixture
def mini_dir(tmp_path):
    """The mini path and a second one, "toinen", so a path owner of one can
    try the other's pages."""
    other = copy.deepcopy(MINI_PATH)
    other.update(id="toinen", name="Toinen polku", short_name="Toisen polku")
    return write_catalog(tmp_path / "paths", paths=[MINI_PATH, other])


def post(client: TestClient, url: str, page: str, **data: str):
    return client.post(url, data={"csrf": csrf_of(client, page), **data})


def actors(store, entity_id: str) -> list[tuple[str, str]]:
    return [(e["actor"], e["action"]) for e in store.audit_entries(entity_id)]


# --- who may do what --------------------------------------------------------------

ADMIN_PAGES = [
    "/tyotila/henkilosto",
    "/tyotila/henkilosto/olli",
    "/tyotila/ammattilaiset",
    "/tyotila/ammattilaiset/oo",
]
ADMIN_FORMS = [
    ("/tyotila/henkilosto", {"id": "x", "name": "X", "email": "x@esimerkki.fi",
                             "role": "admin"}),
    ("/tyotila/henkilosto/olli/rooli", {"role": "admin", "pro": ""}),
    ("/tyotila/henkilosto/omistaja/polut", {"polku-toinen": "kylla"}),
    ("/tyotila/henkilosto/olli/salasana", {"password": GOOD, "again": GOOD}),
    ("/tyotila/henkilosto/olli/poista-kaytosta", {"confirm": "kylla"}),
    ("/tyotila/ammattilaiset", {"id": "x", "name": "X", "role": "ohjaaja"}),
    ("/tyotila/ammattilaiset/oo", {"phone": "040 111 2222"}),
]  # fmt: skip


def unchanged(store) -> tuple:
    olli = store.get_staff("olli")
    return (
        [m.id for m in store.list_staff()],
        (olli.role, olli.active, store.staff_password_hash("olli")),
        store.staff_paths("omistaja"),
        [(p.id, p.phone) for p in store.list_professionals()],
    )


@pytest.mark.parametrize("who", ["anna", "omistaja"])
def test_admin_pages_and_forms_are_for_the_admin_only(app, store, who):
    member = signed_in(app, who)
    before = unchanged(store)
    home = "/tyotila/polut" if who == "omistaja" else "/tyotila/asiakkaat"
    token = csrf_of(member, home)
    for url in ADMIN_PAGES:
        assert member.get(url).status_code == 403, url
    for url, data in ADMIN_FORMS:
        response = member.post(url, data={"csrf": token, **data})
        assert response.status_code == 403, url
        assert "Ei käyttöoikeutta" in response.text
    assert unchanged(store) == before
    assert "/tyotila/henkilosto" not in member.get(home).text  # not in the menu


def test_admin_pages_without_a_session_go_to_sign_in(app, store):
    with TestClient(app, follow_redirects=False) as nobody:
        for url in [*ADMIN_PAGES, "/tyotila/uusi-asiakas", "/tyotila/oppiminen",
                    "/tyotila/oppiminen/mini"]:  # fmt: skip
            assert goes_to_sign_in(nobody.get(url)), url
        for url, data in ADMIN_FORMS:
            assert goes_to_sign_in(nobody.post(url, data={"csrf": "x", **data}))


def test_admin_forms_refuse_a_stale_form_token(app, store):
    admin = signed_in(app, "paakayttaja")
    old = csrf_of(admin, "/tyotila/henkilosto")
    admin.post("/tyotila/ulos", data={"csrf": old})
    assert sign_in(admin, "paakayttaja").status_code == 303
    before = unchanged(store)
    for url, data in [*ADMIN_FORMS, ("/tyotila/uusi-asiakas",
                                     {"id": "c9", "path": "mini"})]:  # fmt: skip
        for token in (old, ""):
            assert admin.post(url, data={"csrf": token, **data}).status_code == 403
    assert unchanged(store) == before
    assert store.find_client("c9") is None


def test_admin_sees_every_admin_page(app):
    admin = signed_in(app, "paakayttaja")
    for url in ADMIN_PAGES:
        assert admin.get(url).status_code == 200, url
    assert admin.get("/tyotila/henkilosto/nobody").status_code == 404
    assert admin.get("/tyotila/ammattilaiset/nobody").status_code == 404


# --- adding a client -----------------------------------------------------------------


def test_worker_adds_a_client_assigned_to_themselves(app, store):
    anna = signed_in(app, "anna")
    page = anna.get("/tyotila/uusi-asiakas")
    assert "sinut nimetään hänelle roolissa omatyöntekijä" in page.text
    response = post(anna, "/tyotila/uusi-asiakas", "/tyotila/uusi-asiakas",
                    id="c9", path="mini", step="", start="")  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/tyotila/asiakkaat/c9?tehty=lisatty"
    assert "Asiakas on lisätty" in anna.get(response.headers["location"]).text
    assert store.get_client("c9").current_step == "alku"
    assert [(a.role, a.professional.id) for a in store.assignments("c9")] == [
        ("omatyontekija", "aa")
    ]
    assert actors(store, "c9") == [("tyotila:anna", "add"), ("tyotila:anna", "assign")]
    olli = signed_in(app, "olli")
    assert olli.get("/tyotila/asiakkaat/c9").status_code == 404


def test_adding_a_client_with_a_taken_or_bad_id_loses_nothing(app, store):
    anna = signed_in(app, "anna")
    for client_id, text in (("c2", "Tällä tunnuksella on jo asiakas"),
                            ("Matti Meikäläinen", "Tunnus ei kelpaa")):  # fmt: skip
        response = post(anna, "/tyotila/uusi-asiakas", "/tyotila/uusi-asiakas",
                        id=client_id, path="mini", start="2026-01-05")  # fmt: skip
        assert response.status_code == 400
        assert text in response.text
        assert f'value="{client_id}"' in response.text
        assert 'value="2026-01-05"' in response.text
    response = post(anna, "/tyotila/uusi-asiakas", "/tyotila/uusi-asiakas",
                    id="c9", path="mini", step="eiole")  # fmt: skip
    assert response.status_code == 400 and "Valitse vaihe" in response.text
    assert store.find_client("c9") is None
    assert not store.is_assigned("c2", "aa")


def test_admin_adds_a_client_with_or_without_a_professional(app, store):
    admin = signed_in(app, "paakayttaja")
    page = "/tyotila/uusi-asiakas"
    assert post(admin, page, page, id="c8", path="toinen", step="tyo",
                pro="", role="ohjaaja").status_code == 303  # fmt: skip
    assert store.get_client("c8").current_step == "tyo"
    assert store.assignments("c8") == []
    assert post(admin, page, page, id="c9", path="mini", pro="oo",
                role="ohjaaja").status_code == 303  # fmt: skip
    assert store.is_assigned("c9", "oo")
    assert actors(store, "c9")[-1] == ("tyotila:paakayttaja", "assign")


def test_path_owner_adds_no_client(app, store):
    owner = signed_in(app, "omistaja")
    assert owner.get("/tyotila/uusi-asiakas").status_code == 403
    token = csrf_of(owner, "/tyotila/polut")
    response = owner.post("/tyotila/uusi-asiakas",
                          data={"csrf": token, "id": "c9", "path": "mini"})  # fmt: skip
    assert response.status_code == 403
    assert store.find_client("c9") is None


# --- professionals --------------------------------------------------------------------


def test_admin_adds_a_professional_and_edits_their_office_hours(app, store):
    admin = signed_in(app, "paakayttaja")
    page = "/tyotila/ammattilaiset"
    response = post(admin, page, page, id="uu", name="Ulla Uusi", role="ohjaaja",
                    organisation="Paja", phone="040 123 4567",
                    email="ulla@esimerkki.fi", hours="ma klo 9–11")  # fmt: skip
    assert response.status_code == 303
    pro = store.get_professional("uu")
    assert (pro.phone, pro.hours) == ("040 123 4567", "ma klo 9–11")
    edit = "/tyotila/ammattilaiset/uu"
    response = post(admin, edit, edit, phone="", email="ulla@esimerkki.fi",
                    hours="ti ja to klo 12–13")  # fmt: skip
    assert response.status_code == 303
    pro = store.get_professional("uu")
    assert (pro.phone, pro.hours) == (None, "ti ja to klo 12–13")
    assert actors(store, "uu") == [
        ("tyotila:paakayttaja", "add"),
        ("tyotila:paakayttaja", "edit"),
    ]
    assert "ti ja to klo 12–13" in admin.get(page).text


def test_professional_with_a_bad_phone_is_not_saved(app, store):
    admin = signed_in(app, "paakayttaja")
    page = "/tyotila/ammattilaiset"
    response = post(admin, page, page, id="uu", name="Ulla Uusi", role="ohjaaja",
                    phone="soita minulle")  # fmt: skip
    assert response.status_code == 400
    assert "Puhelinnumero ei kelpaa" in response.text
    assert 'value="Ulla Uusi"' in response.text
    assert store.find_professional("uu") is None
    edit = "/tyotila/ammattilaiset/oo"
    response = post(admin, edit, edit, phone="abc", email="", hours="")
    assert response.status_code == 400
    assert store.get_professional("oo").phone is None
    assert admin.post("/tyotila/ammattilaiset/nobody", data={
        "csrf": csrf_of(admin, page), "phone": ""}).status_code == 404  # fmt: skip


# --- staff accounts --------------------------------------------------------------


def test_admin_adds_staff_and_sets_a_password_with_the_cli_checks(app, store):
    admin = signed_in(app, "paakayttaja")
    response = post(admin, "/tyotila/henkilosto", "/tyotila/henkilosto",
                    id="ulla", name="Ulla Uusi", email="Ulla@Esimerkki.fi",
                    role="tyontekija", pro="oo")  # fmt: skip
    assert response.status_code == 303
    member = store.get_staff("ulla")
    assert (member.email, member.professional_id) == ("ulla@esimerkki.fi", "oo")
    page = "/tyotila/henkilosto/ulla"
    for password, again, text in (
        ("lyhyt", "lyhyt", "vähintään 12 merkkiä"),
        ("salasana1234", "salasana1234", "liian yleinen"),
        ("ulla uusi on paras", "ulla uusi on paras", "käyttäjän tunnusta"),
        (GOOD, GOOD + "x", "eivät ole samat"),
    ):
        response = post(admin, page + "/salasana", page, password=password,
                        again=again)  # fmt: skip
        assert response.status_code == 400, password
        assert text in response.text
        assert store.staff_password_hash("ulla") is None
    response = post(admin, page + "/salasana", page, password=GOOD, again=GOOD)
    assert response.status_code == 303
    assert verify_password(store.staff_password_hash("ulla"), GOOD)
    assert all(GOOD not in e["details"] for e in store.audit_entries("ulla"))
    assert actors(store, "ulla") == [
        ("tyotila:paakayttaja", "add"),
        ("tyotila:paakayttaja", "set-password"),
    ]
    with TestClient(app, follow_redirects=False) as ulla:
        assert sign_in(ulla, "ulla@esimerkki.fi", GOOD).status_code == 303
        assert ulla.get("/tyotila/asiakkaat/c2").status_code == 200


def test_adding_staff_explains_what_is_wrong(app, store):
    admin = signed_in(app, "paakayttaja")
    page = "/tyotila/henkilosto"
    for data, text in (
        ({"id": "ulla", "email": "ulla@esimerkki.fi", "role": "tyontekija"},
         "Työntekijälle pitää valita ammattilainen"),
        ({"id": "ulla", "email": EMAIL["anna"], "role": "admin"},
         "Sähköpostiosoite on jo toisen käyttäjän"),
        ({"id": "anna", "email": "ulla@esimerkki.fi", "role": "admin"},
         "Tällä tunnuksella on jo käyttäjä"),
    ):  # fmt: skip
        response = post(admin, page, page, name="Ulla Uusi", **data)
        assert response.status_code == 400
        assert text in response.text
    assert store.find_staff("ulla") is None


def test_changing_a_role_ends_the_members_sessions(app, store):
    olli = signed_in(app, "olli")
    assert olli.get("/tyotila/asiakkaat/c2").status_code == 200
    admin = signed_in(app, "paakayttaja")
    page = "/tyotila/henkilosto/olli"
    response = post(admin, page + "/rooli", page, role="polun_omistaja", pro="")
    assert response.status_code == 303
    assert goes_to_sign_in(olli.get("/tyotila/asiakkaat/c2"))
    member = store.get_staff("olli")
    assert (member.role, member.professional_id) == ("polun_omistaja", None)
    response = post(admin, page + "/polut", page, **{"polku-toinen": "kylla"})
    assert response.status_code == 303
    assert store.staff_paths("olli") == ["toinen"]
    # A worker needs a professional record; a worker has no paths.
    response = post(admin, page + "/rooli", page, role="tyontekija", pro="")
    assert response.status_code == 400
    assert "Työntekijälle pitää valita ammattilainen" in response.text
    assert post(admin, page + "/rooli", page, role="tyontekija",
                pro="oo").status_code == 303  # fmt: skip
    assert store.staff_paths("olli") == []
    response = post(admin, page + "/polut", page, **{"polku-mini": "kylla"})
    assert response.status_code == 400
    assert store.staff_paths("olli") == []


def test_disabled_member_is_signed_out_and_cannot_sign_in(app, store):
    anna = signed_in(app, "anna")
    admin = signed_in(app, "paakayttaja")
    page = "/tyotila/henkilosto/anna"
    response = post(admin, page + "/poista-kaytosta", page)
    assert response.status_code == 400 and "Vahvista" in response.text
    assert store.get_staff("anna").active
    response = post(admin, page + "/poista-kaytosta", page, confirm="kylla")
    assert response.status_code == 303
    assert not store.get_staff("anna").active
    assert goes_to_sign_in(anna.get("/tyotila/asiakkaat"))
    assert sign_in(anna, "anna").status_code == 400
    assert actors(store, "anna")[-1] == ("tyotila:paakayttaja", "disable")


def test_admin_cannot_disable_or_demote_themselves(app, store):
    admin = signed_in(app, "paakayttaja")
    page = "/tyotila/henkilosto/paakayttaja"
    assert post(admin, page + "/poista-kaytosta", page,
                confirm="kylla").status_code == 400  # fmt: skip
    assert post(admin, page + "/rooli", page, role="polun_omistaja",
                pro="").status_code == 400  # fmt: skip
    member = store.get_staff("paakayttaja")
    assert (member.role, member.active) == ("admin", True)


# --- a path owner's own paths ----------------------------------------------------


@pytest.mark.parametrize("url", ["/tyotila/oppiminen/{}", "/tyotila/polut"])
def test_path_owner_sees_only_their_own_paths(app, store, url):
    owner = signed_in(app, "omistaja")
    if "{}" in url:
        assert owner.get(url.format("mini")).status_code == 200
        foreign = owner.get(url.format("toinen"))
        unknown = owner.get(url.format("eiole"))
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.text == unknown.text
    else:
        page = owner.get(url).text
        assert "Minin polku" in page and "Toisen polku" not in page
    admin = signed_in(app, "paakayttaja")
    assert admin.get("/tyotila/oppiminen/toinen").status_code == 200
    anna = signed_in(app, "anna")
    assert anna.get("/tyotila/oppiminen/mini").status_code == 403
    assert anna.get("/tyotila/polut").status_code == 403


def test_path_owner_without_paths_sees_none(app, store):
    Admin(store, load_catalog(app.state.settings.paths_dir), "testi").set_staff_paths(
        "omistaja", []
    )
    owner = signed_in(app, "omistaja")
    assert "Sinulle ei ole vielä liitetty polkuja" in owner.get("/tyotila/polut").text
    assert owner.get("/tyotila/oppiminen/mini").status_code == 404


# --- the learning pages ----------------------------------------------------------


def test_learning_page_shows_masked_texts_and_counts_without_clients(app, store):
    with store.transaction():
        for _ in range(2):
            store.add_unanswered("fallback", "saako koiran ottaa mukaan",
                                 "mini", [("ask_next_step", 0.41)])  # fmt: skip
        store.add_unanswered("low_confidence", "soita 040 123 4567 kiitos",
                             "mini", [("request_human", 0.74),
                                      ("ask_contact", 0.2)])  # fmt: skip
        store.add_unanswered("fallback", "toisen polun kysymys", "toinen", [])
        store.add_feedback("raha", False, "ei auttanut, kirjoita 040 765 4321",
                           client_id="c1", path_id="mini")  # fmt: skip
        store.add_feedback("raha", False, "ei auttanut, kirjoita 040 765 4321",
                           client_id="c2", path_id="mini")  # fmt: skip
        store.add_feedback("raha", True, None, client_id="c1", path_id="mini")
    owner = signed_in(app, "omistaja")
    page = owner.get("/tyotila/oppiminen")
    assert page.status_code == 303  # one path: straight to it
    page = owner.get("/tyotila/oppiminen/mini").text
    row = re.search(r"saako koiran ottaa mukaan</th>\s*<td>(\d+)</td>", page)
    assert row and row.group(1) == "2"
    assert "<code>ask_next_step</code>" in page and "41 %" in page
    assert "Epävarma vastaus" in page
    assert "040 123 4567" not in page and "040 765 4321" not in page
    assert re.search(r"ei auttanut, kirjoita [^<]*</th>\s*<td>[^<]*</td>\s*<td>2</td>",
                     page)  # fmt: skip
    assert "toisen polun kysymys" not in page
    # Without the random CSRF token, which may hold the letters "c1".
    shown = re.sub(r'name="csrf" value="[^"]*"', "", page)
    assert "c1" not in shown and "c2" not in shown
    assert "/tyotila/asiakkaat/" not in page
    columns = {c for r in store.db.query("SELECT * FROM unanswered") for c in r}
    assert not any("client" in c for c in columns)


def test_purge_deletes_only_the_learning_notes_past_the_date(store):
    with store.transaction():
        store.add_unanswered("fallback", "vanha", "mini", [])
        store.db.execute(
            "UPDATE unanswered SET created_at = '2020-01-01T00:00:00+00:00'"
        )
        store.add_unanswered("fallback", "uusi", "mini", [])
    with store.transaction():
        assert store.purge_unanswered("2025-01-01T00:00:00+00:00") == 1
    assert [r["text"] for r in store.db.query("SELECT text FROM unanswered")] == [
        "uusi"
    ]


# --- the printable slip ----------------------------------------------------------


def test_link_page_has_a_slip_with_the_workers_number(app, store):
    Admin(
        store, load_catalog(app.state.settings.paths_dir), "testi"
    ).update_professional("aa", phone="040 555 1234", hours="ma–pe klo 9–10")
    anna = signed_in(app, "anna")
    page = post(anna, "/tyotila/asiakkaat/c1/linkki", "/tyotila/asiakkaat/c1").text
    slip = page[page.index('<section class="slip"') :]
    raw = re.search(r"#token=([\w-]+)", slip).group(1)
    assert f"https://polkuopas.example/#token={raw}" in slip
    assert "Sinun oma linkkisi Polkuoppaaseen" in slip
    assert "Älä anna linkkiä muille" in slip
    assert "Anna Oma" in slip and "040 555 1234" in slip and "ma–pe klo 9–10" in slip
    assert re.search(r"Linkki toimii <strong>\d+\.\d+\.\d{4}</strong> asti", slip)
    assert '<svg role="img" aria-label="QR-koodi' in slip


async def test_office_hours_edited_in_the_browser_are_what_the_chat_tells(
    app, store, mini_dir
):
    admin = signed_in(app, "paakayttaja")
    edit = "/tyotila/ammattilaiset/aa"
    assert post(admin, edit, edit, phone="", email="",
                hours="ke klo 10–12").status_code == 303  # fmt: skip
    services = Services(store, load_catalog(mini_dir), Messages.load())
    dispatcher = CollectingDispatcher()
    tracker = Tracker.from_dict({
        "sender_id": "t", "slots": {}, "events": [],
        "latest_message": {
            "intent": {"name": "request_human", "confidence": 0.99},
            "entities": [], "text": "haluan puhua ihmiselle",
            "metadata": {"polkuopas": {"identity": "valid", "client_id": "c1"}},
        },
    })  # fmt: skip
    await ActionRequestHuman(services).run(dispatcher, tracker, {})
    reachable = [m for m in dispatcher.messages
                 if m.get("polkuopas_message") == "human_reachable"]  # fmt: skip
    assert len(reachable) == 1
    assert "Anna Oma" in reachable[0]["text"] and "ke klo 10–12" in reachable[0]["text"]


def test_learning_summary_shows_the_guess_made_most_often(store):
    once = [("ask_next_step", 0.4), ("ask_contact", 0.3)]
    twice = [("ask_contact", 0.45), ("ask_next_step", 0.3)]
    with store.transaction():
        store.add_unanswered("fallback", "sama kysymys", "mini", once)
        for _ in range(2):
            store.add_unanswered("fallback", "sama kysymys", "mini", twice)
        store.add_unanswered("fallback", "sama kysymys", "toinen", [("greet", 0.4)])
    (row,) = store.unanswered_summary("mini")
    # Alphabetically ask_next_step would win; it was guessed first once, not twice.
    assert (row["times"], row["intent"], row["second_intent"]) == (
        3,
        "ask_contact",
        "ask_next_step",
    )
