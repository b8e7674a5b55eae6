from __future__ import annotations

import copy
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from scaleout.servers import start_or_skip

from deploy.servers import BOT_PYTHON, Postgres
from polkuopas.catalog import load_catalog
from polkuopas.settings import PROJECT_ROOT, get_settings
from polkuopas.store import open_store

# The client store's backends. A test module that sets
# `STORE_BACKENDS = BACKENDS` runs its tests that use `store`, `store_url` or
# `env` on both; a test marked `sqlite_only` (SQLite's own file, pragmas,
# backup) on SQLite alone.
BACKENDS = ("sqlite", "postgresql")

REAL_PATHS = PROJECT_ROOT / "paths"


def require_bot_python() -> str:
    """The path of Rasa's Python; the test fails, saying what to run, when
    the bot environment is not installed."""
    if not BOT_PYTHON.exists():
        pytest.fail("the bot environment .venv-rasa is missing: run `make install`")
    return str(BOT_PYTHON)


def run_in_bot_environment(script: str, timeout: float = 300) -> Any:
    """Run `script` with Rasa's Python (bot/ and the project root on
    PYTHONPATH) and return the JSON it prints on its last line."""
    done = subprocess.run(
        [require_bot_python(), "-c", script],
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": f"{PROJECT_ROOT / 'bot'}:{PROJECT_ROOT}"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def bot_pythonpath() -> str:
    """PYTHONPATH for a process in Rasa's environment: bot/ (polkuopas_rasa),
    then this run's own PYTHONPATH. `make install` installs the contract
    (actions/contract) into .venv-rasa; without that, run the tests with
    PYTHONPATH=$PWD/actions/contract."""
    inherited = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (str(PROJECT_ROOT / "bot"), inherited) if p)


MINI_ROLES: dict[str, Any] = {
    "roles": [
        {
            "id": "ohjaaja",
            "title": "Ohjaaja",
            "title_en": "Instructor",
            "definition": "Ohjaa työtä.",
            "does": ["Neuvoo tehtävissä."],
            "does_not": ["Ei tee päätöksiä."],
            "words": ["ohjaaja", "ohjaajani"],
        },
        {
            "id": "omatyontekija",
            "title": "Omatyöntekijä",
            "title_en": "Designated social worker",
            "definition": "Sinun nimetty työntekijäsi.",
            "does": ["Tekee suunnitelman."],
            "does_not": ["Ei ohjaa työtehtäviä."],
            "confused_with": [{"role": "ohjaaja", "difference": "Eri tehtävä."}],
            "words": ["omatyöntekijä"],
        },
    ],
    "ambiguous": [
        {"word": "sossu", "roles": ["ohjaaja", "omatyontekija"], "forms": ["sossu"]}
    ],
}

MINI_PATH: dict[str, Any] = {
    "id": "mini",
    "name": "Pieni polku",
    "short_name": "Minin polku",
    "example_client": "Mini",
    "organisation": "Testialue",
    "region": "Testi",
    "summary": "Polku testejä varten.",
    "sources": [
        {"id": "testi", "title": "Testilähde"},
        {
            "id": "laki-1-2000",
            "title": "Laki testeistä 1/2000",
            "url": "https://example.org/laki",
            "checked": date(2026, 12, 1),
        },
    ],
    "assumptions": [{"id": "a-oletus", "text": "Oletamme, että testi toimii."}],
    "start": "alku",
    "follow_up": {
        "earliest_months": 1,
        "latest_months": 3,
        "role": "omatyontekija",
        "pilot": True,
        "description": "Omatyöntekijä voi kysyä kuulumiset.",
        "sources": ["a-oletus"],
    },
    "steps": [
        {
            "id": "alku",
            "title": "Alku",
            "description": "Aloitamme.",
            "client_does": "Tulet tapaamiseen.",
            "responsible": ["omatyontekija"],
            "duration": "viikko",
            "next": [
                {"step": "tyo", "when": "Jos olet valmis."},
                {"step": "loppu", "when": "Jos et jatka."},
            ],
        },
        {
            "id": "tyo",
            "title": "Työ",
            "description": "Teet työtä.",
            "client_does": "Käyt pajalla.",
            "responsible": ["ohjaaja"],
            "participants": ["omatyontekija"],
            "duration": "kuukausi",
            "next": [{"step": "loppu"}],
            "pilot": True,
            "pilot_note": "Kokeilu.",
        },
        {
            "id": "loppu",
            "title": "Loppu",
            "description": "Palvelu päättyy.",
            "client_does": "Sovit jatkosta.",
            "responsible": ["omatyontekija"],
            "duration": "viikko",
            "sources": ["testi"],
        },
    ],
    "questions": [
        {
            "id": "raha",
            "ask": [
                "Saanko tästä rahaa?",
                "paljonko maksetaan",
                "mitä minulle maksetaan",
                "saako pajalta palkkaa",
            ],
            "answer": "Saat 9 euroa päivässä.",
            "steps": ["tyo"],
            "role": "ohjaaja",
            "sources": ["laki-1-2000", "a-oletus"],
        },
        {
            "id": "kesto",
            "ask": [
                "Kauanko tämä kestää?",
                "miten pitkä jakso on",
                "montako kuukautta olen pajalla",
                "milloin tämä loppuu",
            ],
            "answer": "Jakso kestää kuukauden.",
            "sources": ["a-oletus"],
        },
    ],
}


def write_catalog(
    directory: Path,
    roles: dict[str, Any] | None = None,
    paths: list[dict[str, Any]] | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "roles.yml").write_text(
        yaml.safe_dump(roles or MINI_ROLES, allow_unicode=True), encoding="utf-8"
    )
    for path in paths if paths is not None else [MINI_PATH]:
        (directory / f"{path['id']}.yml").write_text(
            yaml.safe_dump(path, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    return directory


@pytest.fixture
def mini_path() -> dict[str, Any]:
    return copy.deepcopy(MINI_PATH)


@pytest.fixture
def mini_roles() -> dict[str, Any]:
    return copy.deepcopy(MINI_ROLES)


@pytest.fixture
def mini_dir(tmp_path: Path) -> Path:
    return write_catalog(tmp_path / "paths")


@pytest.fixture(scope="session")
def catalog():
    return load_catalog(REAL_PATHS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    backends = getattr(metafunc.module, "STORE_BACKENDS", None)
    if not backends or "store_url" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = ("sqlite",)
    metafunc.parametrize("store_url", backends, indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL server from Debian's packages (tests/scaleout):
    skipped without them, except in CI (CI=true), where the tests fail."""
    server = start_or_skip(Postgres.start, "PostgreSQL")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where the test's client store lives: a new SQLite file, or (when the
    module runs on both backends) a new database in the throwaway PostgreSQL,
    dropped afterwards."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield tmp_path / "store.db"
        return
    server: Postgres = request.getfixturevalue("postgres")
    name = f"store_{secrets.token_hex(6)}"
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def store(store_url: Path | str):
    store = open_store(store_url)
    yield store
    store.db.close()


@pytest.fixture
def env(
    store_url: Path | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path | str:
    """A private database for the CLI, through POLKUOPAS_DB as users set it."""
    db = tmp_path / "cli.db" if isinstance(store_url, Path) else store_url
    monkeypatch.setenv("POLKUOPAS_DB", str(db))
    monkeypatch.setenv("POLKUOPAS_ACTOR", "testaaja")
    monkeypatch.delenv("POLKUOPAS_PATHS_DIR", raising=False)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()
