"""bot/polkuopas_rasa/speedups.py and trackerstore.py keep Rasa's behaviour (run
in the bot environment).

benchmarks/check_speedups.py runs inside Rasa without loading a model: the cached
tracker store against Rasa's own SQLTrackerStore on temporary SQLite files
(same rows, same trackers, the window, failed turns, new sessions, purge), the
patches against what they replace, and spaCy without its NER against spaCy
with it. The end-to-end tests run the whole assistant with them.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import bot_pythonpath, require_bot_python
from polkuopas.settings import PROJECT_ROOT

pytestmark = pytest.mark.rasa

CHECKS = [
    "short_conversation_same_rows_and_trackers",
    "long_conversation_is_windowed_at_a_turn_boundary",
    "window_without_cache",
    "shared_cache_follows_the_turns_of_another_server",
    "failed_turn_and_failed_save_are_read_again",
    "new_session_is_read_from_sql",
    "idle_conversation_and_purge_are_read_from_sql",
    "cache_keeps_the_most_recent_conversations",
    "product_endpoints_make_the_cached_store",
    "other_rasa_versions_run_stock",
    "tensorflow_one_thread_per_pool_unless_set",
    "gc_freeze_once_the_server_has_started",
    "validator_raises_what_jsonschema_validate_raises",
    "event_types_resolve_as_before",
    "debug_states_formatted_only_when_logged",
    "action_calls_keep_one_connection",
    "spacy_without_ner_same_tokens_lemmas_vectors",
]


@pytest.fixture(scope="module")
def results() -> dict[str, str]:
    done = subprocess.run(
        [require_bot_python(), "-m", "benchmarks.check_speedups", "--spacy"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "bot")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"benchmarks/check_speedups.py failed:\n{done.stderr[-3000:]}")


def test_every_check_ran(results):
    assert sorted(results) == sorted(CHECKS)


@pytest.mark.parametrize("name", CHECKS)
def test_speedups_keep_rasas_behaviour(results, name):
    assert results.get(name) == "ok", results.get(name)


def test_the_patches_go_in_when_the_channel_is_built_not_on_import():
    script = (
        "from polkuopas_rasa import channel, speedups, trackerstore\n"
        "print(speedups.installed())\n"
        "channel.TokenRestInput.from_credentials({'db': '/nonexistent.db'})\n"
        "print(speedups.installed())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLKUOPAS_")}
    done = subprocess.run(
        [require_bot_python(), "-c", script],
        cwd=PROJECT_ROOT,
        env={**env, "PYTHONPATH": bot_pythonpath()},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["False", "True"]
