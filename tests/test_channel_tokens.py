"""The chat channel's token check (bot/polkuopas_rasa/tokencheck.py) on a PostgreSQL
client store, in Rasa's environment: the same verdicts as on SQLite, a
read-only connection, a dropped connection opened again, a database that is
down treated as no identity, and no password or token in its log."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date, timedelta

import pytest

from conftest import BACKENDS, bot_pythonpath, require_bot_python
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import now_utc, open_store

pytestmark = pytest.mark.rasa
STORE_BACKENDS = BACKENDS[1:]  # `store` is the PostgreSQL one

TOKENS = ["good-token-1", "expired-token", "revoked-token", "made-up-token"]
SCRIPT = """
import json, logging, sys
import psycopg2
from polkuopas_rasa import channel as c, tokencheck

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
url, sqlite_file, down_url = sys.argv[1:4]
tokens = sys.argv[4:]
pg = c.TokenRestInput.from_credentials({}).tokens
out = {"kind": type(pg).__name__, "repr": repr(pg)}
out["postgres"] = [pg.check(t) for t in tokens] + [pg.check(None)]
out["sqlite"] = [tokencheck.token_store(sqlite_file).check(t) for t in tokens]
conn = pg._local.conn
out["readonly"] = conn.readonly
with psycopg2.connect(url) as admin, admin.cursor() as cur:
    cur.execute("SELECT pg_terminate_backend(%s)", (conn.get_backend_pid(),))
out["after_drop"] = pg.check(tokens[0])
out["down"] = tokencheck.token_store(down_url).check(tokens[0])
print(json.dumps(out))
"""


def seed(store) -> None:
    with store.transaction():
        for client in ("c1", "c2"):
            store.add_client(client, "mini", "alku", date(2026, 1, 5), "t")
        store.add_token("c1", "good-token-1", now_utc() + timedelta(days=1))
        store.add_token("c1", "expired-token", now_utc() - timedelta(seconds=5))
        store.add_token("c2", "revoked-token", now_utc() + timedelta(days=1))
        store.revoke_tokens("c2")


def test_token_check_on_postgres_as_on_sqlite(store, store_url, postgres, tmp_path):
    seed(store)
    sqlite_store = open_store(tmp_path / "same.db")
    seed(sqlite_store)
    sqlite_store.db.close()
    down = postgres.url().replace(f":{postgres.port}/", ":1/")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLKUOPAS_")}
    result = subprocess.run(
        [require_bot_python(), "-c", SCRIPT, store_url, str(tmp_path / "same.db"),
         down, *TOKENS],
        env={**env, "PYTHONPATH": bot_pythonpath(), "POLKUOPAS_DB": store_url},
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["kind"] == "PostgresTokenStore"
    assert postgres.password not in out["repr"]
    expected = [
        {"identity": "valid", "client_id": "c1"},
        {"identity": "expired", "client_id": None},
        {"identity": "revoked", "client_id": None},
        {"identity": "none", "client_id": None},
    ]
    assert out["postgres"] == [*expected, {"identity": "none", "client_id": None}]
    assert out["sqlite"] == expected
    assert out["readonly"] is True
    assert out["after_drop"] == expected[0]
    assert out["down"] == {"identity": "none", "client_id": None}
    assert "token look-up failed (OperationalError)" in result.stderr
    for secret in (postgres.password, *TOKENS):
        assert secret not in result.stderr
