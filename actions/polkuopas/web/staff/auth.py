"""Signing in and out of the workspace (/tyotila/kirjaudu, /tyotila/ulos).

Sign-in attempts are throttled per account (the e-mail given, known or not)
and per address with the contract's token buckets; the password is checked
only when both allow it. A wrong e-mail and a wrong password get the same
answer in the same time. A successful sign-in ends the session the browser
presented and starts a new one (a fixed session id cannot be planted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from polkuopas.passwords import verify_password
from polkuopas.store import StaffMember, StaffSession, Store, iso, now_utc
from polkuopas.web.api import SettingsDep, StoreDep
from polkuopas.web.config import WebSettings
from polkuopas.web.staff.session import (
    COOKIE,
    PREFIX,
    SIGN_IN_COOKIE,
    SIGN_IN_PATH,
    StaffDep,
    StaffFormDep,
    clear_cookie,
    current_session,
    new_secret,
    presented_session_id,
    read_form,
    render,
    same_token,
    set_cookie,
)
from polkuopas_contract.ratelimit import RateLimiter

log = logging.getLogger("polkuopas.web.staff")
router = APIRouter()

WRONG = "Sähköpostiosoite tai salasana on väärin."
STALE = "Lomake ehti vanhentua. Kirjaudu uudelleen."
MAX_EMAIL = 254


class SignInLimits:
    """Attempts a minute per account and per address (token buckets): five
    quick tries for an account, then one every 30 seconds; an address (a
    whole office behind one) gets more."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_account = RateLimiter(per_minute=2, burst=5, clock=clock)
        self.per_address = RateLimiter(per_minute=10, burst=20, clock=clock)

    def wait(self, email: str, address: str) -> int:
        """0 when the attempt may go on, else whole seconds to wait."""
        account = self.per_account.acquire(email)
        place = self.per_address.acquire(address)
        if account.allowed and place.allowed:
            return 0
        return max(v.retry_after for v in (account, place) if not v.allowed)


def get_sign_in_limits(request: Request) -> SignInLimits:
    return request.app.state.sign_in_limits


LimitsDep = Annotated[SignInLimits, Depends(get_sign_in_limits)]


def home_of(session: StaffSession) -> str:
    return home_of_member(session.staff)


def home_of_member(member: StaffMember) -> str:
    if member.role == "polun_omistaja":
        return f"{PREFIX}/polut"
    return f"{PREFIX}/asiakkaat"


def sign_in_page(
    request: Request,
    settings: SettingsDep,
    status: int = 200,
    error: str | None = None,
    email: str = "",
    retry_after: int | None = None,
) -> Response:
    token = new_secret()
    response = render(
        request,
        "tyotila/kirjaudu.html",
        None,
        status=status,
        error=error,
        email=email,
        form_token=token,
    )
    set_cookie(response, request, settings, SIGN_IN_COOKIE, token, max_age=3600)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("")
async def workspace_home(session: StaffDep) -> RedirectResponse:
    return RedirectResponse(home_of(session), status_code=303)


@router.get("/kirjaudu")
async def sign_in_form(request: Request, store: StoreDep, settings: SettingsDep):
    session = current_session(request, store, settings)
    if session is not None:
        return RedirectResponse(home_of(session), status_code=303)
    return sign_in_page(request, settings)


@router.post("/kirjaudu")
async def sign_in(
    request: Request, store: StoreDep, settings: SettingsDep, limits: LimitsDep
):
    fields = await read_form(request)
    email = fields.get("email", "").strip().lower()[:MAX_EMAIL]
    password = fields.get("password", "")
    if not same_token(fields.get("csrf"), request.cookies.get(SIGN_IN_COOKIE, "")):
        return sign_in_page(request, settings, 400, STALE, email)
    address = request.client.host if request.client else "unknown"
    wait = limits.wait(email, address)
    if wait:
        minutes = max(1, round(wait / 60))
        text = (
            "Liian monta kirjautumisyritystä. "
            f"Yritä uudelleen noin {minutes} minuutin päästä."
        )
        return sign_in_page(request, settings, 429, text, email, retry_after=wait)
    member = store.find_staff_by_email(email) if email else None
    stored = store.staff_password_hash(member.id) if member else None
    # argon2 takes tens of milliseconds on purpose: not on the event loop.
    matches = await run_in_threadpool(verify_password, stored, password)
    if not matches or not member or not member.active:
        log.info("workspace sign-in refused")
        return sign_in_page(request, settings, 400, WRONG, email)
    raw = open_session(store, settings, member, presented_session_id(request))
    response = RedirectResponse(home_of_member(member), status_code=303)
    set_cookie(response, request, settings, COOKIE, raw)
    clear_cookie(response, request, settings, SIGN_IN_COOKIE)
    return response


def open_session(
    store: Store,
    settings: WebSettings,
    member: StaffMember,
    old: str | None,
    **details: str,
) -> str:
    """A new session for `member` (the one presented, `old`, ends), audited
    as a sign-in; the raw session id for the cookie. Password and single
    sign-on both come here."""
    raw, csrf = new_secret(), new_secret()
    now = now_utc()
    with store.transaction():
        if old:
            store.delete_session(old)
        # Sessions nobody presented again are cleared here, now and then.
        store.delete_stale_sessions(
            iso(now - timedelta(hours=settings.staff_session_hours)),
            iso(now - timedelta(minutes=settings.staff_idle_minutes)),
        )
        store.add_session(raw, member.id, csrf)
        store.audit(f"tyotila:{member.id}", "sign-in", "staff", member.id, **details)
    return raw


@router.post("/ulos")
async def sign_out(
    request: Request, form: StaffFormDep, store: StoreDep, settings: SettingsDep
):
    raw = presented_session_id(request)
    with store.transaction():
        if raw:
            store.delete_session(raw)
        staff_id = form.session.staff.id
        store.audit(f"tyotila:{staff_id}", "sign-out", "staff", staff_id)
    response = RedirectResponse(f"{SIGN_IN_PATH}?ulos=1", status_code=303)
    clear_cookie(response, request, settings, COOKIE)
    return response
