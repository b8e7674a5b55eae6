"""Every Finnish text a client reads (`messages_fi.yml`), by name.

One place for every sentence the actions compose, the pieces inside them
(contact lines, path marks), the "did you mean…?" labels and the web app's
Python-side texts, so a Swedish or English file can follow. A text names its
values in {braces}; `render` and `text` fill them in and fail loudly on a
missing one (a test renders every message).
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MESSAGES_FILE = Path(__file__).with_name("messages_fi.yml")


@dataclass(frozen=True)
class Message:
    name: str
    text: str
    buttons: tuple[dict[str, str], ...] = ()

    @property
    def fields(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.text) if f}


class Messages:
    def __init__(self, messages: dict[str, Message]):
        self._messages = messages

    @classmethod
    def load(cls, path: Path = MESSAGES_FILE) -> Messages:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        messages = {}
        for name, entry in data.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
                raise ValueError(f"{path}: {name}: expected a mapping with 'text'")
            buttons = tuple(
                {"title": b["title"], "payload": b["payload"]}
                for b in entry.get("buttons") or []
            )
            messages[name] = Message(name, entry["text"], buttons)
        return cls(messages)

    def __contains__(self, name: str) -> bool:
        return name in self._messages

    def names(self) -> list[str]:
        return list(self._messages)

    def get(self, name: str) -> Message:
        return self._messages[name]

    def text(self, name: str, /, **values: Any) -> str:
        """Only the filled-in text: a piece of another message, a label, a page."""
        message = self._messages[name]
        missing = message.fields - values.keys()
        if missing:
            raise KeyError(f"message {name!r} needs {sorted(missing)}")
        return message.text.format(**values)

    def render(
        self,
        name: str,
        /,
        buttons: list[dict[str, str]] | None = None,
        **values: Any,
    ) -> dict[str, Any]:
        """The keyword arguments for `dispatcher.utter_message`."""
        message = self._messages[name]
        missing = message.fields - values.keys()
        if missing:
            raise KeyError(f"message {name!r} needs {sorted(missing)}")
        return {
            **values,
            "text": message.text.format(**values),
            "buttons": [*message.buttons, *(buttons or [])],
            "polkuopas_message": name,
        }


@functools.cache
def catalogue() -> Messages:
    """The catalogue of `MESSAGES_FILE`, loaded once, for code that is handed no
    `Messages` (the answer helpers and the web app)."""
    return Messages.load()
