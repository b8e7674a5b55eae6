"""deploy/endpoints.yml with Rasa 3.6 against a real PostgreSQL and Redis.

The servers are Debian's, started by the fixtures (conftest.py, servers.py);
the checks run in the bot environment (rasa_stores_check.py), where Rasa reads
the endpoints file and creates its stores the way `rasa run` does. Two store
instances stand for two Rasa servers behind the load balancer.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest

from conftest import require_bot_python
from deploy.servers import Postgres, Redis
from polkuopas.settings import PROJECT_ROOT

pytestmark = pytest.mark.rasa

CHECK = PROJECT_ROOT / "tests" / "scaleout" / "rasa_stores_check.py"
ENDPOINTS = PROJECT_ROOT / "deploy" / "endpoints.yml"
PURGE = PROJECT_ROOT / "deploy" / "purge-conversations.sql"
SPEEDUPS = PROJECT_ROOT / "bot" / "polkuopas_rasa" / "trackerstore.py"

TRACKER_CHECKS = [
    "endpoints_expand_the_environment",
    "tracker_store_is_postgresql",
    "save_and_retrieve",
    "two_servers_share_conversations",
    "keys_list_every_conversation",
    "sessions",
    "old_conversation_for_retention",
]
CACHED_CHECKS = [
    "cached_store_save_and_retrieve",
    "cached_store_two_servers",
    "cached_store_with_rasas_store",
    "cached_store_deletes_a_conversation",
]
LOCK_CHECKS = [
    "lock_store_is_redis",
    "lock_serialises_one_conversation",
    "lock_keeps_every_turn",
    "without_lock_turns_are_lost",
]


@pytest.fixture(scope="module")
def redis_or_reason(request) -> Redis | str:
    """The Redis server, or why there is none (outside CI only)."""
    try:
        return request.getfixturevalue("redis_server")
    except pytest.skip.Exception as skipped:
        return str(skipped)


@pytest.fixture(scope="module")
def results(postgres: Postgres, redis_or_reason, tmp_path_factory) -> dict:
    redis = redis_or_reason if isinstance(redis_or_reason, Redis) else None
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        # What deploy/endpoints.yml reads, pointing at the throwaway servers.
        "POLKUOPAS_ACTION_URL": "http://action.invalid:5055/webhook",
        "POLKUOPAS_ACTION_SECRET": secrets.token_urlsafe(24),
        "TRACKER_DB_HOST": "127.0.0.1",
        "TRACKER_DB_PORT": str(postgres.port),
        "TRACKER_DB_NAME": postgres.database,
        "TRACKER_DB_USER": postgres.user,
        "TRACKER_DB_PASSWORD": postgres.password,
        "TRACKER_DB_SSLMODE": "prefer",
        "LOCK_STORE_HOST": "127.0.0.1",
        "LOCK_STORE_PORT": str(redis.port if redis else 9),
        "LOCK_STORE_PASSWORD": redis.password if redis else "none",
        "LOCK_STORE_DB": "1",
        # bot/ (polkuopas_rasa: the cached tracker store, the atomic lock store).
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(PROJECT_ROOT / "bot"), os.environ.get("PYTHONPATH")) if p
        ),
    }
    out = tmp_path_factory.mktemp("scaleout") / "results.json"
    argv = [require_bot_python(), str(CHECK), str(ENDPOINTS), "--out", str(out)]
    if redis:
        argv.append("--redis")
    if SPEEDUPS.exists():
        argv.append("--cached")
    try:
        run = subprocess.run(
            argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
            timeout=240, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as expired:
        # Rasa's SQL store retries a database it cannot reach, forever.
        pytest.fail(f"the store checks did not finish in 240 s:\n{expired.stderr}")
    if not out.exists():
        pytest.fail(f"the store checks crashed (exit {run.returncode}):\n"
                    f"{run.stderr[-4000:]}")  # fmt: skip
    return json.loads(out.read_text())


def test_every_check_ran(results):
    expected = set(TRACKER_CHECKS)
    expected |= set(CACHED_CHECKS) if SPEEDUPS.exists() else set()
    expected |= set(LOCK_CHECKS) if "lock_store_is_redis" in results else set()
    assert {name for name in results if not name.startswith("_")} == expected


@pytest.mark.parametrize("check", TRACKER_CHECKS)
def test_tracker_store_on_postgresql(results, check):
    assert results[check] == "ok", results[check]


@pytest.mark.parametrize("check", CACHED_CHECKS)
def test_cached_tracker_store_on_postgresql(results, check):
    if not SPEEDUPS.exists():
        pytest.skip("bot/polkuopas_rasa/trackerstore.py is not there")
    assert results[check] == "ok", results[check]


@pytest.mark.parametrize("check", LOCK_CHECKS)
def test_lock_store_on_redis(results, redis_or_reason, check):
    if not isinstance(redis_or_reason, Redis):
        pytest.skip(redis_or_reason)
    assert results[check] == "ok", results[check]


def conversations(postgres: Postgres) -> set[str]:
    return set(postgres.psql("-c", "SELECT DISTINCT sender_id FROM events").split())


def test_purge_deletes_only_conversations_past_retention(results, postgres):
    old = next(c for c in results["_conversations"] if c.endswith(":retention-old"))
    before = conversations(postgres)
    assert old in before
    deleted = postgres.psql("-v", "days=90", stdin=PURGE.read_text())
    assert deleted.strip() == "1"
    assert before - conversations(postgres) == {old}
    # Run again: nothing is old any more.
    assert postgres.psql("-v", "days=90", stdin=PURGE.read_text()).strip() == "0"


def test_purge_without_days_fails_and_deletes_nothing(results, postgres):
    before = conversations(postgres)
    with pytest.raises(RuntimeError, match="syntax error"):
        postgres.psql(stdin=PURGE.read_text())
    assert conversations(postgres) == before
