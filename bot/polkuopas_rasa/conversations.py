"""The client's control over their conversation on the Rasa side: delete it
for good from Rasa's conversation store (the widget's "Poista keskustelu").

The conversation is deleted under its lock, so a turn that is being answered
finishes first and writes nothing after the deletion.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore

from polkuopas_rasa.trackerstore import delete_conversation_events

log = logging.getLogger("polkuopas.conversations")


class CannotDelete(Exception):
    """This tracker store cannot delete conversations."""


def _innermost(store: Any) -> Any:
    # Rasa wraps the configured store in a FailSafeTrackerStore.
    while hasattr(store, "_tracker_store"):
        store = store._tracker_store
    return store


async def delete_conversation(agent: Any, conversation_id: str) -> int:
    """Delete every event of `conversation_id`; returns how many."""
    store = _innermost(agent.tracker_store)
    async with agent.lock_store.lock(conversation_id):
        deleter = getattr(store, "delete", None)
        if callable(deleter):
            return await deleter(conversation_id)
        if isinstance(store, SQLTrackerStore):
            return delete_conversation_events(store, conversation_id)
        if isinstance(store, InMemoryTrackerStore):
            return 1 if store.store.pop(conversation_id, None) is not None else 0
    raise CannotDelete(type(store).__name__)
