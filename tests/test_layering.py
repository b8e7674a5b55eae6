"""The product's code never imports the tests or the benchmarks: the action
server and web app (actions/), Rasa's side (bot/), and deploy/ (`make
run-scaled` and the launcher deploy/servers.py, which the tests and the
benchmarks import, not the other way round)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from polkuopas.settings import PROJECT_ROOT

PRODUCT = ("actions", "bot", "deploy")
FORBIDDEN = ("tests", "benchmarks", "scaleout", "conftest")


def product_files() -> list[Path]:
    return sorted(
        path
        for top in PRODUCT
        for path in (PROJECT_ROOT / top).rglob("*.py")
        if not {"build", ".rasa", "models"} & set(path.parts)
    )


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def test_the_product_files_are_found():
    names = {p.relative_to(PROJECT_ROOT).as_posix() for p in product_files()}
    assert {"deploy/run_scaled.py", "deploy/servers.py"} <= names
    assert "actions/polkuopas/action_server.py" in names


@pytest.mark.parametrize(
    "path", product_files(), ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix()
)
def test_product_code_imports_no_tests_or_benchmarks(path):
    bad = [m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN]
    assert bad == []


def test_the_check_finds_such_an_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from tests.scaleout.servers import Redis\nimport benchmarks\n")
    assert imported_modules(sample) == ["tests.scaleout.servers", "benchmarks"]
