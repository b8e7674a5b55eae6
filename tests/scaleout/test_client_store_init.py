"""deploy/postgres-init.sh against a real PostgreSQL: it makes the client
store's database and user, the store opens and migrates there with that
user's URL (as compose sets POLKUOPAS_DB), and other users are kept out."""

from __future__ import annotations

import os
import secrets
import subprocess
from datetime import date

import psycopg
import pytest

from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import MIGRATIONS, open_store, schema_version

INIT = PROJECT_ROOT / "deploy" / "postgres-init.sh"


def test_init_script_makes_a_store_only_its_user_opens(postgres):
    password = secrets.token_hex(16)
    env = {
        **os.environ,
        "PATH": f"{postgres.bin}:{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGPASSWORD": postgres.password,
        "POSTGRES_USER": postgres.user,
        "POSTGRES_DB": postgres.database,
        "CLIENT_DB_NAME": "clients_init",
        "CLIENT_DB_USER": "clients_init",
        "CLIENT_DB_PASSWORD": password,
    }
    result = subprocess.run(
        ["sh", str(INIT)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr
    server = f"127.0.0.1:{postgres.port}/clients_init?sslmode=prefer"
    store = open_store(f"postgresql://clients_init:{password}@{server}")
    assert schema_version(store.db) == len(MIGRATIONS)
    with store.transaction():
        store.add_client("c1", "mini", "alku", date(2026, 1, 5), "t")
    store.db.close()
    collation = "SELECT datcollate FROM pg_database WHERE datname = 'clients_init'"
    assert postgres.psql("-c", collation).strip() == "C"  # sorted as in SQLite
    postgres.psql("-c", "CREATE ROLE other_user LOGIN PASSWORD 'other-pw'")
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(f"postgresql://other_user:other-pw@{server}").close()
