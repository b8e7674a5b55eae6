"""The client store's schema: one list of migrations per database.

`migrate` is the one entry point, run by `open_store` at every start; each
database keeps its own version number (`polkuopas.store.connections`: SQLite's
`user_version`, PostgreSQL's one-row table) and applies the missing scripts of
its own list, in one transaction each, under the database's write lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polkuopas.store.connections import Connection

# Each entry moves the schema one version forward; never edit a released one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE professionals (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        organisation TEXT NOT NULL DEFAULT '',
        phone TEXT,
        email TEXT,
        hours TEXT,
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        created_at TEXT NOT NULL
    );
    CREATE TABLE clients (
        id TEXT PRIMARY KEY,
        path_id TEXT NOT NULL,
        current_step TEXT NOT NULL,
        started_on TEXT NOT NULL,
        ended_on TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES clients(id),
        role TEXT NOT NULL,
        professional_id TEXT NOT NULL REFERENCES professionals(id),
        since TEXT NOT NULL,
        until TEXT
    );
    CREATE UNIQUE INDEX assignments_one_active
        ON assignments(client_id, role, professional_id) WHERE until IS NULL;
    CREATE TABLE step_history (
        id INTEGER PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES clients(id),
        from_step TEXT,
        to_step TEXT NOT NULL,
        moved_by TEXT NOT NULL,
        moved_at TEXT NOT NULL
    );
    CREATE INDEX step_history_client ON step_history(client_id);
    CREATE TABLE followups (
        client_id TEXT PRIMARY KEY REFERENCES clients(id),
        role TEXT NOT NULL,
        due_on TEXT NOT NULL,
        due_by TEXT NOT NULL,
        done_at TEXT,
        done_by TEXT
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES clients(id),
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX tokens_client ON tokens(client_id);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        entity TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 2: contact requests from the chat ("I want a person").
    """
    CREATE TABLE contact_requests (
        id INTEGER PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES clients(id),
        role TEXT,
        professional_id TEXT REFERENCES professionals(id),
        created_at TEXT NOT NULL,
        handled_at TEXT,
        handled_by TEXT
    );
    CREATE INDEX contact_requests_open ON contact_requests(handled_at);
    """,
    # 3: feedback from the chat widget ("was this helpful?" and comments).
    """
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        client_id TEXT REFERENCES clients(id),
        path_id TEXT,
        topic TEXT NOT NULL,
        helpful INTEGER CHECK (helpful IN (0, 1)),
        comment TEXT,
        created_at TEXT NOT NULL
    );
    """,
    # 4: the professionals' workspace: staff accounts (a sign-in, linked to a
    # professional record for a worker), their sessions (only the hash of the
    # session id is kept), and a note on a handled contact request.
    """
    CREATE TABLE staff (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL
            CHECK (role IN ('tyontekija', 'polun_omistaja', 'admin')),
        professional_id TEXT REFERENCES professionals(id),
        password_hash TEXT,
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        created_at TEXT NOT NULL
    );
    CREATE TABLE staff_sessions (
        id_hash TEXT PRIMARY KEY,
        staff_id TEXT NOT NULL REFERENCES staff(id),
        csrf_token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);
    ALTER TABLE contact_requests ADD COLUMN note TEXT
    """,
    # 5: the next meeting (one a client: date, time, place, with whom) and the
    # client's own path, written with the client: goals in their own words,
    # what they want to try, agreed next actions with dates. A removed item is
    # deleted, not flagged.
    """
    CREATE TABLE meetings (
        client_id TEXT PRIMARY KEY REFERENCES clients(id),
        meets_on TEXT NOT NULL,
        at_time TEXT NOT NULL,
        place TEXT NOT NULL,
        with_whom TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_at TEXT NOT NULL
    );
    CREATE TABLE own_path_items (
        id INTEGER PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES clients(id),
        kind TEXT NOT NULL CHECK (kind IN ('goal', 'try', 'action')),
        text TEXT NOT NULL,
        due_on TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX own_path_items_client ON own_path_items(client_id)
    """,
    # 6: the paths a path owner (polun_omistaja) sees,
    # and the questions the assistant did not understand or answered with low
    # confidence, for the path owners' learning pages. A question is kept with
    # its personal data masked, the path it was asked on and the assistant's
    # best guesses; never with a client id. Purged after the retention days.
    """
    CREATE TABLE staff_paths (
        staff_id TEXT NOT NULL REFERENCES staff(id),
        path_id TEXT NOT NULL,
        PRIMARY KEY (staff_id, path_id)
    );
    CREATE TABLE unanswered (
        id INTEGER PRIMARY KEY,
        path_id TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('fallback', 'low_confidence')),
        text TEXT NOT NULL,
        intent TEXT,
        confidence REAL,
        second_intent TEXT,
        second_confidence REAL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX unanswered_path ON unanswered(path_id, created_at)
    """,
    # 7: what the client asked when they asked for a call (their message,
    # personal data masked) and when they are best reached, for the inbox.
    """
    ALTER TABLE contact_requests ADD COLUMN asked TEXT;
    ALTER TABLE contact_requests ADD COLUMN reachable TEXT
    """,
]

# The same migrations for PostgreSQL, one for one (a test keeps the tables and
# columns equal): identity columns for INTEGER PRIMARY KEY, the rest as on
# SQLite (dates as ISO text, flags as INTEGER 0/1).
PG_MIGRATIONS: list[str] = [
    script.replace(
        "id INTEGER PRIMARY KEY",
        "id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    )
    for script in MIGRATIONS
]

SCRIPTS: dict[str, list[str]] = {"sqlite": MIGRATIONS, "postgresql": PG_MIGRATIONS}


def schema_version(db: Connection) -> int:
    return db.schema_version()


def migrate(db: Connection) -> int:
    """Bring the schema to the newest version; safe to run at every start."""
    return db.migrate(SCRIPTS[db.dialect])


def statements(script: str) -> list[str]:
    """A migration script as its statements (no `;` inside the schema's SQL)."""
    return [s.strip() for s in script.split(";") if s.strip()]
