"""The client store on PostgreSQL: the part of sqlite-utils' `Database` that
`polkuopas.store.Store` uses, over one psycopg 3 connection (the same face as
`polkuopas.store.connections.SqliteDatabase`).

`Store` keeps its SQL and its one method per query; this adapter runs them on
PostgreSQL: `?` placeholders become `%s`, `db["table"].insert/update/upsert/
rows_where` become plain statements, and `atomic()` is a transaction (nested
ones are savepoints, as in sqlite-utils). As on SQLite, statements outside
`atomic()` commit at once. A connection the server dropped (a restart, a
fail-over) is opened again at the next statement outside a transaction.

The schema has a PostgreSQL version of each migration (`PG_MIGRATIONS` in
`polkuopas.store.schema`); its version is kept in the one-row table `polkuopas_schema`
and migrations run under an advisory lock, so servers opening an empty store
at the same moment take turns.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from sqlite_utils.db import NotFoundError

from polkuopas.errors import Invalid
from polkuopas.store.schema import statements

if TYPE_CHECKING:  # psycopg is imported only when a PostgreSQL store is opened
    import psycopg

SCHEMES = ("postgresql://", "postgres://")
# pg_advisory_xact_lock key of the migrations: "polkuopas" as a number.
MIGRATION_LOCK = 0x706F6C6B756F7061
VERSION_TABLE = "polkuopas_schema"


def is_postgres_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SCHEMES)


def database_errors() -> tuple[type[Exception], ...]:
    """psycopg's base error once a PostgreSQL store has been opened (before
    that none can occur): for `except` clauses, without importing psycopg."""
    psycopg = sys.modules.get("psycopg")
    return (psycopg.Error,) if psycopg is not None else ()


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """sqlite3's `?` placeholders as psycopg's `%s` (a literal % doubled);
    quoted strings and identifiers are left as they are."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        if char == "%":
            out.append("%%")
            continue
        out.append(char)
    return "".join(out)


def _params(params: Sequence[Any] | None) -> list[Any]:
    # SQLite stores True as 1; the schema's flags are INTEGER on both.
    return [int(p) if isinstance(p, bool) else p for p in params or ()]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresDatabase:
    """What `Store` uses of sqlite-utils' `Database`, on PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self._depth = 0  # open atomic() blocks
        self.conn = self._connect()
        self._primary_keys: dict[str, str] = {}

    def _connect(self) -> psycopg.Connection:
        import psycopg

        return psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=10,
            application_name="polkuopas",
        )

    def __repr__(self) -> str:
        return f"<PostgresDatabase {redact(self.url)}>"

    def _live(self) -> psycopg.Connection:
        """The connection, opened again if the server dropped it (only
        between transactions: inside one the error must reach the caller)."""
        if self.conn.broken and not self._depth:
            self.conn.close()
            self.conn = self._connect()
        return self.conn

    # --- the sqlite-utils surface -------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor:
        """Run one statement; the cursor has `fetchone`, `fetchall`, `rowcount`."""
        return self._live().execute(translate(sql), _params(params))

    def query(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        from psycopg.rows import dict_row

        cursor = self._live().cursor(row_factory=dict_row)
        cursor.execute(translate(sql), _params(params))
        return iter(cursor.fetchall())

    @contextmanager
    def atomic(self) -> Iterator[PostgresDatabase]:
        """One transaction; a nested one is a savepoint."""
        with self._live().transaction():
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def __getitem__(self, name: str) -> Table:
        return Table(self, name)

    def table_names(self) -> list[str]:
        return [
            row["table_name"]
            for row in self.query(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY table_name"
            )
        ]

    def close(self) -> None:
        self.conn.close()

    def primary_key(self, table: str) -> str:
        if table not in self._primary_keys:
            row = self.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = ?::regclass AND i.indisprimary",
                [_quote(table)],
            ).fetchone()
            if row is None:
                raise RuntimeError(f"table {table!r} has no primary key")
            self._primary_keys[table] = row[0]
        return self._primary_keys[table]

    # --- schema -------------------------------------------------------------

    def schema_version(self) -> int:
        exists = self.execute("SELECT to_regclass(?)", [VERSION_TABLE]).fetchone()[0]
        if exists is None:
            return 0
        row = self.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
        return row[0] if row else 0

    def migrate(self, migrations: Sequence[str]) -> int:
        """Apply the missing migrations in one transaction, under a lock."""
        if self.schema_version() == len(migrations):
            return len(migrations)  # current: no lock, no DDL at every open
        with self.atomic():
            self.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
            self.execute(
                f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
                "one INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1), "
                "version INTEGER NOT NULL)"
            )
            self.execute(
                f"INSERT INTO {VERSION_TABLE} (one, version) VALUES (1, 0) "
                "ON CONFLICT (one) DO NOTHING"
            )
            version = self.schema_version()
            if version > len(migrations):
                raise RuntimeError(
                    f"the database is at schema version {version}, newer than "
                    f"this Polkuopas knows ({len(migrations)}); upgrade Polkuopas"
                )
            for number, script in enumerate(migrations[version:], start=version + 1):
                for statement in statements(script):
                    self.execute(statement)
                self.execute(f"UPDATE {VERSION_TABLE} SET version = ?", [number])
        return self.schema_version()

    def backup(self, target: Any) -> None:
        """`polkuopas backup` copies a SQLite file; this says what to use."""
        raise Invalid(
            "`polkuopas backup` copies a SQLite store; this one is on PostgreSQL: "
            "back it up with pg_dump (pg_dump --format=custom --file=FILE "
            "DATABASE_URL) or the database service's own backups"
        )

    def set_schema_version(self, version: int) -> None:
        """For tests and repairs: write the version number as it is."""
        with self.atomic():
            self.execute(f"UPDATE {VERSION_TABLE} SET version = ?", [version])


class Table:
    """`db["name"]`: the table methods `Store` uses."""

    def __init__(self, db: PostgresDatabase, name: str):
        self.db = db
        self.name = name
        self.last_pk: Any = None

    def insert(self, record: dict[str, Any]) -> Table:
        columns = ", ".join(_quote(c) for c in record)
        marks = ", ".join("?" for _ in record)
        pk = self.db.primary_key(self.name)
        row = self.db.execute(
            f"INSERT INTO {_quote(self.name)} ({columns}) VALUES ({marks}) "
            f"RETURNING {_quote(pk)}",
            list(record.values()),
        ).fetchone()
        self.last_pk = row[0]
        return self

    def upsert(self, record: dict[str, Any], pk: str) -> Table:
        columns = ", ".join(_quote(c) for c in record)
        marks = ", ".join("?" for _ in record)
        updates = ", ".join(
            f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in record if c != pk
        )
        self.db.execute(
            f"INSERT INTO {_quote(self.name)} ({columns}) VALUES ({marks}) "
            f"ON CONFLICT ({_quote(pk)}) DO UPDATE SET {updates}",
            list(record.values()),
        )
        self.last_pk = record[pk]
        return self

    def update(self, pk_value: Any, updates: dict[str, Any]) -> Table:
        """As sqlite-utils: a missing row raises `NotFoundError`."""
        pk = self.db.primary_key(self.name)
        sets = ", ".join(f"{_quote(c)} = ?" for c in updates)
        cursor = self.db.execute(
            f"UPDATE {_quote(self.name)} SET {sets} WHERE {_quote(pk)} = ?",
            [*updates.values(), pk_value],
        )
        if cursor.rowcount == 0:
            raise NotFoundError
        self.last_pk = pk_value
        return self

    def rows_where(
        self,
        where: str | None = None,
        where_args: Sequence[Any] | None = None,
        order_by: str | None = None,
        select: str = "*",
    ) -> Iterator[dict[str, Any]]:
        sql = f"SELECT {select} FROM {_quote(self.name)}"
        if where is not None:
            sql += f" WHERE {where}"
        if order_by is not None:
            sql += f" ORDER BY {order_by}"
        return self.db.query(sql, where_args)

    @property
    def rows(self) -> Iterator[dict[str, Any]]:
        return self.rows_where()
