"""The same actions for rasa_sdk's own action server (Sanic), for comparison.

    python -m rasa_sdk --actions polkuopas.sdk_actions --port 5055

rasa_sdk registers every imported subclass of `Action` and instantiates it with
no arguments. Our actions take their `Services` in the constructor (the FastAPI
server builds them once, `polkuopas.action_server`), so this module subclasses
each of them with a no-argument constructor; the services (store, paths,
texts) are opened lazily on the first action call from `polkuopas.settings`
(POLKUOPAS_DB, POLKUOPAS_PATHS_DIR), never at import time, and shared by all
actions of the process.

rasa_sdk's scan would also find our own classes, which need the argument;
importing this module marks them abstract (`inspect.isabstract`), so rasa_sdk
skips them and registers only the adapters. That makes them impossible to
instantiate in the importing process: import this module only in rasa_sdk's
server, never next to `polkuopas.action_server`. Used by `make bench`
(tests/bench/); the product runs `python -m polkuopas.action_server`.
"""

from __future__ import annotations

import threading

from polkuopas import bot_actions as actions
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


# One adapter per action, as module attributes: Sanic pickles the registered
# actions into its worker process, which finds the classes by name.


class ActionGreet(_LazyServices, actions.ActionGreet):
    pass


class ActionResponsible(_LazyServices, actions.ActionResponsible):
    pass


class ActionContact(_LazyServices, actions.ActionContact):
    pass


class ActionCurrentStep(_LazyServices, actions.ActionCurrentStep):
    pass


class ActionNextStep(_LazyServices, actions.ActionNextStep):
    pass


class ActionPathOverview(_LazyServices, actions.ActionPathOverview):
    pass


class ActionRoleDefinition(_LazyServices, actions.ActionRoleDefinition):
    pass


class ActionFollowUp(_LazyServices, actions.ActionFollowUp):
    pass


class ActionRequestHuman(_LazyServices, actions.ActionRequestHuman):
    pass


class ActionConfirmContact(_LazyServices, actions.ActionConfirmContact):
    pass


class ActionFallback(_LazyServices, actions.ActionFallback):
    pass


class ActionServiceQuestion(_LazyServices, actions.ActionServiceQuestion):
    pass


SDK_ACTIONS: tuple[type[PolkuopasAction], ...] = (
    ActionGreet,
    ActionResponsible,
    ActionContact,
    ActionCurrentStep,
    ActionNextStep,
    ActionPathOverview,
    ActionRoleDefinition,
    ActionFollowUp,
    ActionRequestHuman,
    ActionConfirmContact,
    ActionFallback,
    ActionServiceQuestion,
)
if [a.NAME for a in SDK_ACTIONS] != [a.NAME for a in ACTIONS]:
    raise ImportError("polkuopas.sdk_actions: an action has no adapter here")

# rasa_sdk's scan would call `PolkuopasAction()` and `ActionGreet()` (which need
# their services) too: a non-empty `__abstractmethods__` makes
# `inspect.isabstract` true for exactly these classes, not for the adapters.
for _original in (PolkuopasAction, *ACTIONS):
    _original.__abstractmethods__ = frozenset({"services"})
