"""The Polkuopas web app: the demo page with the chat widget, the professionals'
role page, the path pictures for orientation sessions and the embedding guide.

Separate from the action server; `python -m polkuopas.web` serves it on
POLKUOPAS_WEB_PORT (8000). `create_app` builds it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `python -m polkuopas.web.bundle` loads no app.
    if name == "create_app":
        from polkuopas.web.app import create_app

        return create_app
    raise AttributeError(name)
