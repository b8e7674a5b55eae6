"""The web app's JSON API, used by the chat widget and the demo page.

`GET /api/identity` tells the widget whether its token is good (nothing more),
`GET /api/oma-polku` gives the caller's own path (next meeting, goals, agreed
actions), only to the client whose token it is; `POST /api/feedback` stores
"was this helpful?" and comments, `GET
/api/polut/{id}` gives a path picture without any client's data, and `POST
/api/demo-token` lends the demo page a short-lived token for a demo client,
only when POLKUOPAS_DEMO is on. Every error is `{"error": ...}` and never
echoes what was sent. Every call counts against the caller's rate limit
(polkuopas_contract.ratelimit: per valid token, else per address); over it the
answer is 429 with Retry-After.

Who is calling is resolved once a request (`IdentityDep`), from the bearer
token as the chat channel reads it (polkuopas_contract).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from polkuopas.answers import load_own_path, own_path_payload, path_payload
from polkuopas.catalog import Catalog
from polkuopas.demo import CLIENTS
from polkuopas.errors import NotFound
from polkuopas.store import FEEDBACK_COMMENT_MAX, Store, iso, new_token, now_utc
from polkuopas.web.config import WebSettings
from polkuopas_contract import LAPSED, NONE, VALID, IdentityStatus, bearer_token
from polkuopas_contract.ratelimit import ClientLimits

DEMO_TOKEN_HOURS = 2
DEMO_ACTOR = "polkuopas-web (demo)"
DEMO_CLIENT_IDS = tuple(c.id for c in CLIENTS)

# Personal data a comment must not keep: e-mail addresses, Finnish personal
# identity codes and phone numbers are replaced before the comment is stored.
_SCRUB = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[sähköposti]"),
    (
        re.compile(r"\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b", re.IGNORECASE),
        "[henkilötunnus]",
    ),
    (re.compile(r"(?<![\w.])\+?\d(?:[\s-]?\d){6,}(?![\w])"), "[puhelinnumero]"),
]
# Control characters and invisible direction marks (which can disguise text).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def get_settings(request: Request) -> WebSettings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[WebSettings, Depends(get_settings)]
AuthHeader = Annotated[str | None, Header(alias="authorization")]


@dataclass(frozen=True)
class Identity:
    """Who is calling: the contract's status words, the client id only when
    the token is valid."""

    status: IdentityStatus
    client_id: str | None = None
    # The presented token, only when valid: the rate limit's key. Never logged.
    token: str | None = field(default=None, repr=False)

    @property
    def valid(self) -> bool:
        return self.status == VALID


# Async, as the routes: the store's SQLite connection belongs to the event
# loop's thread.
async def get_identity(store: StoreDep, authorization: AuthHeader = None) -> Identity:
    """The caller's identity from the bearer token, checked in the store."""
    raw = bearer_token(authorization)
    if raw is None:
        return Identity(NONE)
    check = store.check_token(raw)
    if check.valid:
        return Identity(VALID, check.client_id, raw)
    # A token nobody issued is NONE, as the chat channel says it.
    return Identity(check.status if check.status in LAPSED else NONE)


# FastAPI resolves it once a request, however many dependencies ask for it.
IdentityDep = Annotated[Identity, Depends(get_identity)]


async def get_limits(request: Request) -> ClientLimits:
    return request.app.state.limits


async def rate_limit(
    request: Request,
    caller: IdentityDep,
    limits: Annotated[ClientLimits, Depends(get_limits)],
) -> None:
    """Count the call against the caller's limit; 429 with Retry-After over it."""
    verdict = limits.check(
        caller.token, request.client.host if request.client else None
    )
    if not verdict.allowed:
        seconds = verdict.retry_after
        raise HTTPException(
            429,
            f"too many requests: try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


router = APIRouter(prefix="/api", dependencies=[Depends(rate_limit)])


def scrub(comment: str) -> str:
    """The comment without control characters and obvious personal data."""
    text = _CONTROL.sub("", comment).strip()
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    helpful: StrictBool | None = None
    comment: str | None = Field(default=None, max_length=FEEDBACK_COMMENT_MAX)
    path_id: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,99}$")

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return scrub(value) or None


class DemoTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=64)


@router.get("/identity")
async def identity(caller: IdentityDep) -> dict[str, str]:
    """Whether the presented token is good: "valid", "expired", "revoked" or
    "none". The client id stays on the server."""
    return {"identity": caller.status}


def own_client(store: Store, caller: Identity) -> str:
    """The caller's own client id; 401 without a valid personal link."""
    if not caller.valid or store.find_client(caller.client_id or "") is None:
        raise HTTPException(401, "a valid personal link is needed")
    return caller.client_id or ""


@router.get("/oma-polku")
async def own_path(store: StoreDep, caller: IdentityDep) -> dict[str, Any]:
    """The caller's own path, written with their worker: the next meeting,
    goals, what they want to try, agreed actions, as data and as the texts
    the widget shows under the client's path picture. Only their own."""
    client_id = own_client(store, caller)
    return own_path_payload(load_own_path(store, client_id))


@router.post("/feedback", status_code=201)
async def feedback(
    body: FeedbackIn,
    store: StoreDep,
    catalog: CatalogDep,
    caller: IdentityDep,
) -> dict[str, Any]:
    if body.helpful is None and not body.comment:
        raise HTTPException(400, "give 'helpful' or a non-empty 'comment'")
    if body.path_id is not None and body.path_id not in catalog.paths:
        raise HTTPException(400, "unknown path_id")
    client_id, path_id = None, body.path_id
    if caller.valid:
        client = store.find_client(caller.client_id or "")
        if client is not None:
            # Only the pseudonymous id and the client's own path are kept.
            client_id, path_id = client.id, client.path_id
    with store.transaction():
        feedback_id = store.add_feedback(
            body.topic, body.helpful, body.comment, client_id, path_id
        )
    return {"id": feedback_id}


@router.get("/polut/{path_id}")
async def path_picture(path_id: str, catalog: CatalogDep) -> dict[str, Any]:
    path = catalog.paths.get(path_id)
    if path is None:
        raise HTTPException(404, "unknown path")
    return path_payload(catalog, path, None)


@router.post("/demo-token")
async def demo_token(
    body: DemoTokenIn, store: StoreDep, settings: SettingsDep
) -> dict[str, str]:
    """A token valid for two hours, for the demo clients only, when the demo is
    on: the demo page uses it as if it came from a personal link."""
    if not settings.demo:
        raise HTTPException(404, "the demo is not enabled")
    if body.client not in DEMO_CLIENT_IDS:
        raise HTTPException(400, "not a demo client")
    raw = new_token()
    expires = now_utc() + timedelta(hours=DEMO_TOKEN_HOURS)
    try:
        with store.transaction():
            store.get_client(body.client)
            store.add_token(body.client, raw, expires)
            store.audit(
                DEMO_ACTOR,
                "issue-demo-token",
                "client",
                body.client,
                expires=iso(expires),
            )
    except NotFound:
        raise HTTPException(
            409, "the demo clients are missing: run `polkuopas demo`"
        ) from None
    return {"token": raw, "expires_at": iso(expires)}
