"""The web app's settings: the shared `Settings` plus the fields only it reads.

Read from the environment like every setting (prefix POLKUOPAS_).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from polkuopas.settings import PROJECT_ROOT, Settings

_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


class WebSettings(Settings):
    web_host: str = Field(
        default="127.0.0.1",
        description="Address the web app binds to (loopback by default).",
    )
    web_port: int = Field(default=8000, description="Port of the web app.")
    rasa_url: str = Field(
        default="http://127.0.0.1:5005",
        description="The Rasa server as the browser reaches it: the widget's "
        "server and the pages' Content-Security-Policy connect-src.",
    )
    cors_origins: str = Field(
        default="http://localhost:8000 http://127.0.0.1:8000",
        description="Origins (space- or comma-separated) of the pages that may "
        "embed the widget: allowed by the web app's API and by Rasa (--cors).",
    )
    demo: bool = Field(
        default=False,
        description="Let the demo page issue short-lived tokens for the demo "
        "clients (make run sets it to true).",
    )
    widget_dir: Path = Field(
        default=PROJECT_ROOT / "web-widget",
        description="Folder of the chat widget's sources.",
    )

    @field_validator("rasa_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:5005")
        return value.rstrip("/")

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in split_origins(value):
            if origin != "*" and not _ORIGIN_RE.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin (scheme://host[:port], no path)"
                )
        return value

    def origins(self) -> list[str]:
        return split_origins(self.cors_origins)

    def rasa_origin(self) -> str:
        parts = urlsplit(self.rasa_url)
        return f"{parts.scheme}://{parts.netloc}"


def split_origins(value: str) -> list[str]:
    return [o.rstrip("/") for o in re.split(r"[\s,]+", value.strip()) if o]


@lru_cache(maxsize=1)
def get_web_settings() -> WebSettings:
    return WebSettings()
