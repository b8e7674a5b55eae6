"""Polkuopas's input channel for Rasa: the REST channel with personal tokens.

Same URL and body as Rasa's REST channel (`POST /webhooks/rest/webhook`,
`{"sender": ..., "message": ...}`), plus identity: the client's personal token
travels as `Authorization: Bearer <token>`. The channel checks its SHA-256 hash
against the client store (POLKUOPAS_DB: the SQLite file read-only, or a
postgresql:// URL through psycopg2) and passes on only the pseudonymous client
id, in the message metadata under "polkuopas". The raw token never reaches the
tracker store or the logs.

Isolation: the conversation id is derived from the checked identity, so a
`sender` value can never open another client's conversation:
`c:<client id>:<sender>` for an identified client, `anon:<sender>` otherwise.
Metadata and `input_channel` sent by the browser are ignored.

Rate limit: each client (its token when valid, otherwise its address) may send
POLKUOPAS_RATE_LIMIT_PER_MINUTE messages a minute after a burst of
POLKUOPAS_RATE_LIMIT_BURST (the POLKUOPAS_RATE_LIMIT_ADDRESS_* pair without a
valid token); over it the answer is 429 with Retry-After and a polite message,
and Rasa never sees the message.

Runs inside Rasa (Python 3.10): standard library and Rasa's own Sanic only, and
bot/polkuopas_ratelimit.py, a verbatim copy of actions/polkuopas/ratelimit.py
(the Rasa image holds only bot/; a test keeps the two identical).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import sqlite3
import threading
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polkuopas_ratelimit as ratelimit
import polkuopas_speedups
from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

# Rasa imports this channel before it loads the model: its speed-ups first
# (bot/polkuopas_speedups.py; on another Rasa version they refuse, with a
# warning).
polkuopas_speedups.install()

log = logging.getLogger("polkuopas.channel")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
IDENTITY_KEY = "polkuopas"
DEFAULT_DB = "var/polkuopas.db"
SENDER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
BEARER_RE = re.compile(r"^\s*Bearer\s+([A-Za-z0-9_-]{16,256})\s*$", re.IGNORECASE)
MAX_MESSAGE_CHARS = 2000

TOO_LONG = (
    "Viestisi on liian pitkä. Kirjoita lyhyempi viesti, enintään "
    f"{MAX_MESSAGE_CHARS} merkkiä."
)
# When the action server is down or slow, the client still gets an answer
# within a few seconds, and the next message tries again.
REPLY_TIMEOUT_SECONDS = float(os.environ.get("POLKUOPAS_REPLY_TIMEOUT", "6"))
UNAVAILABLE = (
    "En pysty juuri nyt hakemaan tietojasi. Yritä hetken päästä uudelleen. "
    "Jos asia on kiireellinen, soita omalle työntekijällesi tai hyvinvointialueesi "
    "sosiaalipalvelujen neuvontaan. Hätätilanteessa soita 112."
)
TOO_FAST = (
    "Lähetit viestejä nopeammin kuin ehdin vastata. Odota hetki. "
    "Lähetä viestisi sitten uudelleen."
)
# The same settings and defaults as actions/polkuopas/settings.py.
RATE_LIMIT_DEFAULTS = {
    "POLKUOPAS_RATE_LIMIT_PER_MINUTE": 30.0,
    "POLKUOPAS_RATE_LIMIT_BURST": 10,
    "POLKUOPAS_RATE_LIMIT_ADDRESS_PER_MINUTE": 120.0,
    "POLKUOPAS_RATE_LIMIT_ADDRESS_BURST": 40,
}


def _setting(name: str, environ: dict[str, str]) -> float:
    default = RATE_LIMIT_DEFAULTS[name]
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if isinstance(default, int) else float(raw)
    except ValueError:
        value = -1
    least = 1 if isinstance(default, int) else 0
    if not value >= least:  # also refuses NaN
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise ValueError(f"{name} must be {kind}, {least} or more (got {raw!r})")
    return value


def rate_limits_from_env(environ: dict[str, str] | None = None) -> Any:
    """The channel's `ClientLimits` from the POLKUOPAS_RATE_LIMIT_* settings."""
    environ = os.environ if environ is None else environ
    values = [_setting(name, environ) for name in RATE_LIMIT_DEFAULTS]
    return ratelimit.ClientLimits.from_settings(*values)


def action_server_up(timeout: float = 1.0) -> bool:
    """Does the action server answer its health check? (URL from the env.)"""
    url = os.environ.get("POLKUOPAS_ACTION_URL", "http://127.0.0.1:5055/webhook")
    health = url.rsplit("/", 1)[0] + "/health"
    try:
        with urllib.request.urlopen(health, timeout=timeout) as answer:
            return answer.status == 200
    except OSError:
        return False


class TokenStore:
    """Read-only look-up of token hashes in the client store (SQLite)."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection | None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if not self.path.exists():
                return None
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout = 5000")
            self._local.conn = conn
        return conn

    def _lookup(self, digest: str) -> tuple | None:
        """The token's row (hash, client id, expiry, revocation), or None."""
        conn = self._connection()
        if conn is None:
            return None
        try:
            return conn.execute(TOKEN_QUERY, (digest,)).fetchone()
        except sqlite3.Error:
            log.exception("token look-up failed")
            return None

    def check(self, raw: str | None) -> dict[str, Any]:
        """{"identity": "valid"|"expired"|"revoked"|"none", "client_id": ...}."""
        if not raw:
            return {"identity": "none", "client_id": None}
        digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()
        row = self._lookup(digest)
        if row is None or not hmac.compare_digest(row[0], digest):
            return {"identity": "none", "client_id": None}
        _, client_id, expires_at, revoked_at = row
        if revoked_at is not None:
            return {"identity": "revoked", "client_id": None}
        if datetime.fromisoformat(expires_at) <= datetime.now(timezone.utc):
            return {"identity": "expired", "client_id": None}
        return {"identity": "valid", "client_id": client_id}


# The same query on both stores (sqlite3 and psycopg2 placeholders).
TOKEN_QUERY = (
    "SELECT t.token_hash, t.client_id, t.expires_at, t.revoked_at "
    "FROM tokens t JOIN clients c ON c.id = t.client_id "
    "WHERE t.token_hash = ?"
)


class PostgresTokenStore(TokenStore):
    """The same look-up in a PostgreSQL client store (POLKUOPAS_DB a
    postgresql:// URL), through psycopg2 (a dependency of Rasa's): one
    read-only connection per thread, opened again after an error."""

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()

    def __repr__(self) -> str:  # never the password
        return "<PostgresTokenStore>"

    def _lookup(self, digest: str) -> tuple | None:
        import psycopg2

        # A kept connection the server has dropped (a restart, a fail-over)
        # fails once: then one new connection is tried at once.
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            kept = conn is not None and not conn.closed
            try:
                if not kept:
                    conn = None
                    conn = psycopg2.connect(
                        self.url,
                        connect_timeout=5,
                        application_name="polkuopas-channel",
                        options="-c statement_timeout=5000",
                    )
                    conn.set_session(readonly=True, autocommit=True)
                    self._local.conn = conn
                with conn.cursor() as cursor:
                    cursor.execute(TOKEN_QUERY.replace("?", "%s"), (digest,))
                    return cursor.fetchone()
            except psycopg2.Error as exc:
                if conn is not None:
                    conn.close()
                self._local.conn = None
                dropped = (psycopg2.OperationalError, psycopg2.InterfaceError)
                if kept and attempt == 1 and isinstance(exc, dropped):
                    continue
                # The class only: libpq's message may name the host and user.
                log.error("token look-up failed (%s)", type(exc).__name__)
                return None
        return None


def token_store(db: str) -> TokenStore:
    """The token look-up for POLKUOPAS_DB: a PostgreSQL URL or a SQLite file."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresTokenStore(db)
    path = Path(db)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    return TokenStore(path)


class NamedCollectingOutputChannel(CollectingOutputChannel):
    """Rasa's collector, keeping the message name the actions attach
    ("polkuopas_message"): the widget sends it back as the feedback topic."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        name = message.get("polkuopas_message")
        before = len(self.messages)
        await super().send_response(recipient_id, message)
        if isinstance(name, str):
            for collected in self.messages[before:]:
                collected["polkuopas_message"] = name


def bearer_token(header: str | None) -> str | None:
    match = BEARER_RE.match(header or "")
    return match.group(1) if match else None


def conversation_id(identity: dict[str, Any], sender: str) -> str:
    if identity["identity"] == "valid":
        return f"c:{identity['client_id']}:{sender}"
    return f"anon:{sender}"


def _bad_request(message: str) -> HTTPResponse:
    return response.json({"error": message}, status=400)


class TokenRestInput(InputChannel):
    """Rasa's REST channel URL and body, with the personal token checked."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        db = (
            os.environ.get("POLKUOPAS_DB")
            or credentials.get("db")
            or "var/polkuopas.db"
        )
        return cls(token_store(db), rate_limits_from_env())

    def __init__(self, tokens: TokenStore, limits: Any = None):
        self.tokens = tokens
        self.limits = limits if limits is not None else rate_limits_from_env()

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint("polkuopas_rest", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # Sanic raises on a body that is not JSON
                return _bad_request("the body must be a JSON object")
            if not isinstance(body, dict):
                return _bad_request("the body must be a JSON object")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not SENDER_RE.match(sender):
                return _bad_request(
                    "'sender' must be 1-64 letters, digits, '.', '_' or '-'"
                )
            if not isinstance(text, str):
                return _bad_request("'message' must be a string")
            raw = bearer_token(request.headers.get("authorization"))
            identity = self.tokens.check(raw)
            client = identity.get("client_id") or "-"
            verdict = self.limits.check(
                raw if identity["identity"] == "valid" else None,
                request.remote_addr or request.ip,
            )
            if not verdict.allowed:
                if verdict.refused_in_row == 1:  # once per flood, not per message
                    log.warning("rate limit reached (client=%s)", client)
                return response.json(
                    [{"recipient_id": sender, "text": TOO_FAST}],
                    status=429,
                    headers={"Retry-After": str(verdict.retry_after)},
                )
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json([{"recipient_id": sender, "text": TOO_LONG}])
            if not text.strip():
                return response.json([])
            conversation = conversation_id(identity, sender)
            collector = NamedCollectingOutputChannel()
            try:
                await asyncio.wait_for(
                    on_new_message(
                        UserMessage(
                            text,
                            collector,
                            conversation,
                            input_channel=self.name(),
                            metadata={IDENTITY_KEY: identity},
                        )
                    ),
                    timeout=REPLY_TIMEOUT_SECONDS,
                )
            except asyncio.TimeoutError:
                log.warning(
                    "no reply within %ss (client=%s)", REPLY_TIMEOUT_SECONDS, client
                )
                return response.json([{"recipient_id": sender, "text": UNAVAILABLE}])
            except Exception:
                # Never log the message text or the token.
                log.exception("message handling failed (client=%s)", client)
                return response.json(
                    {"error": "the assistant failed to answer"}, status=500
                )
            if not collector.messages:
                # Rasa answers nothing when a custom action could not be run.
                up = await asyncio.get_running_loop().run_in_executor(
                    None, action_server_up
                )
                if not up:
                    log.warning("action server unreachable (client=%s)", client)
                    return response.json(
                        [{"recipient_id": sender, "text": UNAVAILABLE}]
                    )
            # The client sees their own `sender`, not the internal conversation id.
            for message in collector.messages:
                message["recipient_id"] = sender
            return response.json(collector.messages)

        return webhook
