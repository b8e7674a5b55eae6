"""The README agrees with the code: settings, CLI commands and make targets."""

from __future__ import annotations

import argparse
import re

from polkuopas.cli import build_parser
from polkuopas.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")


def cli_commands() -> set[str]:
    """Every `polkuopas GROUP [COMMAND]` the parser knows."""

    def subcommands(parser: argparse.ArgumentParser) -> dict:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices
        return {}

    found = set()
    for group, sub in subcommands(build_parser()).items():
        children = subcommands(sub)
        found.add(f"polkuopas {group}")
        found.update(f"polkuopas {group} {name}" for name in children)
    return found


def test_every_setting_is_documented():
    documented = set(re.findall(r"`(POLKUOPAS_[A-Z_]+)`", README))
    variables = {f"POLKUOPAS_{name.upper()}" for name in Settings.model_fields}
    assert variables - documented == set()
    assert documented - variables == set()


def test_every_cli_command_is_documented():
    missing = {c for c in cli_commands() if f"`{c}" not in README}
    assert missing == set()


def test_documented_make_targets_exist():
    targets = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.MULTILINE))
    documented = set(re.findall(r"make ([a-z][a-z-]*)", README))
    assert documented - targets == set()
    assert {"run", "test", "help"} <= documented
