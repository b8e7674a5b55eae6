from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from polkuopas.catalog import load_catalog
from polkuopas.settings import PROJECT_ROOT, get_settings
from polkuopas.store import open_store

REAL_PATHS = PROJECT_ROOT / "paths"

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
    "sources": ["testi"],
    "assumptions": [],
    "start": "alku",
    "follow_up": {
        "earliest_months": 1,
        "latest_months": 3,
        "role": "omatyontekija",
        "pilot": True,
        "description": "Kysymme kuulumiset.",
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


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(tmp_path / "store.db")
    yield store
    store.db.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private database for the CLI, through POLKUOPAS_DB as users set it."""
    db = tmp_path / "cli.db"
    monkeypatch.setenv("POLKUOPAS_DB", str(db))
    monkeypatch.setenv("POLKUOPAS_ACTOR", "testaaja")
    monkeypatch.delenv("POLKUOPAS_PATHS_DIR", raising=False)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()
