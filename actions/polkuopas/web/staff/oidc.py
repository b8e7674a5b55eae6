"""Single sign-on to the workspace through a county's OpenID Provider (Entra
ID or another), with Authlib: /tyotila/oidc starts, /tyotila/oidc/paluu ends.

The authorization code flow with PKCE (S256), `state` and `nonce`. The
provider is found through its discovery document (POLKUOPAS_OIDC_ISSUER +
/.well-known/openid-configuration, whose `issuer` must be the one configured);
the ID token's signature is checked against the provider's JWKS, and its
issuer, audience (our client id), expiry, issue time and nonce by Authlib.
The token's `email` must be verified by the provider (`email_verified` true)
and belong to an existing, active staff account: nothing is created here.
Then the session is the same as after a password sign-in
(`auth.open_session`: a new session id, audited as a sign-in).

Cookies. The session cookie is SameSite=Strict; the return from the provider
is a cross-site top-level GET, on which a browser sends no Strict cookie. So
the flow's own secrets (state, nonce, PKCE verifier: random, for this one
sign-in) go in a short-lived SameSite=Lax cookie sent only to the return path,
and the state in the return must equal the cookie's: a return this browser did
not start is refused. The Strict session cookie is set on the return's
response, which is a page that continues to the workspace by itself: a
redirect there would still be part of the cross-site chain, and browsers do
not send a Strict cookie within one.

Throttling: returns are limited per address with the password sign-in's
bucket. Logs name the outcome only; no code, token or e-mail address.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import StarletteOAuth2App
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError

from polkuopas.store import StaffMember, Store
from polkuopas.web.api import SettingsDep, StoreDep
from polkuopas.web.config import WebSettings
from polkuopas.web.staff.auth import (
    LimitsDep,
    SignInLimits,
    home_of,
    home_of_member,
    open_session,
    sign_in_page,
)
from polkuopas.web.staff.session import (
    COOKIE,
    PREFIX,
    SIGN_IN_COOKIE,
    clear_cookie,
    current_session,
    presented_session_id,
    render,
    secure_cookies,
    set_cookie,
)

log = logging.getLogger("polkuopas.web.staff")
# At DEBUG, Authlib logs the PKCE verifier: never below INFO.
logging.getLogger("authlib").setLevel(logging.INFO)
router = APIRouter()

START_PATH = f"{PREFIX}/oidc"
RETURN_PATH = f"{PREFIX}/oidc/paluu"
FLOW_COOKIE = "polkuopas_oidc"
FLOW_SECONDS = 600
SCOPE = "openid email profile"
MAX_FLOW_COOKIE = 300

FAILED = (
    "Kirjautuminen ei onnistunut. Yritä uudelleen tai kirjaudu "
    "sähköpostiosoitteella ja salasanalla."
)
EXPIRED = "Kirjautuminen vanhentui tai se oli jo käytetty. Aloita alusta."
CANCELLED = "Kirjautuminen keskeytyi. Voit yrittää uudelleen."
UNVERIFIED = (
    "Kirjautumispalvelu ei ole vahvistanut sähköpostiosoitettasi. "
    "Pyydä työtilan ylläpitäjää tarkistamaan tunnuksesi."
)
NO_ACCOUNT = (
    "Sähköpostiosoitteella {email} ei ole työtilan tunnusta. "
    "Pyydä tunnus työtilan ylläpitäjältä."
)
DISABLED = (
    "Työtilan tunnuksesi on poistettu käytöstä. Ota yhteyttä työtilan ylläpitäjään."
)
BUSY = (
    "Liian monta kirjautumisyritystä. Yritä uudelleen noin {minutes} minuutin päästä."
)


class Refused(Exception):
    """A sign-in refused: the text for the sign-in page, the word for the log."""

    def __init__(self, text: str, reason: str, status: int = 403):
        super().__init__(reason)
        self.text = text
        self.reason = reason
        self.status = status


class Provider:
    """The configured OpenID Provider, through Authlib's client. The discovery
    document and the JWKS are fetched once and kept (the JWKS again when a
    token names a key it does not have)."""

    def __init__(self, settings: WebSettings):
        self.issuer = settings.oidc_issuer
        self.label = settings.oidc_label
        self.client = StarletteOAuth2App(
            None,
            name="tyotila",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": SCOPE,
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        )

    async def metadata(self) -> dict[str, Any]:
        metadata = await self.client.load_server_metadata()
        if metadata.get("issuer", "").rstrip("/") != self.issuer:
            # OpenID Connect Discovery 4.3: the document names its own issuer.
            raise Refused(FAILED, "discovery issuer mismatch", 502)
        return metadata

    async def start(self, redirect_uri: str) -> dict[str, str]:
        await self.metadata()
        return await self.client.create_authorization_url(redirect_uri)

    async def claims(
        self, redirect_uri: str, code: str, verifier: str, nonce: str
    ) -> dict[str, Any]:
        """The verified ID token's claims for this code."""
        await self.metadata()
        token = await self.client.fetch_access_token(
            redirect_uri=redirect_uri, code=code, code_verifier=verifier
        )
        if "id_token" not in token:
            raise Refused(FAILED, "no id token")
        return dict(await self.client.parse_id_token(token, nonce=nonce, leeway=60))


def provider_of(request: Request, settings: WebSettings) -> Provider:
    """The app's provider, made at first use; 404 when single sign-on is off."""
    if not settings.oidc_issuer:
        raise HTTPException(404, "single sign-on is not configured")
    provider = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        provider = request.app.state.oidc_provider = Provider(settings)
    return provider


def return_uri(request: Request, settings: WebSettings) -> str:
    url = request.url.replace(path=RETURN_PATH, query="", fragment="")
    if secure_cookies(request, settings):
        url = url.replace(scheme="https")
    return str(url)


def set_flow_cookie(
    response: Response, request: Request, settings: WebSettings, value: str
) -> None:
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=FLOW_SECONDS,
        path=RETURN_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
    )


def clear_flow_cookie(
    response: Response, request: Request, settings: WebSettings
) -> None:
    response.delete_cookie(
        FLOW_COOKIE,
        path=RETURN_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
    )


@router.get("/oidc")
async def start(request: Request, store: StoreDep, settings: SettingsDep):
    provider = provider_of(request, settings)
    session = current_session(request, store, settings)
    if session is not None:
        return RedirectResponse(home_of(session), status_code=303)
    try:
        flow = await provider.start(return_uri(request, settings))
    except (Refused, AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
        log.warning("single sign-on: provider unavailable (%s)", type(exc).__name__)
        return sign_in_page(request, settings, 502, FAILED)
    response = RedirectResponse(flow["url"], status_code=303)
    cookie = ".".join((flow["state"], flow["nonce"], flow["code_verifier"]))
    set_flow_cookie(response, request, settings, cookie)
    return response


@router.get("/oidc/paluu")
async def finish(
    request: Request, store: StoreDep, settings: SettingsDep, limits: LimitsDep
):
    provider = provider_of(request, settings)
    try:
        member = await signed_in_member(request, store, provider, settings, limits)
    except Refused as refused:
        log.info("workspace single sign-on refused: %s", refused.reason)
        response = sign_in_page(request, settings, refused.status, refused.text)
    else:
        # A session cookie comes only when the provider is on this same site.
        old = presented_session_id(request)
        raw = open_session(store, settings, member, old, method="oidc")
        log.info("workspace single sign-on accepted")
        home = home_of_member(member)
        # A page, not a redirect: the next request is then started by this
        # site, and the browser sends the Strict session cookie with it.
        response = render(request, "tyotila/kirjautunut.html", None, home=home)
        set_cookie(response, request, settings, COOKIE, raw)
        clear_cookie(response, request, settings, SIGN_IN_COOKIE)
    clear_flow_cookie(response, request, settings)
    response.headers["Cache-Control"] = "no-store"
    return response


async def signed_in_member(
    request: Request,
    store: Store,
    provider: Provider,
    settings: WebSettings,
    limits: SignInLimits,
) -> StaffMember:
    """The staff member this return from the provider proves, or `Refused`."""
    query = request.query_params
    flow = request.cookies.get(FLOW_COOKIE, "")
    parts = flow.split(".") if len(flow) <= MAX_FLOW_COOKIE else []
    state = query.get("state", "")
    if (
        len(parts) != 3
        or not state
        or not hmac.compare_digest(state.encode(), parts[0].encode())
    ):
        raise Refused(EXPIRED, "state mismatch", 400)
    _, nonce, verifier = parts
    if query.get("error"):
        raise Refused(CANCELLED, "provider answered with an error", 400)
    code = query.get("code", "")
    if not code:
        raise Refused(FAILED, "no code", 400)
    address = request.client.host if request.client else "unknown"
    verdict = limits.per_address.acquire(address)
    if not verdict.allowed:
        minutes = max(1, round(verdict.retry_after / 60))
        raise Refused(BUSY.format(minutes=minutes), "throttled", 429)
    try:
        claims = await provider.claims(
            return_uri(request, settings), code, verifier, nonce
        )
    except Refused:
        raise
    except (AuthlibBaseError, JoseError, httpx.HTTPError, ValueError) as exc:
        # The type only: an error's text may carry what was sent.
        raise Refused(FAILED, f"token not accepted ({type(exc).__name__})") from None
    email = claims.get("email")
    if claims.get("email_verified") is not True or not isinstance(email, str):
        raise Refused(UNVERIFIED, "e-mail not verified")
    email = email.strip().lower()
    member = store.find_staff_by_email(email)
    if member is None:
        raise Refused(NO_ACCOUNT.format(email=email), "no staff account")
    if not member.active:
        raise Refused(DISABLED, "staff account disabled")
    return member
