"""Both environments are installed as the README says: `make install` made them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_bot_python
from polkuopas.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def bot_python() -> str:
    return require_bot_python()


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_app_environment_is_a_supported_python():
    assert sys.version_info >= (3, 11)


def test_app_environment_dependencies_are_consistent():
    assert "No broken requirements found" in run(sys.executable, "-m", "pip", "check")


def test_bot_environment_dependencies_are_consistent(bot_python):
    assert "No broken requirements found" in run(bot_python, "-m", "pip", "check")


def test_both_environments_read_the_contract_from_this_repository(bot_python):
    # One copy of what the two sides agree on (actions/contract), which `make
    # install` installs into both environments in editable mode.
    contract = PROJECT_ROOT / "actions" / "contract"
    script = "import polkuopas_contract as c; print(c.__file__)"
    for python in (sys.executable, bot_python):
        found = Path(run(python, "-c", script).strip()).resolve()
        assert found.is_relative_to(contract), (python, found)


def test_bot_environment_has_rasa_and_the_finnish_pipeline(bot_python):
    script = (
        "import sys, rasa, spacy\n"
        "nlp = spacy.load('spacy_fi_experimental_web_md')\n"
        "print('%d.%d' % sys.version_info[:2], rasa.__version__)\n"
        "print(' '.join(t.lemma_ for t in nlp('kysyn sosiaaliohjaajalta')))\n"
    )
    assert run(bot_python, "-c", script).splitlines() == [
        "3.10 3.6.21",
        "kysyä sosiaaliohjaaja",
    ]


def test_rasa_reads_the_shipped_endpoints_with_the_environment(bot_python):
    # Read by Rasa's own reader, as `rasa run` does: the action URL and the
    # secret header come from the environment (a quoted "${VAR}" would stay as
    # it is, and every action call would go to a URL named "${...}").
    script = (
        "import json, sys\n"
        "from rasa.core.utils import AvailableEndpoints\n"
        "e = AvailableEndpoints.read_endpoints('bot/endpoints.yml')\n"
        "print(json.dumps([e.action.url, e.action.headers, e.tracker_store.type]))\n"
    )
    result = subprocess.run(
        [bot_python, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": "bot",
            "RASA_TELEMETRY_ENABLED": "false",
            "POLKUOPAS_ACTION_URL": "http://127.0.0.1:5999/webhook",
            "POLKUOPAS_ACTION_SECRET": "s3cret",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    url, headers, tracker = json.loads(result.stdout.splitlines()[-1])
    assert url == "http://127.0.0.1:5999/webhook"
    assert headers == {"X-Polkuopas-Secret": "s3cret"}
    assert tracker == "polkuopas_rasa.trackerstore.CachedSQLTrackerStore"
