"""Single sign-on to the workspace against a real OpenID Provider.

The provider is Debian's `glewlwyd` package (tests/oidc_provider.py), started
on a free port with a throwaway SQLite database for this module: a C single
sign-on server with its own discovery document, JWKS, RS256 ID tokens, PKCE
and login API, packaged in Debian and installed by `make test` like the other
servers the tests start. It was chosen over LemonLDAP::NG (a Perl web stack
that needs a web server and FastCGI around it) and over a Python OP library
(which would need a hand-written app around its endpoints, with the login
form ours): Glewlwyd is a whole provider as a county runs one.

The web app runs in TestClient; its calls to the provider (discovery, JWKS,
token) are real HTTP to Glewlwyd, and the user's browser at the provider is an
httpx client that signs in and consents through Glewlwyd's login API, the
calls its login page makes. Each case drives the whole flow. The same flow
through Glewlwyd's login page in Chromium, with the cookies as a browser
keeps them: tests/browser/test_sso.py.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from oidc_provider import CLIENT_ID, Glewlwyd, available
from scaleout.servers import in_ci
from test_workspace_web import make_app

from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.store import open_store
from polkuopas.web.config import WebSettings
from polkuopas.web.staff import SignInLimits
from polkuopas.web.staff.oidc import FLOW_COOKIE
from polkuopas.web.staff.session import COOKIE

SECRET = "polkuopas-client-secret-for-tests"
RETURN = "http://testserver/tyotila/oidc/paluu"
# Users at the provider: (password, e-mail, e-mail verified).
USERS = {
    "anna": ("anna-salasana-1", "Anna.Oma@esimerkki.fi", True),
    "olli": ("olli-salasana-2", "olli@esimerkki.fi", True),
    "vera": ("vera-salasana-3", "vera@esimerkki.fi", False),
    "uusi": ("uusi-salasana-4", "uusi@esimerkki.fi", True),
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Glewlwyd:
    if not available():
        message = "Debian's glewlwyd is not installed (make test installs it)"
        if in_ci():
            pytest.fail(f"{message}; CI=true: this test must run")
        pytest.skip(message)
    server = Glewlwyd(tmp_path_factory.mktemp("glewlwyd"))
    try:
        server.start()
        server.configure(RETURN, SECRET)
        for name, (password, email, verified) in USERS.items():
            server.add_user(name, password, email, verified, name.title())
        yield server
    finally:
        server.stop()


@pytest.fixture
def store(store_url, mini_dir):
    """Staff: anna (active), olli (disabled), vera (active; her e-mail is not
    verified at the provider). The provider's `uusi` has no account."""
    store = open_store(store_url)
    admin = Admin(store, load_catalog(mini_dir), "testi")
    admin.add_professional("aa", "Anna Oma", "omatyontekija")
    admin.add_staff("anna", "Anna Oma", "anna.oma@esimerkki.fi", "tyontekija", "aa")
    admin.add_staff("olli", "Olli Ohjaaja", "olli@esimerkki.fi", "admin")
    admin.add_staff("vera", "Vera Vahvistamaton", "vera@esimerkki.fi", "admin")
    admin.disable_staff("olli")
    yield store
    store.db.close()


@pytest.fixture
def app(provider, store, store_url, mini_dir):
    app = make_app(
        store_url,
        mini_dir,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SECRET,
        oidc_label="Kirjaudu testitunnuksella",
    )
    app.state.sign_in_limits = SignInLimits(clock=lambda: 0.0)
    return app


@pytest.fixture
def web(app):
    with TestClient(app, follow_redirects=False) as client:
        yield client


def to_provider(web: TestClient, provider: Glewlwyd) -> str:
    """The sign-in page's button: the provider's authorization URL."""
    response = web.get("/tyotila/oidc")
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    assert url.startswith(f"{provider.issuer}/auth?")
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [RETURN]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0] and query["nonce"][0] and query["code_challenge"][0]
    flow = response.headers["set-cookie"].lower()
    assert FLOW_COOKIE in flow and "samesite=lax" in flow and "httponly" in flow
    return url


def at_provider(provider: Glewlwyd, url: str, user: str) -> str:
    """The user signs in at the provider; where it sends the browser back."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        first = browser.get(url)
        assert first.status_code == 302
        login_page = first.headers["location"]
        assert urlsplit(login_page).path == "/login.html"
        location = provider.sign_in(browser, login_page, user, USERS[user][0])
    assert location.startswith(f"{RETURN}?"), location
    return location


def sign_in(web: TestClient, provider: Glewlwyd, user: str):
    return web.get(at_provider(provider, to_provider(web, provider), user))


def session_cookie(response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE}=") and "max-age=0" not in header.lower():
            return header
    return None


def with_query(location: str, **changes: str) -> str:
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- the button ----------------------------------------------------------------


def test_the_button_is_on_the_sign_in_page(web):
    page = web.get("/tyotila/kirjaudu")
    assert page.status_code == 200
    assert re.search(r'href="/tyotila/oidc">Kirjaudu testitunnuksella</a>', page.text)


def test_without_an_issuer_there_is_no_button_and_no_route(store, store_url, mini_dir):
    with TestClient(make_app(store_url, mini_dir), follow_redirects=False) as web:
        assert "/tyotila/oidc" not in web.get("/tyotila/kirjaudu").text
        assert web.get("/tyotila/oidc").status_code == 404
        assert web.get("/tyotila/oidc/paluu?code=x&state=y").status_code == 404


# --- the flow ----------------------------------------------------------------------


def test_a_verified_email_of_an_active_account_signs_in(web, provider, store, caplog):
    caplog.set_level("DEBUG")
    location = at_provider(provider, to_provider(web, provider), "anna")
    code = parse_qs(urlsplit(location).query)["code"][0]
    state, nonce, verifier = web.cookies[FLOW_COOKIE].split(".")
    response = web.get(location)
    assert response.status_code == 200, response.text
    # A page that continues by itself, so that the Strict cookie is sent.
    assert 'http-equiv="refresh" content="0; url=/tyotila/asiakkaat"' in response.text
    cookie = session_cookie(response)
    assert cookie is not None
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "path=/tyotila" in cookie.lower()
    assert FLOW_COOKIE not in web.cookies  # the flow's secrets are gone
    home = web.get("/tyotila/asiakkaat")
    assert home.status_code == 200
    assert "kirjautuneena Anna Oma" in home.text
    signed = [e for e in store.audit_entries("anna") if e["action"] == "sign-in"]
    assert len(signed) == 1 and '"method": "oidc"' in signed[0]["details"]
    assert signed[0]["actor"] == "tyotila:anna"
    assert "single sign-on accepted" in caplog.text
    app_log = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("http")
    )
    for secret in (code, state, nonce, verifier, "anna.oma@"):
        assert secret not in app_log.lower()
    # The code was used: the same return again is refused.
    again = web.get(location)
    assert again.status_code == 400 and session_cookie(again) is None


def test_an_unknown_email_is_refused_and_nothing_is_created(web, provider, store):
    before = store.list_staff()
    response = sign_in(web, provider, "uusi")
    assert response.status_code == 403
    assert "uusi@esimerkki.fi ei ole työtilan tunnusta" in response.text
    assert session_cookie(response) is None
    assert store.list_staff() == before
    assert web.get("/tyotila/asiakkaat").headers["location"] == "/tyotila/kirjaudu"


def test_a_disabled_account_is_refused(web, provider, store):
    response = sign_in(web, provider, "olli")
    assert response.status_code == 403
    assert "poistettu käytöstä" in response.text
    assert session_cookie(response) is None
    assert not [e for e in store.audit_entries("olli") if e["action"] == "sign-in"]


def test_an_unverified_email_is_refused(web, provider):
    response = sign_in(web, provider, "vera")
    assert response.status_code == 403
    assert "ei ole vahvistanut sähköpostiosoitettasi" in response.text
    assert session_cookie(response) is None


def test_a_tampered_state_is_refused(web, provider):
    location = at_provider(provider, to_provider(web, provider), "anna")
    response = web.get(with_query(location, state="toinen-tila"))
    assert response.status_code == 400
    assert "vanhentui" in response.text
    assert session_cookie(response) is None


def test_a_return_this_browser_did_not_start_is_refused(app, provider):
    """Login CSRF: an attacker's own code and state, sent to a victim."""
    with TestClient(app, follow_redirects=False) as attacker:
        location = at_provider(provider, to_provider(attacker, provider), "anna")
    with TestClient(app, follow_redirects=False) as victim:
        response = victim.get(location)
    assert response.status_code == 400
    assert session_cookie(response) is None


def test_returns_are_throttled_per_address(app, web, provider):
    limits: SignInLimits = app.state.sign_in_limits
    while limits.per_address.acquire("testclient").allowed:
        pass
    response = sign_in(web, provider, "anna")
    assert response.status_code == 429
    assert "Liian monta kirjautumisyritystä" in response.text
    assert session_cookie(response) is None


def test_a_new_signing_key_at_the_provider_is_fetched(app, provider):
    """The JWKS is kept; a token signed with a key it lacks fetches it anew."""
    with TestClient(app, follow_redirects=False) as web:
        assert sign_in(web, provider, "anna").status_code == 200
    old_keys = httpx.get(f"{provider.issuer}/jwks").json()
    provider.rotate_key()
    assert httpx.get(f"{provider.issuer}/jwks").json() != old_keys
    with TestClient(app, follow_redirects=False) as web:
        response = sign_in(web, provider, "anna")
    assert response.status_code == 200, response.text
    assert session_cookie(response) is not None


def test_a_discovery_document_of_another_issuer_is_not_trusted(
    provider, store, store_url, mini_dir
):
    """The same provider under another name: its discovery document names the
    issuer it signs as, which is not the one configured."""
    other = provider.issuer.replace("127.0.0.1", "localhost")
    app = make_app(
        store_url,
        mini_dir,
        oidc_issuer=other,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SECRET,
    )
    with TestClient(app, follow_redirects=False) as web:
        response = web.get("/tyotila/oidc")
    assert response.status_code == 502
    assert "Kirjautuminen ei onnistunut" in response.text


def test_settings_refuse_a_half_configuration():
    with pytest.raises(ValueError, match="POLKUOPAS_OIDC_CLIENT_ID"):
        WebSettings(oidc_issuer="https://login.example/v2.0")
    with pytest.raises(ValueError, match="https URL"):
        WebSettings(
            oidc_issuer="http://login.example/v2.0",
            oidc_client_id="x",
            oidc_client_secret="y",
        )
    settings = WebSettings(
        oidc_issuer="https://login.example/v2.0/",
        oidc_client_id="x",
        oidc_client_secret="y",
    )
    assert settings.oidc_issuer == "https://login.example/v2.0"
