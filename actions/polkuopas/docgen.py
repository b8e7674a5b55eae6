"""The generated parts of the docs: the CLI reference and the settings table.

`docs/cli.md` and `docs/configuration.md` are written by hand around blocks
that this module fills in from the code itself, the CLI's argparse parser
(`polkuopas.cli.build_parser`) and the `Settings` model, so the reference
cannot drift from the code. A block looks like this:

    <!-- BEGIN GENERATED: cli -->
    ...
    <!-- END GENERATED: cli -->

    python -m polkuopas.docgen            # rewrite the blocks (make docs)
    python -m polkuopas.docgen --check    # exit 1 when a block is stale (a test)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic.fields import FieldInfo

from polkuopas.settings import PROJECT_ROOT, Settings

DOCS = PROJECT_ROOT / "docs"
BLOCK_RE = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)"
    r"(<!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)


# --- the CLI ------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help_texts(parser: argparse.ArgumentParser) -> dict[str, str]:
    """The one-line help each subcommand was given, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {a.dest: a.help or "" for a in action._choices_actions}
    return {}


def _arguments(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        yield action


def _synopsis(name: str, parser: argparse.ArgumentParser) -> str:
    exclusive = {
        id(a): group
        for group in parser._mutually_exclusive_groups
        for a in group._group_actions
    }
    parts, done = [name], set()
    for action in _arguments(parser):
        if id(action) in done:
            continue
        group = exclusive.get(id(action))
        members = group._group_actions if group else [action]
        done.update(id(a) for a in members)
        words = [_spell(a) for a in members]
        text = " | ".join(words)
        required = action.required or (group is not None and group.required)
        parts.append(text if required and not group else f"[{text}]")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            parts.append("COMMAND" if action.required else "[COMMAND]")
    return " ".join(parts)


def _spell(action: argparse.Action) -> str:
    if not action.option_strings:
        return action.metavar or action.dest.upper()
    option = action.option_strings[-1]
    if action.nargs == 0:
        return option
    return f"{option} {action.metavar or action.dest.upper()}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _command_section(name: str, parser: argparse.ArgumentParser, summary: str) -> str:
    lines = [f"### `{name}`", ""]
    description = parser.description or summary
    if description:
        lines += [description[:1].upper() + description[1:].rstrip(".") + ".", ""]
    lines += ["```text", _synopsis(name, parser), "```", ""]
    arguments = list(_arguments(parser))
    if arguments:
        lines += ["| argument | meaning |", "| --- | --- |"]
        for action in arguments:
            meaning = action.help or ""
            if action.required and action.option_strings:
                meaning = f"{meaning} (required)".strip()
            lines.append(f"| `{_spell(action)}` | {_escape(meaning)} |")
        lines.append("")
    return "\n".join(lines)


def cli_reference() -> str:
    """Every command of `polkuopas`, in the parser's order."""
    from polkuopas.cli import build_parser

    root = build_parser()
    sections = [_command_section("polkuopas", root, root.description or "")]
    helps = _help_texts(root)
    for group, parser in _subcommands(root).items():
        name = f"polkuopas {group}"
        children = _subcommands(parser)
        if parser._defaults.get("handler") or not children:
            sections.append(_command_section(name, parser, helps.get(group, "")))
        child_helps = _help_texts(parser)
        for child, sub in children.items():
            sections.append(
                _command_section(f"{name} {child}", sub, child_helps.get(child, ""))
            )
    return "\n".join(sections)


def cli_commands() -> set[str]:
    """Every command that runs: `polkuopas GROUP`, when the group runs alone,
    and `polkuopas GROUP COMMAND`."""
    from polkuopas.cli import build_parser

    found = set()
    for group, sub in _subcommands(build_parser()).items():
        children = _subcommands(sub)
        if sub._defaults.get("handler") or not children:
            found.add(f"polkuopas {group}")
        found.update(f"polkuopas {group} {name}" for name in children)
    return found


# --- the settings -------------------------------------------------------------


def _default(field: FieldInfo) -> str:
    value = field.default
    if isinstance(value, Path):
        try:
            return f"`{value.relative_to(PROJECT_ROOT)}`"
        except ValueError:
            return f"`{value}`"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def _limits(field: FieldInfo) -> str:
    words = []
    for item in field.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            bound = getattr(item, attr, None)
            if bound is not None:
                words.append(f"{sign} {bound}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            words.append("one of " + ", ".join(_choices(pattern)))
    return "; ".join(words)


def _choices(pattern: str) -> list[str]:
    inner = re.search(r"\((?P<alts>[a-z|]+)\)", pattern)
    alts = inner.group("alts").split("|") if inner else [pattern]
    return [f"`{a}`" for a in alts]


def _kind(field: FieldInfo) -> str:
    names = {int: "integer", float: "number", bool: "true/false", str: "text"}
    annotation = field.annotation
    if annotation in names:
        return names[annotation]
    if annotation is Path:
        return "path"
    return "path or URL"


def settings_reference() -> str:
    """One row per setting of `Settings`, in the model's order."""
    lines = [
        "| variable | default | value | meaning |",
        "| --- | --- | --- | --- |",
    ]
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        value = ", ".join(w for w in (_kind(field), _limits(field)) if w)
        lines.append(
            f"| `{prefix}{name.upper()}` | {_default(field)} | {_escape(value)} "
            f"| {_escape(field.description or '')} |"
        )
    return "\n".join(lines) + "\n"


# --- the files ----------------------------------------------------------------

GENERATORS: dict[str, Callable[[], str]] = {
    "cli": cli_reference,
    "settings": settings_reference,
}
FILES = (DOCS / "cli.md", DOCS / "configuration.md")


def regenerate(text: str) -> str:
    """`text` with every generated block filled in afresh."""

    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise ValueError(f"unknown generated block {name!r}")
        return f"{match.group(1)}{GENERATORS[name]()}{match.group(4)}"

    return BLOCK_RE.sub(fill, text)


def stale_files(files: tuple[Path, ...] = FILES) -> list[Path]:
    return [
        f for f in files if regenerate(f.read_text("utf-8")) != f.read_text("utf-8")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m polkuopas.docgen",
        description="Fill in the generated blocks of docs/cli.md and "
        "docs/configuration.md from the code.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when a block is stale",
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(
                f"{path.relative_to(PROJECT_ROOT)} is stale: run `make docs`",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for path in FILES:
        text = path.read_text("utf-8")
        new = regenerate(text)
        if new != text:
            path.write_text(new, "utf-8")
            print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
