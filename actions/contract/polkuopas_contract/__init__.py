"""What Polkuopas's two sides agree on, in one place.

Rasa's side (`bot/polkuopas_rasa`, Python 3.10 inside Rasa's environment) and
the app side (the `polkuopas` package: action server, web app, CLI, Python
3.11+) cannot import each other. What crosses between them is written here once
and installed into both environments and both images
(`pip install -e actions/contract`):

* the identity the chat channel checks and hands to the actions in a user
  message's metadata (`IDENTITY_KEY`, `IdentityMetadata`, one set of status
  words: `VALID`, `EXPIRED`, `REVOKED`, `NONE`);
* the personal token: how it travels (`bearer_token`), how it is stored
  (`hash_token`), how it is looked up (`TOKEN_QUERY`) and judged
  (`check_token`);
* the settings the channel reads and their defaults (`ChannelSettings`); the
  app's `polkuopas.settings` takes its defaults from here;
* the rate limiter (`polkuopas_contract.ratelimit`).

Standard library only, and Python 3.10 compatible.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict

__all__ = [
    "CLIENT_ID_KEY",
    "ENV_PREFIX",
    "EXPIRED",
    "IDENTITY_KEY",
    "LAPSED",
    "NONE",
    "REVOKED",
    "STATUSES",
    "STATUS_KEY",
    "TOKEN_QUERY",
    "VALID",
    "ChannelSettings",
    "IdentityMetadata",
    "IdentityStatus",
    "bearer_token",
    "check_token",
    "env_name",
    "hash_token",
    "identity",
    "read_identity",
]

# --- the identity in a user message's metadata ------------------------------

# The channel puts the checked identity under this key of a user message's
# metadata. Nothing else in the metadata is trusted.
IDENTITY_KEY = "polkuopas"
STATUS_KEY = "identity"
CLIENT_ID_KEY = "client_id"

IdentityStatus = Literal["valid", "expired", "revoked", "none"]
VALID: IdentityStatus = "valid"  # a good token: the client id comes along
EXPIRED: IdentityStatus = "expired"  # a real token past its expiry
REVOKED: IdentityStatus = "revoked"  # a real token a professional revoked
NONE: IdentityStatus = "none"  # no token, or one nobody issued
STATUSES: tuple[IdentityStatus, ...] = (VALID, EXPIRED, REVOKED, NONE)
# A personal link the client had, that no longer works.
LAPSED: tuple[IdentityStatus, ...] = (EXPIRED, REVOKED)


class IdentityMetadata(TypedDict):
    """`metadata[IDENTITY_KEY]` of a user message: who the channel checked the
    sender to be. Never the token itself."""

    # one of STATUSES
    identity: IdentityStatus
    # the pseudonymous client id, only with VALID; otherwise None
    client_id: str | None


def identity(status: IdentityStatus, client_id: str | None = None) -> IdentityMetadata:
    """The metadata for a verdict: a client id is kept only with VALID."""
    if status not in STATUSES:
        raise ValueError(f"not an identity status: {status!r}")
    if status == VALID and not client_id:
        raise ValueError("a valid identity needs its client id")
    return {STATUS_KEY: status, CLIENT_ID_KEY: client_id if status == VALID else None}


def read_identity(metadata: Any) -> IdentityMetadata:
    """The identity the channel attached to a message's metadata; anything
    missing or malformed reads as NONE."""
    data = metadata.get(IDENTITY_KEY) if isinstance(metadata, dict) else None
    if not isinstance(data, dict):
        return identity(NONE)
    status, client_id = data.get(STATUS_KEY), data.get(CLIENT_ID_KEY)
    if status == VALID and isinstance(client_id, str) and client_id:
        return identity(VALID, client_id)
    if status in LAPSED:
        return identity(status)
    return identity(NONE)


# --- the personal token -----------------------------------------------------

# `Authorization: Bearer <token>`; a token is URL-safe base64 (`polkuopas
# client token` makes 43 characters), anything else is no token.
BEARER_RE = re.compile(r"^\s*Bearer\s+([A-Za-z0-9_-]{16,256})\s*$", re.IGNORECASE)

# A token's row in the client store, the same SQL on SQLite and PostgreSQL
# (`?` placeholders: psycopg takes `TOKEN_QUERY.replace("?", "%s")`). The
# columns are what `check_token` reads, in this order.
TOKEN_QUERY = (
    "SELECT t.token_hash, t.client_id, t.expires_at, t.revoked_at "
    "FROM tokens t JOIN clients c ON c.id = t.client_id "
    "WHERE t.token_hash = ?"
)


def bearer_token(header: str | None) -> str | None:
    """The token in an Authorization header, or None."""
    match = BEARER_RE.match(header or "")
    return match.group(1) if match else None


def hash_token(raw: str) -> str:
    """What the store keeps of a token: 256-bit random tokens need no slow
    hash."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def check_token(
    raw: str | None,
    lookup: Callable[[str], Sequence[Any] | None],
    now: datetime | None = None,
) -> IdentityMetadata:
    """Who a presented token belongs to, if it is still good.

    `lookup(digest)` runs TOKEN_QUERY with the token's hash and returns its
    row, or None (no such token, or the store could not be read).
    """
    if not raw:
        return identity(NONE)
    digest = hash_token(raw)
    row = lookup(digest)
    if row is None or not hmac.compare_digest(row[0], digest):
        return identity(NONE)
    _, client_id, expires_at, revoked_at = row
    if revoked_at is not None:
        return identity(REVOKED)
    if datetime.fromisoformat(expires_at) <= (now or datetime.now(timezone.utc)):
        return identity(EXPIRED)
    return identity(VALID, client_id)


# --- the settings the channel reads -----------------------------------------

ENV_PREFIX = "POLKUOPAS_"


def env_name(field: str) -> str:
    """The environment variable of a setting: `reply_timeout` ->
    `POLKUOPAS_REPLY_TIMEOUT`."""
    return ENV_PREFIX + field.upper()


def _at_least(least: float, *, above: bool = False) -> dict[str, Any]:
    return {"least": least, "above": above}


@dataclasses.dataclass(frozen=True)
class ChannelSettings:
    """The settings the chat channel reads (POLKUOPAS_ + the field name in
    capitals) and their defaults; `polkuopas.settings.Settings` takes the same
    defaults from here, so the channel and the app cannot disagree."""

    # The client store: a SQLite file (relative to the project root) or a
    # postgresql:// URL.
    db: str = "var/polkuopas.db"
    # The action server's webhook; the channel asks its /health when Rasa
    # answers nothing.
    action_url: str = "http://127.0.0.1:5055/webhook"
    # Seconds the channel waits for an answer before it says the service is
    # unavailable.
    reply_timeout: float = dataclasses.field(
        default=6.0, metadata=_at_least(0, above=True)
    )
    # Per valid token, and per address without one (0 a minute: no limit).
    rate_limit_per_minute: float = dataclasses.field(
        default=30.0, metadata=_at_least(0)
    )
    rate_limit_burst: int = dataclasses.field(default=10, metadata=_at_least(1))
    rate_limit_address_per_minute: float = dataclasses.field(
        default=120.0, metadata=_at_least(0)
    )
    rate_limit_address_burst: int = dataclasses.field(default=40, metadata=_at_least(1))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **fallbacks: Any
    ) -> ChannelSettings:
        """The settings from the environment. An unset or empty variable takes
        its value from `fallbacks` (when given and not None), else the
        default. A bad value raises ValueError naming the variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(env_name(field.name), "").strip()
            if raw:
                values[field.name] = _parse(field, raw)
            elif fallbacks.get(field.name) is not None:
                values[field.name] = fallbacks[field.name]
        return cls(**values)


def _parse(field: dataclasses.Field, raw: str) -> Any:
    if "least" not in field.metadata:
        return raw
    whole = isinstance(field.default, int)
    least, above = field.metadata["least"], field.metadata["above"]
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = math.nan
    if not (value > least if above else value >= least):  # also refuses NaN
        kind = "a whole number" if whole else "a number"
        bound = f"more than {least}" if above else f"{least} or more"
        name = env_name(field.name)
        raise ValueError(f"{name} must be {kind}, {bound} (got {raw!r})")
    return value
