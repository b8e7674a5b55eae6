"""The client store, by concern.

- `clientstore`: `Store`, one method per query, and who writes (its docstring);
  `open_store` connects and migrates.
- `schema`: the migrations of both databases and `migrate`.
- `connections`: `connect` and the SQLite connection (`SqliteDatabase`) with the
  same face as the PostgreSQL one (`postgres.PostgresDatabase`).
- `maintenance`: the backup.

Rasa's conversations are not here: their retention is `polkuopas.conversations`.
Import from `polkuopas.store`; the names below are its public face.
"""

from polkuopas.store.clientstore import (
    FEEDBACK_COMMENT_MAX,
    OWN_PATH_KINDS,
    Assignment,
    Client,
    FollowUp,
    Meeting,
    OwnPathItem,
    Professional,
    StaffMember,
    StaffSession,
    Store,
    TokenCheck,
    check_token,
    hash_token,
    iso,
    new_token,
    now_utc,
    open_store,
    token_expiry,
)
from polkuopas.store.connections import (
    Connection,
    SqliteDatabase,
    connect,
    describe,
    store_location,
)
from polkuopas.store.maintenance import backup
from polkuopas.store.postgres import (
    PostgresDatabase,
    database_errors,
    is_postgres_url,
    redact,
)
from polkuopas.store.schema import MIGRATIONS, PG_MIGRATIONS, migrate, schema_version

__all__ = [
    "FEEDBACK_COMMENT_MAX",
    "MIGRATIONS",
    "OWN_PATH_KINDS",
    "PG_MIGRATIONS",
    "Assignment",
    "Client",
    "Connection",
    "FollowUp",
    "Meeting",
    "OwnPathItem",
    "PostgresDatabase",
    "Professional",
    "SqliteDatabase",
    "StaffMember",
    "StaffSession",
    "Store",
    "TokenCheck",
    "backup",
    "check_token",
    "connect",
    "database_errors",
    "describe",
    "hash_token",
    "is_postgres_url",
    "iso",
    "migrate",
    "new_token",
    "now_utc",
    "open_store",
    "redact",
    "schema_version",
    "store_location",
    "token_expiry",
]
