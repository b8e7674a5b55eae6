"""The client store's PostgreSQL backend itself: the same schema as SQLite,
migrations under a lock, placeholders, a dropped connection, no password in
messages, backup refused. (The queries run on both in test_store.py.)"""

from __future__ import annotations

import threading
from datetime import date

import psycopg
import pytest

from conftest import BACKENDS
from polkuopas.cli import main
from polkuopas.errors import Invalid
from polkuopas.settings import Settings, get_settings
from polkuopas.store import (
    MIGRATIONS,
    PG_MIGRATIONS,
    backup,
    connect,
    describe,
    migrate,
    open_store,
    schema_version,
)
from polkuopas.store.postgres import PostgresDatabase, redact, translate

STORE_BACKENDS = BACKENDS[1:]  # PostgreSQL only


def columns_sqlite(db) -> dict[str, list[tuple[str, bool]]]:
    return {
        table: [
            (row[1], bool(row[3]) or bool(row[5]))  # name, NOT NULL or key
            for row in db.execute(f"PRAGMA table_info({table})").fetchall()
        ]
        for table in db.table_names()
    }


def columns_postgres(db: PostgresDatabase) -> dict[str, list[tuple[str, bool]]]:
    found: dict[str, list[tuple[str, bool]]] = {}
    for row in db.query(
        "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name <> 'polkuopas_schema' "
        "ORDER BY table_name, ordinal_position"
    ):
        found.setdefault(row["table_name"], []).append(
            (row["column_name"], row["is_nullable"] == "NO")
        )
    return found


def test_both_schemas_have_the_same_tables_and_columns(store_url, tmp_path):
    sqlite_db = connect(tmp_path / "s.db")
    migrate(sqlite_db)
    pg = connect(store_url)
    migrate(pg)
    assert len(PG_MIGRATIONS) == len(MIGRATIONS)
    assert columns_postgres(pg) == columns_sqlite(sqlite_db)
    pg.close()


def test_empty_store_opened_by_several_servers_at_once(store_url):
    errors: list[BaseException] = []
    versions: list[int] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        try:
            db = connect(store_url)
            start.wait()
            versions.append(migrate(db))
            db.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert versions == [len(MIGRATIONS)] * 4


def test_a_failed_migration_leaves_the_old_version(store_url):
    db = connect(store_url)
    broken = [*PG_MIGRATIONS[:1], "CREATE TABLE x (id INTEGER); SELECT nonsense"]
    with pytest.raises(psycopg.errors.UndefinedColumn):
        db.migrate(broken)
    assert schema_version(db) == 0
    assert "professionals" not in db.table_names()
    db.close()


def test_identity_keys_count_from_one_and_last_pk_is_the_new_row(store):
    with store.transaction():
        first = store.add_feedback("tervehdys", True, None)
        second = store.add_feedback("tervehdys", False, "kiitos")
    assert (first, second) == (1, 2)
    assert store.feedback_summary() == [
        {
            "topic": "tervehdys",
            "path_id": "-",
            "helpful": 1,
            "not_helpful": 1,
            "comments": 1,
        }
    ]


def test_update_of_a_missing_row_is_refused_as_in_sqlite_utils(store):
    from sqlite_utils.db import NotFoundError

    with pytest.raises(NotFoundError):
        store.db["clients"].update("nobody", {"current_step": "x"})


def test_a_dropped_connection_is_opened_again(store, postgres):
    with store.transaction():
        store.add_client("c1", "mini", "alku", date(2026, 1, 5), "t")
    pid = store.db.conn.info.backend_pid
    postgres.psql("-d", store.db.conn.info.dbname, "-c",
                  f"SELECT pg_terminate_backend({pid})")  # fmt: skip
    with pytest.raises(psycopg.OperationalError):
        store.find_client("c1")
    assert store.find_client("c1").current_step == "alku"


def test_placeholders_outside_quotes_only():
    assert translate("SELECT '?', \"a?\" FROM t WHERE a = ? AND b LIKE '5%'") == (
        "SELECT '?', \"a?\" FROM t WHERE a = %s AND b LIKE '5%%'"
    )


def test_messages_never_show_the_password():
    url = "postgresql://polkuopas:s3cret-pass@db.example.fi:5432/polkuopas"
    assert redact(url) == "postgresql://polkuopas:***@db.example.fi:5432/polkuopas"
    assert describe(url) == redact(url)
    assert redact("postgresql://u@h/d") == "postgresql://u@h/d"


def test_setting_keeps_a_url_as_it_is_and_a_file_as_a_path(tmp_path):
    url = "postgresql://u:p@127.0.0.1:5432/d"
    assert Settings(db=url).db == url
    assert Settings(db=str(tmp_path / "x.db")).db == tmp_path / "x.db"


def test_backup_points_to_pg_dump(store, tmp_path):
    with pytest.raises(Invalid, match="pg_dump"):
        backup(store.db, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_cli_on_postgres_and_its_errors_without_password(
    env, mini_dir, monkeypatch, capsys, postgres, tmp_path
):
    monkeypatch.setenv("POLKUOPAS_PATHS_DIR", str(mini_dir))
    get_settings.cache_clear()
    assert main(["client", "add", "--id", "c1", "--path", "mini"]) == 0
    stored = open_store(env)
    assert stored.get_client("c1").path_id == "mini"
    assert postgres.password not in repr(stored.db)
    stored.db.close()
    capsys.readouterr()
    assert main(["backup", str(tmp_path / "b.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err
    wrong = postgres.url("no_such_database")
    assert main(["--db", wrong, "client", "list"]) == 2
    err = capsys.readouterr().err
    assert "cannot use the database postgresql://polkuopas:***@127.0.0.1" in err
    assert postgres.password not in err
    monkeypatch.setenv("POLKUOPAS_TRACKER_DB", env)
    get_settings.cache_clear()
    assert main(["conversations", "purge"]) == 2
    assert "deploy/purge-conversations.sql" in capsys.readouterr().err


def test_sqlite_errors_still_name_the_file(tmp_path, capsys):
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite" * 100)
    assert main(["--db", str(junk), "client", "list"]) == 2
    assert f"cannot use the database {junk}" in capsys.readouterr().err
