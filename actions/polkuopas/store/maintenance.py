"""Looking after the client store's file: the backup.

`polkuopas backup` calls `backup`; each connection knows how it is backed up
(`polkuopas.store.connections`): SQLite with its online backup, here;
PostgreSQL with its own tools (`PostgresDatabase.backup` says which).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from polkuopas.errors import Conflict

if TYPE_CHECKING:
    from polkuopas.store.connections import Connection


def backup(db: Connection, target: Path) -> None:
    """Copy the live store to `target`, or say how this database is backed up."""
    db.backup(Path(target))


def copy_sqlite(conn: sqlite3.Connection, target: Path) -> None:
    """Copy a live SQLite database to `target` with SQLite's online backup.

    Readers and writers may go on meanwhile; the copy is written beside the
    target and renamed into place, so a half-written backup never exists.
    """
    target = Path(target)
    if target.exists():
        raise Conflict(f"{target} already exists; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    copy = sqlite3.connect(str(partial))
    try:
        conn.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()
    partial.rename(target)
