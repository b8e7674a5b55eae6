"""The workspace (/tyotila) through TestClient, on SQLite and PostgreSQL:
sign-in, sessions and CSRF, who sees which client, and the work on a client
through the CLI's audited code."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import BACKENDS
from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import iso, now_utc, open_store
from polkuopas.web import create_app
from polkuopas.web.config import WebSettings
from polkuopas.web.staff import SignInLimits

STORE_BACKENDS = BACKENDS
PASSWORD = {
    "anna": "hän kävelee metsässä",
    "olli": "ui järvessä joka päivä",
    "omistaja": "polut kuntoon ennen joulua",
    "paakayttaja": "kaikki näkyy ylhäältä hyvin",
}
EMAIL = {name: f"{name}@esimerkki.fi" for name in PASSWORD}
CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture
def store(store_url, mini_dir):
    """The mini path with two workers: anna (omatyöntekijä of c1) and olli
    (ohjaaja of c2), the mini path's owner and an admin."""
    store = open_store(store_url)
    admin = Admin(store, load_catalog(mini_dir), "testi")
    admin.add_professional("aa", "Anna Oma", "omatyontekija")
    admin.add_professional("oo", "Olli Ohjaaja", "ohjaaja")
    admin.add_client("c1", "mini")
    admin.add_client("c2", "mini")
    admin.assign("c1", "omatyontekija", "aa")
    admin.assign("c2", "ohjaaja", "oo")
    admin.add_staff("anna", "Anna Oma", EMAIL["anna"], "tyontekija", "aa")
    admin.add_staff("olli", "Olli Ohjaaja", EMAIL["olli"], "tyontekija", "oo")
    admin.add_staff(
        "omistaja", "Pia Polku", EMAIL["omistaja"], "polun_omistaja", None, ["mini"]
    )
    admin.add_staff("paakayttaja", "Aki Admin", EMAIL["paakayttaja"], "admin")
    for staff_id, password in PASSWORD.items():
        admin.set_staff_password(staff_id, password)
    yield store
    store.db.close()


def make_app(store_url, mini_dir: Path, **overrides):
    settings = WebSettings(
        db=store_url,
        paths_dir=mini_dir,
        rasa_url="http://127.0.0.1:5005",
        widget_dir=PROJECT_ROOT / "web-widget",
        link_base="https://polkuopas.example/",
        **overrides,
    )
    return create_app(settings)


@pytest.fixture
def app(store, store_url, mini_dir):
    app = make_app(store_url, mini_dir)
    # The sign-in buckets do not refill while a slow test runs.
    app.state.sign_in_limits = SignInLimits(clock=lambda: 0.0)
    return app


@pytest.fixture
def browser(app):
    with TestClient(app, follow_redirects=False) as client:
        yield client


def csrf_of(client: TestClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    return CSRF_RE.search(page.text).group(1)


def sign_in(client: TestClient, who: str, password: str | None = None):
    token = csrf_of(client, "/tyotila/kirjaudu")
    return client.post(
        "/tyotila/kirjaudu",
        data={
            "csrf": token,
            "email": EMAIL.get(who, who),
            "password": PASSWORD.get(who, "") if password is None else password,
        },
    )


def signed_in(app, who: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    client.__enter__()
    assert sign_in(client, who).status_code == 303
    return client


def goes_to_sign_in(response) -> bool:
    return response.status_code == 303 and response.headers["location"] == (
        "/tyotila/kirjaudu"
    )


# --- sign-in -----------------------------------------------------------------


def test_sign_in_page_labels_its_fields(browser):
    page = browser.get("/tyotila/kirjaudu")
    assert page.status_code == 200
    assert '<label for="email">' in page.text and 'id="email"' in page.text
    assert '<label for="password">' in page.text and 'type="password"' in page.text
    assert page.headers["cache-control"] == "no-store"


def test_sign_in_sets_a_strict_httponly_cookie_and_goes_home(browser):
    response = sign_in(browser, "anna")
    assert response.status_code == 303
    assert response.headers["location"] == "/tyotila/asiakkaat"
    cookie = next(
        c for c in response.headers.get_list("set-cookie")
        if c.startswith("polkuopas_tyotila=")
    )  # fmt: skip
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/tyotila" in cookie and "Secure" not in cookie
    assert browser.get("/tyotila/asiakkaat").status_code == 200


def test_sign_in_cookie_is_secure_behind_https(store, store_url, mini_dir):
    app = make_app(store_url, mini_dir, staff_https=True)
    with TestClient(app, follow_redirects=False) as client:
        response = sign_in(client, "anna")
    cookies = response.headers.get_list("set-cookie")
    assert all("Secure" in c for c in cookies)


def test_sign_in_rotates_the_session_id(app, store):
    first = signed_in(app, "anna")
    (cookie,) = [c for c in first.cookies.jar if c.name == "polkuopas_tyotila"]
    planted = cookie.value
    # Someone else signs in on a browser that carries that session id.
    other = TestClient(app, follow_redirects=False)
    other.__enter__()
    token = csrf_of(other, "/tyotila/kirjaudu")
    other.cookies.set(
        "polkuopas_tyotila", planted, domain=cookie.domain, path="/tyotila"
    )
    response = other.post(
        "/tyotila/kirjaudu",
        data={"csrf": token, "email": EMAIL["olli"], "password": PASSWORD["olli"]},
    )
    assert response.status_code == 303
    assert other.cookies.get("polkuopas_tyotila") != planted
    assert store.find_session(planted) is None
    assert goes_to_sign_in(first.get("/tyotila/asiakkaat"))


def test_sign_in_wrong_password_and_unknown_email_answer_alike(browser):
    wrong = sign_in(browser, "anna", "väärä salasana tässä")
    unknown = sign_in(browser, "nobody@esimerkki.fi", "väärä salasana tässä")
    assert wrong.status_code == unknown.status_code == 400
    assert "Sähköpostiosoite tai salasana on väärin." in wrong.text
    assert 'aria-describedby="kirjaudu-virhe"' in wrong.text
    error = re.compile(r'<p class="form-error"[^>]*>[^<]*</p>')
    assert error.findall(wrong.text) == error.findall(unknown.text)
    assert "polkuopas_tyotila" not in browser.cookies


def test_sign_in_without_form_token_is_refused(browser):
    browser.get("/tyotila/kirjaudu")
    response = browser.post(
        "/tyotila/kirjaudu",
        data={"email": EMAIL["anna"], "password": PASSWORD["anna"]},
    )
    assert response.status_code == 400
    assert "Lomake ehti vanhentua" in response.text
    assert "polkuopas_tyotila" not in browser.cookies


def test_sign_in_is_throttled_per_account(browser):
    for _ in range(5):
        assert sign_in(browser, "anna", "väärä salasana tässä").status_code == 400
    response = sign_in(browser, "anna")  # even the right password waits
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "Liian monta kirjautumisyritystä" in response.text
    assert sign_in(browser, "olli").status_code == 303  # another account


def test_sign_in_is_throttled_per_address(browser):
    for number in range(20):
        sign_in(browser, f"x{number}@esimerkki.fi", "väärä salasana tässä")
    assert sign_in(browser, "olli").status_code == 429


def test_sign_in_refused_after_staff_disable(app, store, mini_dir):
    worker = signed_in(app, "anna")
    Admin(store, load_catalog(mini_dir), "testi").disable_staff("anna")
    assert goes_to_sign_in(worker.get("/tyotila/asiakkaat"))
    with TestClient(app, follow_redirects=False) as fresh:
        assert sign_in(fresh, "anna").status_code == 400


def test_session_ends_when_idle(app, store):
    worker = signed_in(app, "anna")
    store.db.execute(
        "UPDATE staff_sessions SET last_seen = ?",
        [iso(now_utc() - timedelta(minutes=31))],
    )
    assert goes_to_sign_in(worker.get("/tyotila/asiakkaat"))
    assert list(store.db.query("SELECT * FROM staff_sessions")) == []


def test_session_ends_after_eight_hours_in_use(app, store):
    worker = signed_in(app, "anna")
    store.db.execute(
        "UPDATE staff_sessions SET created_at = ?",
        [iso(now_utc() - timedelta(hours=8, minutes=1))],
    )
    assert goes_to_sign_in(worker.get("/tyotila/asiakkaat"))


def test_sign_out_ends_the_session(app, store):
    worker = signed_in(app, "anna")
    token = csrf_of(worker, "/tyotila/asiakkaat")
    response = worker.post("/tyotila/ulos", data={"csrf": token})
    assert response.status_code == 303
    assert goes_to_sign_in(worker.get("/tyotila/asiakkaat"))
    assert list(store.db.query("SELECT * FROM staff_sessions")) == []
    actions = [e["action"] for e in store.audit_entries("anna")]
    assert actions[-2:] == ["sign-in", "sign-out"]


def test_sign_out_needs_the_form_token(app):
    worker = signed_in(app, "anna")
    assert worker.post("/tyotila/ulos", data={"csrf": "x"}).status_code == 403
    assert worker.get("/tyotila/asiakkaat").status_code == 200


# --- who sees what --------------------------------------------------------------


def test_without_a_session_pages_and_forms_go_to_sign_in(browser, store):
    assert goes_to_sign_in(browser.get("/tyotila/asiakkaat"))
    assert goes_to_sign_in(browser.get("/tyotila/asiakkaat/c1"))
    assert goes_to_sign_in(browser.get("/tyotila/polut"))
    response = browser.post("/tyotila/asiakkaat/c1/siirra", data={"to": "tyo"})
    assert goes_to_sign_in(response)
    assert store.get_client("c1").current_step == "alku"


def test_worker_lists_only_their_own_clients(app):
    anna = signed_in(app, "anna")
    page = anna.get("/tyotila/asiakkaat")
    assert ">c1</a>" in page.text and ">c2</a>" not in page.text
    admin = signed_in(app, "paakayttaja")
    page = admin.get("/tyotila/asiakkaat")
    assert ">c1</a>" in page.text and ">c2</a>" in page.text


@pytest.mark.parametrize(
    ("who", "theirs", "others"), [("anna", "c1", "c2"), ("olli", "c2", "c1")]
)
def test_worker_cannot_reach_others_clients_by_id(app, store, who, theirs, others):
    worker = signed_in(app, who)
    assert worker.get(f"/tyotila/asiakkaat/{theirs}").status_code == 200
    token = csrf_of(worker, "/tyotila/asiakkaat")
    assert worker.get(f"/tyotila/asiakkaat/{others}").status_code == 404
    for action, data in [
        ("siirra", {"to": "tyo"}),
        ("nimea", {"role": "ohjaaja", "pro": "oo"}),
        ("paata", {"confirm": "kylla"}),
        ("linkki", {}),
        ("linkki/peru", {}),
    ]:
        url = f"/tyotila/asiakkaat/{others}/{action}"
        response = worker.post(url, data={"csrf": token, **data})
        assert response.status_code == 404, url
    client = store.get_client(others)
    assert (client.current_step, client.ended_on) == ("alku", None)
    assert list(store.db.query("SELECT * FROM tokens")) == []
    assert len(store.assignments(others)) == 1


def test_list_tells_days_on_step_requests_and_search(app, store, mini_dir):
    admin = Admin(store, load_catalog(mini_dir), "testi")
    admin.add_client("c3", "mini", started_on=date.today() - timedelta(days=10))
    admin.assign("c3", "omatyontekija", "aa")
    with store.transaction():
        store.add_contact_request("c3", None, None)
    anna = signed_in(app, "anna")
    page = anna.get("/tyotila/asiakkaat").text
    row = re.search(r">c3</a></th>(.*?)</tr>", page, re.S).group(1)
    assert "<td>10 pv</td>" in row and "Avoin (1)" in row
    admin.advance("c3", "tyo")
    row = re.search(
        r">c3</a></th>(.*?)</tr>", anna.get("/tyotila/asiakkaat").text, re.S
    )
    assert "<td>0 pv</td>" in row.group(1)
    found = anna.get("/tyotila/asiakkaat", params={"q": "työ"}).text
    assert ">c3</a>" in found and ">c1</a>" not in found


def test_unknown_and_foreign_clients_answer_alike(app):
    anna = signed_in(app, "anna")
    assert anna.get("/tyotila/asiakkaat/c2").text.replace("c2", "") == anna.get(
        "/tyotila/asiakkaat/eiole"
    ).text.replace("eiole", "")


def test_path_owner_sees_no_client(app):
    owner = signed_in(app, "omistaja")
    assert owner.get("/tyotila").headers["location"] == "/tyotila/polut"
    assert owner.get("/tyotila/asiakkaat").status_code == 403
    assert owner.get("/tyotila/asiakkaat/c1").status_code == 403
    assert owner.get("/tyotila/yhteydenotot").status_code == 403
    token = csrf_of(owner, "/tyotila/polut")
    response = owner.post("/tyotila/asiakkaat/c1/siirra", data={"csrf": token})
    assert response.status_code == 403


def test_path_figures_count_clients_without_naming_them(app):
    owner = signed_in(app, "omistaja")
    page = owner.get("/tyotila/polut")
    assert page.status_code == 200
    assert "Minin polku: 2 asiakasta palvelussa" in page.text
    assert '<th scope="row">1. Alku</th><td>2</td>' in page.text
    # Without the random CSRF token, which may hold the letters "c1".
    shown = re.sub(r'name="csrf" value="[^"]*"', "", page.text)
    assert "c1" not in shown and "c2" not in shown
    assert signed_in(app, "anna").get("/tyotila/polut").status_code == 403


def test_admin_sees_every_client(app):
    admin = signed_in(app, "paakayttaja")
    assert admin.get("/tyotila/asiakkaat/c1").status_code == 200
    assert admin.get("/tyotila/asiakkaat/c2").status_code == 200


def test_stale_and_missing_form_tokens_are_refused(app, store):
    anna = signed_in(app, "anna")
    old = csrf_of(anna, "/tyotila/asiakkaat")
    assert anna.post("/tyotila/ulos", data={"csrf": old}).status_code == 303
    assert sign_in(anna, "anna").status_code == 303
    for data in ({"to": "tyo"}, {"to": "tyo", "csrf": old}, {"to": "tyo", "csrf": ""}):
        response = anna.post("/tyotila/asiakkaat/c1/siirra", data=data)
        assert response.status_code == 403
        assert "Ei käyttöoikeutta" in response.text
    assert store.get_client("c1").current_step == "alku"


# --- working with a client --------------------------------------------------------


def test_client_page_shows_the_path_with_the_step_lit(app):
    page = signed_in(app, "anna").get("/tyotila/asiakkaat/c1")
    assert page.status_code == 200
    assert 'id="asiakas-step-alku" aria-current="step"' in page.text
    assert 'name="to" id="to-tyo"' in page.text  # the branch's two options
    assert 'name="to" id="to-loppu"' in page.text


def test_move_at_a_branch_needs_a_choice(app, store):
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    response = anna.post("/tyotila/asiakkaat/c1/siirra", data={"csrf": token})
    assert response.status_code == 400
    assert 'id="virhe-siirra" role="alert"' in response.text
    bad = anna.post("/tyotila/asiakkaat/c1/siirra", data={"csrf": token, "to": "x"})
    assert bad.status_code == 400
    assert store.get_client("c1").current_step == "alku"


def test_move_goes_through_the_audited_admin_code(app, store):
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    response = anna.post(
        "/tyotila/asiakkaat/c1/siirra", data={"csrf": token, "to": "tyo"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/tyotila/asiakkaat/c1?tehty=siirretty"
    assert store.get_client("c1").current_step == "tyo"
    entry = store.audit_entries("c1")[-1]
    assert (entry["actor"], entry["action"]) == ("tyotila:anna", "advance")
    assert store.step_history("c1")[-1]["moved_by"] == "tyotila:anna"
    page = anna.get(response.headers["location"])
    assert "Asiakas on siirretty seuraavaan vaiheeseen." in page.text


def test_assign_and_unassign_a_professional(app, store):
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    data = {"csrf": token, "role": "ohjaaja", "pro": "oo"}
    assert anna.post("/tyotila/asiakkaat/c1/nimea", data=data).status_code == 303
    assert [(a.role, a.professional.id) for a in store.assignments("c1")] == [
        ("omatyontekija", "aa"),
        ("ohjaaja", "oo"),
    ]
    assert anna.post("/tyotila/asiakkaat/c1/nimea", data=data).status_code == 400
    url = "/tyotila/asiakkaat/c1/poista-nimeaminen"
    assert anna.post(url, data=data).status_code == 303
    assert len(store.assignments("c1")) == 1
    # Olli now saw c1 only while assigned.
    assert signed_in(app, "olli").get("/tyotila/asiakkaat/c1").status_code == 404


def test_end_the_service_schedules_the_follow_up(app, store):
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    unconfirmed = anna.post("/tyotila/asiakkaat/c1/paata", data={"csrf": token})
    assert unconfirmed.status_code == 400
    response = anna.post(
        "/tyotila/asiakkaat/c1/paata", data={"csrf": token, "confirm": "kylla"}
    )
    assert response.status_code == 303
    assert store.get_client("c1").ended
    assert store.find_followup("c1").role == "omatyontekija"


def test_personal_link_is_shown_once_with_a_qr_code(app, store):
    anna = signed_in(app, "anna")
    token = csrf_of(anna, "/tyotila/asiakkaat/c1")
    page = anna.post("/tyotila/asiakkaat/c1/linkki", data={"csrf": token})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    raw = re.search(r"https://polkuopas\.example/#token=([\w-]+)", page.text).group(1)
    assert store.check_token(raw).client_id == "c1"
    assert '<svg role="img" aria-label="QR-koodi' in page.text
    stored = " ".join(
        str(v) for r in store.db.query("SELECT * FROM tokens") for v in r.values()
    )
    audit = " ".join(e["details"] for e in store.audit_entries())
    assert raw not in stored and raw not in audit
    assert raw not in anna.get("/tyotila/asiakkaat/c1").text
    revoked = anna.post("/tyotila/asiakkaat/c1/linkki/peru", data={"csrf": token})
    assert revoked.status_code == 303
    assert not store.check_token(raw).valid


# --- contact requests --------------------------------------------------------------


def test_inbox_shows_own_requests_and_marks_them_done(app, store):
    with store.transaction():
        mine = store.add_contact_request(
            "c1", "omatyontekija", "aa", "mistä saan bussirahat", "aamupaiva"
        )
        others = store.add_contact_request("c2", "ohjaaja", "oo")
    anna = signed_in(app, "anna")
    page = anna.get("/tyotila/yhteydenotot")
    assert f'action="/tyotila/yhteydenotot/{mine}/hoidettu"' in page.text
    assert "<dd>mistä saan bussirahat</dd>" in page.text
    assert "<dd>aamupäivällä</dd>" in page.text
    assert f"/yhteydenotot/{others}/" not in page.text
    token = CSRF_RE.search(page.text).group(1)
    foreign = anna.post(
        f"/tyotila/yhteydenotot/{others}/hoidettu", data={"csrf": token}
    )
    assert foreign.status_code == 404
    done = anna.post(
        f"/tyotila/yhteydenotot/{mine}/hoidettu",
        data={"csrf": token, "note": "Soitin, sovittiin tapaaminen."},
    )
    assert done.status_code == 303
    row = store.find_contact_request(mine)
    assert (row["handled_by"], row["note"]) == (
        "tyotila:anna",
        "Soitin, sovittiin tapaaminen.",
    )
    assert "Soitin" not in " ".join(e["details"] for e in store.audit_entries())
    assert store.find_contact_request(others)["handled_at"] is None


# --- follow-up contacts ---------------------------------------------------------


def test_followups_of_own_ended_clients_are_marked_done(app, store, mini_dir):
    admin = Admin(store, load_catalog(mini_dir), "testi")
    admin.end("c1")
    admin.end("c2")
    anna = signed_in(app, "anna")
    page = anna.get("/tyotila/jalkikontaktit")
    assert 'action="/tyotila/jalkikontaktit/c1/tehty"' in page.text
    assert "/jalkikontaktit/c2/" not in page.text
    token = CSRF_RE.search(page.text).group(1)
    foreign = anna.post("/tyotila/jalkikontaktit/c2/tehty", data={"csrf": token})
    assert foreign.status_code == 404
    assert anna.post("/tyotila/jalkikontaktit/c1/tehty").status_code == 403
    done = anna.post("/tyotila/jalkikontaktit/c1/tehty", data={"csrf": token})
    assert done.status_code == 303
    assert store.find_followup("c1").done_by == "tyotila:anna"
    assert store.find_followup("c2").done_at is None
    assert signed_in(app, "omistaja").get("/tyotila/jalkikontaktit").status_code == 403


def test_sign_in_clears_sessions_past_their_limits(app, store):
    signed_in(app, "anna")
    store.db.execute(
        "UPDATE staff_sessions SET last_seen = ?",
        [iso(now_utc() - timedelta(hours=1))],
    )
    signed_in(app, "olli")
    staff = [r["staff_id"] for r in store.db.query("SELECT * FROM staff_sessions")]
    assert staff == ["olli"]


def test_walk_through_shows_one_step_with_the_clients_own_names(app, store):
    anna = signed_in(app, "anna")
    page = anna.get("/tyotila/asiakkaat/c1/esitys")
    assert page.status_code == 200
    shown = re.findall(r'<section class="walk__step( walk__step--other)?"', page.text)
    assert shown == ["", " walk__step--other", " walk__step--other"]
    assert "Olet nyt tässä vaiheessa." in page.text
    assert "Omatyöntekijä Anna Oma" in page.text
    assert 'href="?vaihe=2">Seuraava vaihe' in page.text
    second = anna.get("/tyotila/asiakkaat/c1/esitys", params={"vaihe": 2}).text
    assert re.findall(r'<section class="walk__step( walk__step--other)?"', second) == [
        " walk__step--other",
        "",
        " walk__step--other",
    ]
    assert anna.get("/tyotila/asiakkaat/c2/esitys").status_code == 404
    assert (
        signed_in(app, "omistaja").get("/tyotila/asiakkaat/c1/esitys").status_code
        == 403
    )
