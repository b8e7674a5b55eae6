"""Opening the client store: SQLite through sqlite-utils, or PostgreSQL.

Both connections have one face, the part of sqlite-utils' `Database` that
`Store` uses (`execute`, `query`, `atomic`, `db["table"]`, `table_names`,
`close`) and, for the schema and the backup, `dialect`, `schema_version`,
`migrate` and `backup`; so nothing above this module asks which database it
has. `connect` picks one from `POLKUOPAS_DB`: a `postgresql://` URL, or else a
file path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from polkuopas.store.maintenance import copy_sqlite
from polkuopas.store.postgres import PostgresDatabase, is_postgres_url, redact
from polkuopas.store.schema import statements

# Seconds a connection waits for another one's write lock before it gives up.
BUSY_TIMEOUT = 10


class SqliteDatabase(Database):
    """sqlite-utils' `Database`, with transactions that take the write lock
    first, the schema version in `user_version`, and an online backup.

    A plain `BEGIN` holds only a read snapshot until the first write; when
    another connection (a server, the CLI) writes in between, SQLite answers
    "database is locked" at once: it cannot wait for a lock whose holder may
    be waiting for this snapshot, so `busy_timeout` does not apply. Every unit
    of work of the store reads and then writes, so `atomic` begins with
    `BEGIN IMMEDIATE` and waits its turn (up to `busy_timeout`) before it
    reads anything. Readers never wait (WAL).
    """

    dialect = "sqlite"

    @contextmanager
    def atomic(self) -> Iterator[SqliteDatabase]:
        """One transaction holding the write lock; a nested one is a savepoint."""
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def schema_version(self) -> int:
        return self.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, migrations: Sequence[str]) -> int:
        """Apply the missing migrations, each in its own transaction; the
        version is read again under the write lock, so processes opening an
        empty store at the same moment take turns."""
        for number, script in enumerate(migrations, start=1):
            if self.schema_version() >= number:
                continue
            with self.atomic():
                version = self.schema_version()
                if version >= number:
                    continue  # another process applied it meanwhile
                for statement in statements(script):
                    self.execute(statement)
                self.execute(f"PRAGMA user_version = {number}")
        version = self.schema_version()
        if version > len(migrations):
            raise RuntimeError(
                f"the database is at schema version {version}, newer than this "
                f"Polkuopas knows ({len(migrations)}); upgrade Polkuopas"
            )
        return version

    def backup(self, target: Path) -> None:
        copy_sqlite(self.conn, target)


# What `Store` and the schema may rely on: either connection.
Connection = SqliteDatabase | PostgresDatabase


def store_location(value: Path | str) -> Path | str:
    """`POLKUOPAS_DB` as given: a `postgresql://` URL, or else a file path."""
    return value if is_postgres_url(value) else Path(value)


def describe(location: Path | str) -> str:
    """The store's location for messages: a URL without its password."""
    return redact(location) if is_postgres_url(location) else str(location)


def connect(path: Path | str) -> Connection:
    """Open the store with the settings every process uses: the SQLite file,
    or PostgreSQL when `path` is a `postgresql://` URL."""
    if is_postgres_url(path):
        return PostgresDatabase(str(path))
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; `atomic` opens every one
    # explicitly, so no write can be left uncommitted.
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None
    )
    db = SqliteDatabase(conn)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT * 1000}")
    # A deleted row's bytes are overwritten, not left in the file's free pages:
    # a client's own path removed at their request is gone from the file once
    # the write-ahead log is checkpointed.
    db.execute("PRAGMA secure_delete = ON")
    if str(path) != ":memory:":
        db.enable_wal()
    return db
