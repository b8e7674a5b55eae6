"""A Redis lock store whose every change to a lock is atomic (runs inside
Rasa, Python 3.10).

Rasa 3.6's `RedisLockStore` changes a conversation's ticket lock by reading
it (GET), changing it in Python and writing it back (SET). Two Rasa servers
that take a message of the same conversation in the same instant can both
read the lock before either writes it: both get the same ticket, both think
it is their turn, both run the turn on the same tracker, and the events of one
turn are lost when the other saves (tests/scaleout/test_atomic_lock.py shows
it happen, and not with this store).

`AtomicRedisLockStore` keeps Rasa's lock format and ticket algorithm, and
makes each read-change-write an optimistic Redis transaction: WATCH the key,
read, change, MULTI/SET/EXEC, and start again if another server changed the
key in between. Issuing a ticket, finishing one, dropping expired ones and
deleting an unused lock all go through it. The key also expires with its last
ticket, so a server that dies holding a lock cannot leave it behind.

deploy/endpoints.yml:

    lock_store:
      type: polkuopas_rasa.lockstore.AtomicRedisLockStore
      url: ${REDIS_HOST}
      port: ${REDIS_PORT}
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, RedisLockStore

log = logging.getLogger("polkuopas.lockstore")

# A change that keeps losing the race this many times in a row is an error.
MAX_ATTEMPTS = 50


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store with compare-and-set changes (WATCH/MULTI)."""

    def __init__(
        self,
        *args: Any,
        endpoint_config: Any = None,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Rasa builds a lock store named by its module path with the endpoint
        # config alone; the host is its `url`, as for Rasa's own Redis store.
        if endpoint_config is not None:
            kwargs = {**endpoint_config.kwargs, **kwargs}
            url = endpoint_config.url
        if url is not None and "host" not in kwargs:
            kwargs["host"] = url
        super().__init__(*args, **kwargs)

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock | None], TicketLock | None],
    ) -> TicketLock | None:
        """Apply `change` to the stored lock atomically; it returns the lock to
        store, or None to delete the key. Returns what was stored."""
        import redis

        key = self.key_prefix + conversation_id
        for _ in range(MAX_ATTEMPTS):
            with self.red.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    current = TicketLock.from_dict(_loads(raw)) if raw else None
                    new = change(current)
                    pipe.multi()
                    if new is None or not new.tickets:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps(), px=_lifetime_ms(new))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue
        raise LockError(f"lock for conversation {conversation_id!r} kept changing")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = 60) -> int:
        issued: list[int] = []

        def add_ticket(lock: TicketLock | None) -> TicketLock:
            lock = lock or self.create_lock(conversation_id)
            issued[:] = [lock.issue_ticket(lock_lifetime)]
            return lock

        self._change(conversation_id, add_ticket)
        return issued[0]

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def remove_ticket(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock

        self._change(conversation_id, remove_ticket)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Removing the last ticket deletes the key in the same transaction, so
        # a ticket issued meanwhile is never deleted with it.
        self.finish_serving(conversation_id, ticket_number)

    def save_lock(self, lock: TicketLock) -> None:
        self.red.set(
            self.key_prefix + lock.conversation_id,
            lock.dumps(),
            px=_lifetime_ms(lock),
        )


def _loads(raw: bytes | str) -> dict[str, Any]:
    return json.loads(raw)


def _lifetime_ms(lock: TicketLock) -> int:
    """Until the last ticket expires (at least a second)."""
    last = max((t.expires for t in lock.tickets), default=time.time())
    return max(1000, int((last - time.time()) * 1000) + 1000)
