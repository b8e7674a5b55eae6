"""The web app's settings: the shared `Settings` with the web app's checks.

Read from the environment like every setting (prefix POLKUOPAS_).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import field_validator

from polkuopas.settings import Settings

_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


class WebSettings(Settings):
    """The fields live in `Settings` (one list, documented in the README); this
    adds the web app's checks and helpers on top."""

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
