"""The atomic lock store (bot/polkuopas_rasa/lockstore.py) against Rasa's own,
with real servers: worker processes stand for Rasa servers and take turns of
the same conversations in the same instant, over a network that takes a few
milliseconds a request (tests/scaleout/lock_race.py).
Rasa 3.6's RedisLockStore lets two turns in at once and one is lost; ours
keeps every turn, in order."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import require_bot_python
from deploy.servers import Postgres, Redis
from polkuopas.settings import PROJECT_ROOT

pytestmark = pytest.mark.rasa

RACE = PROJECT_ROOT / "tests" / "scaleout" / "lock_race.py"
CONVERSATIONS = 30


def race(lock: str, postgres: Postgres, redis: Redis) -> dict:
    run = subprocess.run(
        [
            require_bot_python(), str(RACE), "--lock", lock,
            "--redis-port", str(redis.port), "--redis-password", redis.password,
            "--postgres-url", postgres.url(), "--workers", "2",
            "--conversations", str(CONVERSATIONS),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "bot")},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_atomic_lock_keeps_every_turn_in_order(postgres, redis_server):
    result = race("atomic", postgres, redis_server)
    assert result["turns_kept"] == result["turns_sent"] == 2 * CONVERSATIONS
    assert result["conversations_that_lost_a_turn"] == 0
    assert result["in_order"] is True


def test_rasas_stock_lock_loses_turns_in_the_same_race(postgres, redis_server):
    result = race("stock", postgres, redis_server)
    assert result["turns_kept"] < result["turns_sent"]
    assert result["conversations_that_lost_a_turn"] > 0
