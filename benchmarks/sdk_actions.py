"""The same actions on rasa_sdk's own action server (Sanic), for comparison.

    python -m benchmarks.sdk_actions --port 5055 [rasa_sdk's other options]

rasa_sdk instantiates every action it registers with no arguments. Our actions
take their `Services` in the constructor (the FastAPI server builds them once,
`polkuopas.action_server`), so this module subclasses each of them with a
no-argument constructor; the services (store, paths, texts) are opened lazily
on the first action call from `polkuopas.settings` (POLKUOPAS_DB,
POLKUOPAS_PATHS_DIR), never at import time, and shared by all actions of the
process.

`main` is `python -m rasa_sdk` (rasa_sdk.__main__: same options, logging,
executor and Sanic server) but for one step: it registers exactly these
adapters instead of scanning for every imported subclass of `Action`. The scan
would find our own classes too and fail on their constructor argument; marking
them abstract to hide them would change them for every importer. Used by
`make bench` (benchmarks/); the product runs `python -m polkuopas.action_server`.
"""

from __future__ import annotations

import logging
import threading

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_argument_parser, run
from rasa_sdk.executor import ActionExecutor

from polkuopas.bot_actions import ACTIONS, PolkuopasAction, Services
from polkuopas.catalog import load_catalog
from polkuopas.messages import Messages
from polkuopas.settings import get_settings
from polkuopas.store import open_store

_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    """The store, paths and texts, opened on first use (once per process)."""
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                settings = get_settings()
                _services = Services(
                    open_store(settings.db),
                    load_catalog(settings.paths_dir),
                    Messages.load(),
                )
    return _services


class _LazyServices:
    """Mixin: no constructor argument; `services` opened on first use."""

    def __init__(self) -> None:  # rasa_sdk calls `cls()`
        pass

    @property
    def services(self) -> Services:
        return services()


def _adapter(action: type[PolkuopasAction]) -> type[PolkuopasAction]:
    # Named as the action and set as a module attribute: Sanic pickles the
    # registered actions into its worker process, which finds them by name.
    adapter = type(action.__name__, (_LazyServices, action), {"__module__": __name__})
    globals()[action.__name__] = adapter
    return adapter


# One adapter for every action of the product, so none can be missing.
SDK_ACTIONS: tuple[type[PolkuopasAction], ...] = tuple(_adapter(a) for a in ACTIONS)


def main() -> None:
    """rasa_sdk.__main__.main_from_args with the adapters registered by hand."""
    args = create_argument_parser().parse_args()
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    for action in SDK_ACTIONS:
        executor.register_action(action)
    run(
        executor,
        args.port,
        args.cors,
        args.ssl_certificate,
        args.ssl_keyfile,
        args.ssl_password,
        args.auto_reload,
        args.endpoints,
    )


if __name__ == "__main__":
    main()
