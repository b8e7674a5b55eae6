"""Retention of the chat conversations in Rasa's tracker database.

Rasa writes the conversations to its own SQL tracker store (on `make run` the
SQLite file `var/rasa-tracker.db`, table `events`); the client store does not
hold them. `polkuopas conversations purge` deletes the ones idle longer than
`POLKUOPAS_RETENTION_DAYS`; on a PostgreSQL tracker store
`deploy/purge-conversations.sql` does the same.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path


def purge_conversations(tracker_db: Path, older_than_days: int) -> int:
    """Delete Rasa conversations whose last event is older than the limit.

    Works on Rasa's SQL tracker store (table `events`); returns how many
    conversations were deleted. A missing file means nothing to delete.
    """
    if not Path(tracker_db).exists():
        return 0
    cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).timestamp()
    conn = sqlite3.connect(str(tracker_db), timeout=10, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        old = [
            row[0]
            for row in conn.execute(
                "SELECT sender_id FROM events GROUP BY sender_id "
                "HAVING MAX(timestamp) < ?",
                [cutoff],
            )
        ]
        conn.executemany("DELETE FROM events WHERE sender_id = ?", [[s] for s in old])
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if "no such table" in str(exc):
            return 0
        raise
    finally:
        conn.close()
    return len(old)
