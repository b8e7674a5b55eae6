"""The chat channel's token check: is this personal token good, and whose?

The client store is read read-only, in SQLite (a file) or PostgreSQL (a
postgresql:// URL, through psycopg2, a dependency of Rasa's), with the
contract's query and verdict (`polkuopas_contract.TOKEN_QUERY`,
`check_token`), the same as the app's store uses. Only the token's SHA-256
hash is looked up; the raw token is never logged.

Runs inside Rasa (Python 3.10): standard library and the contract only.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from polkuopas_contract import TOKEN_QUERY, IdentityMetadata, check_token

log = logging.getLogger("polkuopas.channel")

PROJECT_ROOT = Path(__file__).resolve().parents[2]


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

    def _lookup(self, digest: str) -> Sequence[Any] | None:
        """The token's row (hash, client id, expiry, revocation), or None."""
        conn = self._connection()
        if conn is None:
            return None
        try:
            return conn.execute(TOKEN_QUERY, (digest,)).fetchone()
        except sqlite3.Error:
            log.exception("token look-up failed")
            return None

    def check(self, raw: str | None) -> IdentityMetadata:
        """The identity for a presented token (the contract's metadata)."""
        return check_token(raw, self._lookup)


class PostgresTokenStore(TokenStore):
    """The same look-up in a PostgreSQL client store (POLKUOPAS_DB a
    postgresql:// URL), through psycopg2 (a dependency of Rasa's): one
    read-only connection per thread, opened again after an error."""

    QUERY = TOKEN_QUERY.replace("?", "%s")  # psycopg2's placeholders

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()

    def __repr__(self) -> str:  # never the password
        return "<PostgresTokenStore>"

    def _lookup(self, digest: str) -> Sequence[Any] | None:
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
                    cursor.execute(self.QUERY, (digest,))
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
    """The token look-up for POLKUOPAS_DB: a PostgreSQL URL or a SQLite file
    (relative to the project root)."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresTokenStore(db)
    path = Path(db)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    return TokenStore(path)
