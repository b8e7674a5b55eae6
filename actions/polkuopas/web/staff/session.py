"""Who is signed in to the workspace: the session cookie, `StaffDep`, the CSRF
check of every form, and who may see which client.

The cookie holds a random session id; the store keeps only its hash
(`Store.add_session`). The cookie is HttpOnly and SameSite=Strict, and Secure
when the request came over HTTPS or POLKUOPAS_STAFF_HTTPS says the workspace is
behind HTTPS. A session ends after POLKUOPAS_STAFF_IDLE_MINUTES without a
request, POLKUOPAS_STAFF_SESSION_HOURS after sign-in, when the account is
disabled, or when its password changes. Every form carries the session's CSRF
token, checked on every POST before anything else is done.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response

from polkuopas.admin import Admin
from polkuopas.catalog import Catalog
from polkuopas.store import Client, StaffSession, Store, now_utc
from polkuopas.web.api import SettingsDep, StoreDep
from polkuopas.web.config import WebSettings

COOKIE = "polkuopas_tyotila"
# Before sign-in there is no session: the sign-in form's token is a
# double-submit cookie of its own.
SIGN_IN_COOKIE = "polkuopas_kirjaudu"
PREFIX = "/tyotila"
SIGN_IN_PATH = f"{PREFIX}/kirjaudu"
# last_seen is written at most this often: a page view is not a write each time.
TOUCH_EVERY = timedelta(seconds=60)
MAX_FORM_FIELDS = 50
MAX_COOKIE = 100


class SignInRequired(Exception):
    """No valid session: the app answers with a redirect to the sign-in page."""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secure_cookies(request: Request, settings: WebSettings) -> bool:
    return settings.staff_https or request.url.scheme == "https"


def set_cookie(
    response: Response,
    request: Request,
    settings: WebSettings,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, settings),
    )


def clear_cookie(
    response: Response, request: Request, settings: WebSettings, name: str
) -> None:
    response.delete_cookie(
        name,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, settings),
    )


def presented_session_id(request: Request) -> str | None:
    raw = request.cookies.get(COOKIE)
    return raw if raw and len(raw) <= MAX_COOKIE else None


def _expired(session: StaffSession, settings: WebSettings, now: datetime) -> bool:
    created = datetime.fromisoformat(session.created_at)
    seen = datetime.fromisoformat(session.last_seen)
    return now - seen > timedelta(
        minutes=settings.staff_idle_minutes
    ) or now - created > timedelta(hours=settings.staff_session_hours)


def current_session(
    request: Request, store: Store, settings: WebSettings
) -> StaffSession | None:
    """The request's live session, or None; an expired one is deleted."""
    raw = presented_session_id(request)
    if raw is None:
        return None
    session = store.find_session(raw)
    if session is None:
        return None
    now = now_utc()
    if not session.staff.active or _expired(session, settings, now):
        with store.transaction():
            store.delete_session(raw)
        return None
    if now - datetime.fromisoformat(session.last_seen) > TOUCH_EVERY:
        with store.transaction():
            store.touch_session(raw)
    return session


async def require_staff(
    request: Request, store: StoreDep, settings: SettingsDep
) -> StaffSession:
    session = current_session(request, store, settings)
    if session is None:
        raise SignInRequired()
    return session


StaffDep = Annotated[StaffSession, Depends(require_staff)]


async def read_form(request: Request) -> dict[str, str]:
    """An url-encoded form (the only kind the workspace's forms send)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = (await request.body()).decode("utf-8", "replace")
    if not body:
        return {}  # no fields, so no form token: refused as such
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "forms are sent url-encoded")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise HTTPException(400, "too many form fields") from None
    return dict(pairs)


def same_token(presented: str | None, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest(
        presented.encode(), expected.encode()
    )


@dataclass(frozen=True)
class StaffForm:
    """A POST from a signed-in staff member whose CSRF token matched."""

    session: StaffSession
    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default).strip()


async def staff_form(request: Request, session: StaffDep) -> StaffForm:
    fields = await read_form(request)
    if not same_token(fields.get("csrf"), session.csrf_token):
        raise HTTPException(403, "stale or missing form token")
    return StaffForm(session, fields)


StaffFormDep = Annotated[StaffForm, Depends(staff_form)]


# --- who sees what ------------------------------------------------------------

WORKS_WITH_CLIENTS = ("tyontekija", "admin")


def require_client_work(session: StaffSession) -> None:
    """A path owner sees figures, never a client."""
    if session.staff.role not in WORKS_WITH_CLIENTS:
        raise HTTPException(403, "not for this role")


def may_see_client(store: Store, session: StaffSession, client_id: str) -> bool:
    staff = session.staff
    if staff.role == "admin":
        return True
    return (
        staff.role == "tyontekija"
        and staff.professional_id is not None
        and store.is_assigned(client_id, staff.professional_id)
    )


def visible_client(store: Store, session: StaffSession, client_id: str) -> Client:
    """The client, when this staff member may see them; otherwise the same 404
    as for an unknown id, so an id reveals nothing."""
    require_client_work(session)
    client = store.find_client(client_id)
    if client is None or not may_see_client(store, session, client_id):
        raise HTTPException(404, "unknown client")
    return client


def actor(session: StaffSession) -> str:
    """The audit log's name for a change made in the workspace."""
    return f"tyotila:{session.staff.id}"


def staff_admin(store: Store, catalog: Catalog, session: StaffSession) -> Admin:
    """The CLI's one-transaction, audited changes, with the staff member as
    the actor."""
    return Admin(store, catalog, actor(session))


def render(
    request: Request,
    template: str,
    session: StaffSession | None,
    status: int = 200,
    **context: Any,
) -> Response:
    """A workspace page: the signed-in member and their form token included."""
    context.setdefault("widget", None)
    context.setdefault("message", None)
    context.setdefault("error", None)
    return request.app.state.templates.TemplateResponse(
        request,
        template,
        {
            **context,
            "staff": session.staff if session else None,
            "csrf": session.csrf_token if session else "",
        },
        status_code=status,
    )
