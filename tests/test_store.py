"""The client store: schema, migrations and one query each, on SQLite and on
PostgreSQL (the throwaway server of tests/scaleout)."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import date, timedelta

import psycopg
import pytest
from sqlite_utils import Database

from conftest import BACKENDS
from polkuopas.errors import Conflict, NotFound
from polkuopas.store import (
    MIGRATIONS,
    connect,
    hash_token,
    migrate,
    now_utc,
    open_store,
    schema_version,
)

STORE_BACKENDS = BACKENDS


def add_pro(store, pro_id="p1", role="ohjaaja", name="Olli Ohjaaja"):
    with store.transaction():
        store.add_professional(
            {"id": pro_id, "name": name, "role": role, "phone": "044 000 0001"}
        )


def add_client(store, client_id="c1"):
    with store.transaction():
        store.add_client(client_id, "mini", "alku", date(2026, 1, 5), "testaaja")


def test_schema_is_created_at_newest_version(store):
    assert schema_version(store.db) == len(MIGRATIONS)
    assert set(store.db.table_names()) >= {
        "professionals",
        "clients",
        "assignments",
        "step_history",
        "followups",
        "tokens",
        "audit_log",
    }


def test_migrate_twice_changes_nothing(store_url):
    db = connect(store_url)
    assert migrate(db) == len(MIGRATIONS)
    assert migrate(db) == len(MIGRATIONS)
    db.close()


def test_newer_schema_is_refused(store_url):
    db = connect(store_url)
    migrate(db)
    if isinstance(store_url, str):
        db.set_schema_version(len(MIGRATIONS) + 1)
    else:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer than this Polkuopas knows"):
        migrate(db)
    db.close()


@pytest.mark.sqlite_only
def test_wal_and_foreign_keys_are_on(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_assignment_to_unknown_client_breaks_foreign_key(store):
    add_pro(store)
    with (
        pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)),
        store.transaction(),
    ):
        store.assign("nobody", "ohjaaja", "p1", date(2026, 1, 5))


def test_read_then_write_waits_for_another_writer(store_url):
    """A unit of work that reads and then writes, while another connection
    writes in between, waits its turn instead of "database is locked"."""
    add_client(store := open_store(store_url))
    other = open_store(store_url)
    errors: list[BaseException] = []

    def write_feedback() -> None:
        try:
            with other.transaction():
                other.add_feedback("between", True, None)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    writer = threading.Thread(target=write_feedback)
    try:
        with store.transaction():
            assert store.get_client("c1")
            writer.start()
            time.sleep(0.3)  # the other writer commits here unless it must wait
            store.move_client("c1", "toinen", "testaaja")
        writer.join(timeout=30)
        assert not errors
        assert store.get_client("c1").current_step == "toinen"
        assert [r["topic"] for r in store.feedback_comments()] == []
        assert store.feedback_summary()[0]["topic"] == "between"
    finally:
        writer.join(timeout=30)
        store.db.close()
        other.db.close()


def test_a_write_outside_a_transaction_is_refused(store):
    with pytest.raises(RuntimeError, match=r"outside Store\.transaction"):
        store.add_feedback("outside", True, None)
    assert store.feedback_summary() == []


def test_database_folder_is_created(tmp_path):
    store = open_store(tmp_path / "a" / "b" / "s.db")
    assert (tmp_path / "a" / "b" / "s.db").exists()
    store.db.close()


def test_add_and_find_professional(store):
    add_pro(store)
    pro = store.get_professional("p1")
    assert (pro.name, pro.role, pro.phone, pro.active) == (
        "Olli Ohjaaja",
        "ohjaaja",
        "044 000 0001",
        True,
    )


def test_duplicate_professional_is_a_conflict(store):
    add_pro(store)
    with pytest.raises(Conflict, match="already exists"):
        add_pro(store)


def test_unknown_professional(store):
    with pytest.raises(NotFound, match="unknown professional 'x'"):
        store.get_professional("x")


def test_add_client_records_first_step(store):
    add_client(store)
    client = store.get_client("c1")
    assert (client.path_id, client.current_step, client.started_on) == (
        "mini",
        "alku",
        "2026-01-05",
    )
    assert [
        (h["from_step"], h["to_step"], h["moved_by"]) for h in store.step_history("c1")
    ] == [(None, "alku", "testaaja")]


def test_move_client_keeps_history(store):
    add_client(store)
    with store.transaction():
        store.move_client("c1", "tyo", "anna")
    assert store.get_client("c1").current_step == "tyo"
    assert [
        (h["from_step"], h["to_step"], h["moved_by"]) for h in store.step_history("c1")
    ] == [
        (None, "alku", "testaaja"),
        ("alku", "tyo", "anna"),
    ]


def test_pair_is_two_assignments_in_order(store):
    add_client(store)
    add_pro(store, "so", "sosiaaliohjaaja", "Sanna")
    add_pro(store, "te", "te_asiantuntija", "Teemu")
    with store.transaction():
        store.assign("c1", "asiakasvastaava", "so", date(2026, 1, 6))
        store.assign("c1", "asiakasvastaava", "te", date(2026, 1, 6))
    assert [(a.role, a.professional.name) for a in store.assignments("c1")] == [
        ("asiakasvastaava", "Sanna"),
        ("asiakasvastaava", "Teemu"),
    ]


def test_same_assignment_twice_is_a_conflict(store):
    add_client(store)
    add_pro(store)
    with store.transaction():
        store.assign("c1", "ohjaaja", "p1", date(2026, 1, 6))
    with pytest.raises(Conflict, match="already assigned"), store.transaction():
        store.assign("c1", "ohjaaja", "p1", date(2026, 1, 7))


def test_unassign_hides_the_assignment(store):
    add_client(store)
    add_pro(store)
    with store.transaction():
        store.assign("c1", "ohjaaja", "p1", date(2026, 1, 6))
        store.unassign("c1", "ohjaaja", "p1", date(2026, 2, 1))
    assert store.assignments("c1") == []
    with pytest.raises(NotFound), store.transaction():
        store.unassign("c1", "ohjaaja", "p1", date(2026, 2, 1))


def test_failed_transaction_leaves_nothing(store):
    add_pro(store)
    with pytest.raises(Conflict), store.transaction():
        store.add_client("c2", "mini", "alku", date(2026, 1, 5), "t")
        store.add_professional({"id": "p1", "name": "Dup", "role": "ohjaaja"})
    assert store.find_client("c2") is None
    assert store.step_history("c2") == []


def test_followups_due_before(store):
    add_client(store, "c1")
    add_client(store, "c2")
    with store.transaction():
        store.schedule_followup(
            "c1", "omatyontekija", date(2026, 3, 1), date(2026, 5, 1)
        )
        store.schedule_followup(
            "c2", "omatyontekija", date(2026, 6, 1), date(2026, 8, 1)
        )
    assert [f.client_id for f in store.open_followups()] == ["c1", "c2"]
    assert [f.client_id for f in store.open_followups(date(2026, 4, 1))] == ["c1"]
    with store.transaction():
        store.mark_followup_done("c1", "anna")
    assert [f.client_id for f in store.open_followups()] == ["c2"]
    assert store.find_followup("c1").done_by == "anna"


def test_token_is_stored_only_as_hash(store):
    add_client(store)
    with store.transaction():
        store.add_token("c1", "raw-secret-token", now_utc() + timedelta(days=1))
    rows = list(store.db["tokens"].rows)
    assert [r["token_hash"] for r in rows] == [hash_token("raw-secret-token")]
    if isinstance(store.db, Database):
        dump = "\n".join(store.db.iterdump())
    else:
        dump = "\n".join(
            str(row)
            for table in store.db.table_names()
            for row in store.db[table].rows_where()
        )
    assert hash_token("raw-secret-token") in dump
    assert "raw-secret-token" not in dump


def test_token_check_statuses(store):
    add_client(store)
    with store.transaction():
        store.add_token("c1", "good", now_utc() + timedelta(days=1))
        store.add_token("c1", "old", now_utc() - timedelta(seconds=1))
    assert store.check_token("good").status == "valid"
    assert store.check_token("good").client_id == "c1"
    assert store.check_token("old").status == "expired"
    assert store.check_token("old").client_id is None
    assert store.check_token("made-up").status == "none"
    assert store.check_token("").status == "none"
    with store.transaction():
        assert store.revoke_tokens("c1") == 2
    assert store.check_token("good").status == "revoked"
    assert store.check_token("good").client_id is None


def test_audit_log_keeps_details(store):
    with store.transaction():
        store.audit("anna", "add", "client", "c1", path="mini")
    (entry,) = store.audit_entries("c1")
    assert (entry["actor"], entry["action"], entry["details"]) == (
        "anna",
        "add",
        '{"path": "mini"}',
    )
