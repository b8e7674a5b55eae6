"""`python -m polkuopas.web`: the web app on POLKUOPAS_WEB_HOST:POLKUOPAS_WEB_PORT."""

from __future__ import annotations

import uvicorn

from polkuopas import logs
from polkuopas.web.app import create_app
from polkuopas.web.config import get_web_settings


def main() -> None:
    settings = get_web_settings()
    logs.configure(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.web_host,
        port=settings.web_port,
        log_level="warning",
        # Access logs are off: URLs carry no tokens (the link's #fragment never
        # reaches the server), but nothing needs them either.
        access_log=False,
    )


if __name__ == "__main__":
    main()
