"""Nothing is lost: backups, retention, and a writer killed half-way."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest

from polkuopas.cli import main
from polkuopas.conversations import purge_conversations
from polkuopas.settings import get_settings
from polkuopas.store import iso, now_utc, open_store


def cli(*args: str) -> int:
    try:
        return main(list(args))
    except SystemExit as exc:
        return exc.code


def test_backup_is_a_complete_copy(env, capsys):
    assert cli("demo") == 0
    target = env.parent / "backups" / "copy.db"
    assert cli("backup", str(target)) == 0
    assert capsys.readouterr().out.endswith(f"to {target}\n")
    original, copy = open_store(env), open_store(target)
    assert [c.id for c in copy.list_clients()] == [
        c.id for c in original.list_clients()
    ]
    assert copy.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not target.with_name("copy.db.partial").exists()


def test_backup_never_overwrites(env, capsys):
    target = env.parent / "copy.db"
    target.write_text("keep me")
    assert cli("backup", str(target)) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def make_tracker_db(path, conversations):
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, "
            "type_name TEXT, timestamp REAL, intent_name TEXT, action_name TEXT, "
            "data TEXT)"
        )
        for sender, days_ago in conversations:
            stamp = now_utc().timestamp() - days_ago * 86400
            conn.execute(
                "INSERT INTO events (sender_id, type_name, timestamp) VALUES (?,?,?)",
                [sender, "user", stamp],
            )


def test_purge_deletes_only_idle_conversations(tmp_path):
    tracker = tmp_path / "tracker.db"
    make_tracker_db(
        tracker,
        [("old", 100), ("old", 95), ("mixed", 100), ("mixed", 1), ("new", 2)],
    )
    assert purge_conversations(tracker, 90) == 1
    with sqlite3.connect(tracker) as conn:
        left = sorted({r[0] for r in conn.execute("SELECT sender_id FROM events")})
    assert left == ["mixed", "new"]


def test_purge_command_uses_the_retention_setting(env, tmp_path, monkeypatch, capsys):
    tracker = tmp_path / "tracker.db"
    make_tracker_db(tracker, [("a", 40), ("b", 10)])
    monkeypatch.setenv("POLKUOPAS_TRACKER_DB", str(tracker))
    monkeypatch.setenv("POLKUOPAS_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    store = open_store(env)  # a learning note 40 days old and one from today
    try:
        with store.transaction():
            store.add_unanswered("fallback", "vanha", "mini", [])
            old = iso(now_utc() - timedelta(days=40))
            store.db.execute("UPDATE unanswered SET created_at = ?", [old])
            store.add_unanswered("fallback", "uusi", "mini", [])
    finally:
        store.db.close()
    assert cli("conversations", "purge") == 0
    assert capsys.readouterr().out == (
        "deleted 1 conversation(s) idle for more than 30 days\n"
        "deleted 1 learning note(s) older than 30 days\n"
    )
    assert cli("conversations", "purge", "--older-than", "5") == 0
    assert "deleted 1 conversation(s)" in capsys.readouterr().out


def test_purge_without_tracker_store_deletes_nothing(tmp_path):
    assert purge_conversations(tmp_path / "missing.db", 1) == 0


@pytest.mark.parametrize("days", ["0", "-3", "many"])
def test_purge_bad_days(env, days, capsys):
    assert cli("conversations", "purge", "--older-than", days) == 2


WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from polkuopas.store import open_store

    store = open_store(sys.argv[1])
    with store.transaction():
        store.add_client("half", "kuntouttava-tyotoiminta", "ohjautuminen",
                         date(2026, 1, 1), "killer")
        store.audit("killer", "add", "client", "half")
        print("written", flush=True)
        time.sleep(60)  # killed here, before the commit
    """
)


def test_writer_killed_mid_transaction_leaves_nothing_half_written(tmp_path):
    db = tmp_path / "store.db"
    open_store(db).db.close()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "written"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    store = open_store(db)
    assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert store.find_client("half") is None
    assert store.step_history("half") == []
    assert store.audit_entries("half") == []
    # The store is writable again right away: no lock was left behind.
    started = time.monotonic()
    with store.transaction():
        store.add_client("next", "kuntouttava-tyotoiminta", "ohjautuminen",
                         now_utc().date(), "t")  # fmt: skip
    assert time.monotonic() - started < 5
    assert store.find_client("next") is not None
