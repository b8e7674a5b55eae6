"""Rasa's SQL tracker store, kept in memory for recent conversations (runs
inside Rasa, Python 3.10).

What it buys is measured by `make bench` (reports/bench.md); it changes nothing
that is stored or answered (tests/test_speedups.py with tests/check_speedups.py,
and the end-to-end tests). On a Rasa version other than the one it was written
for it works as Rasa's own SQLTrackerStore.

`CachedSQLTrackerStore` is Rasa's `SQLTrackerStore` (the same table and
rows: every event is still written at every turn) with these changes:

* the trackers of the last `cache_size` conversations (default 1000) stay
  in memory, so a turn does not re-read and replay the conversation from
  SQL. A cached tracker is used only if it holds exactly the events saved
  last (a turn that failed half-way is re-read), for at most
  `cache_seconds` (default 3600) after its last turn (less than a day, so
  never after `polkuopas conversations purge` deleted it), never in the
  turn after a session started (read from SQL, it holds only the new
  session), and never with an event broker or an anonymisation plugin
  (both diff a saved tracker against `retrieve`);
* the events to write are known from the saved count, without a COUNT
  query, and written in one multi-row INSERT instead of one ORM object
  each;
* on SQLite: one kept connection instead of one per query (SQLAlchemy
  1.4's NullPool for files), in WAL mode with `synchronous` NORMAL (keys
  `journal_mode`, `synchronous`, `keep_connection`; Rasa's: DELETE/FULL);
* `max_events` (0: off): a tracker longer than twice that is cut at a turn
  boundary to about the last `max_events` events, the state at the cut
  carried over as a session start with the slots set, so prediction,
  Rasa's copies of the tracker and the request to the action server stay
  the same size however long the conversation gets. Right for an
  assistant whose rules and memoization look at the last turns (ours:
  `max_history` 3; action_fallback looks at the previous user message);
  wrong for `conversation_start` rules or stories needing all the history.

The cache assumes one Rasa process per tracker database, with Rasa's
in-memory lock store serialising the turns of a conversation. Several Rasa
processes on one database (deploy/endpoints.yml) need `shared: true`, with a
lock store that serialises a conversation's turns across them (Redis): a
cached tracker is then used only while the conversation's rows in SQL are
what this process last saw (their count and highest id, one indexed query
per retrieve and per save), so a turn another server took, a deletion or a
purge sends the next turn to SQL. `cache_size: 0` leaves the cache out (the
window and the INSERT still apply).

bot/endpoints.yml:

    tracker_store:
      type: polkuopas_rasa.trackerstore.CachedSQLTrackerStore
      dialect: sqlite
      db: var/rasa-tracker.db
      max_events: 20
"""

from __future__ import annotations

import inspect
import itertools
import json
import logging
import time
from collections import OrderedDict
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import (
    ACTION_LISTEN_NAME,
    ACTION_SESSION_START_NAME,
)
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    SessionStarted,
    SlotSet,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.version import __version__ as RASA_VERSION

from polkuopas_rasa.speedups import SUPPORTED_RASA, supported

log = logging.getLogger("polkuopas.trackerstore")

# On a tracker object: how many of its events are in SQL.
_SAVED = "_polkuopas_saved_events"
# On a tracker object (`shared`): the conversation's rows in SQL as this
# process last saw them, (count, highest id).
_STAMP = "_polkuopas_rows_stamp"
# What SQLTrackerStore takes (Rasa passes the endpoint's other keys on).
_SQL_STORE_KEYS = set(inspect.signature(SQLTrackerStore.__init__).parameters) - {
    "self",
    "kwargs",
}


def _anonymisation_plugin() -> bool:
    from rasa.plugin import plugin_manager

    return plugin_manager().hook.get_anonymization_pipeline() is not None


class CachedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with the recent trackers kept in memory and a window of
    the last events (see the module's documentation)."""

    def __init__(
        self,
        *args: Any,
        cache_size: int = 1000,
        cache_seconds: float = 3600,
        max_events: int = 0,
        shared: bool = False,
        journal_mode: str | None = "WAL",
        synchronous: str | None = "NORMAL",
        keep_connection: bool = True,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - _SQL_STORE_KEYS
        if unknown:
            log.warning(
                "CachedSQLTrackerStore: unknown keys %s in the tracker store's "
                "settings (ignored)",
                ", ".join(sorted(unknown)),
            )
        super().__init__(*args, **kwargs)
        self.stock = not supported()
        self.cache_size = int(cache_size)
        self.cache_seconds = float(cache_seconds)
        self.max_events = int(max_events)
        self.shared = shared in (True, "true", "True", 1)
        self._cache: OrderedDict[str, tuple[DialogueStateTracker, float]] = (
            OrderedDict()
        )
        if self.cache_size < 0 or self.cache_seconds < 0 or self.max_events < 0:
            raise ValueError(
                "CachedSQLTrackerStore: cache_size, cache_seconds and max_events "
                "must be 0 or more"
            )
        if self.stock:
            log.warning(
                "CachedSQLTrackerStore is written for Rasa %s, this is Rasa %s: "
                "it works as Rasa's SQLTrackerStore (no cache, no window)",
                SUPPORTED_RASA,
                RASA_VERSION,
            )
            return
        if self.engine.dialect.name == "sqlite":
            self._tune_sqlite(journal_mode, synchronous, keep_connection)
        if self.cache_size and (self.event_broker or _anonymisation_plugin()):
            # Both diff a saved tracker against `retrieve`.
            log.info("event broker or anonymisation: tracker cache off")
            self.cache_size = 0

    def _tune_sqlite(
        self,
        journal_mode: str | None,
        synchronous: str | None,
        keep_connection: bool,
    ) -> None:
        import sqlalchemy as sa

        if keep_connection:
            # One connection for the event loop's thread, kept open.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=sa.pool.SingletonThreadPool, pool_size=1
            )
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        pragmas = []
        if journal_mode:
            pragmas.append(f"PRAGMA journal_mode={journal_mode}")
        if synchronous:
            pragmas.append(f"PRAGMA synchronous={synchronous}")

        @sa.event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in pragmas:
                cursor.execute(pragma)
            cursor.close()

    # -- retrieve ---------------------------------------------------------

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        if self.stock:
            return await super().retrieve(sender_id)
        cached = self._cache.get(sender_id)
        stamp = None
        if cached is not None:
            tracker, saved_at = cached
            fresh = time.monotonic() - saved_at <= self.cache_seconds
            if fresh and getattr(tracker, _SAVED, None) == len(tracker.events):
                if not self.shared:
                    return self._window(tracker)
                stamp = self._rows_stamp(sender_id)
                if getattr(tracker, _STAMP, None) == stamp:
                    return self._window(tracker)
            # Idle too long, changed since it was saved (a turn that failed
            # half-way), or (shared) its rows changed: read it again.
            del self._cache[sender_id]
        if self.shared and self.cache_size and stamp is None:
            # Before the read: a row added meanwhile makes the next turn read
            # again, never the other way round.
            stamp = self._rows_stamp(sender_id)
        tracker = await super().retrieve(sender_id)
        if tracker is None:
            return None
        setattr(tracker, _SAVED, len(tracker.events))
        setattr(tracker, _STAMP, stamp)
        tracker = self._window(tracker)
        self._remember(tracker)
        return tracker

    def _rows_stamp(self, sender_id: str) -> tuple[int, int | None]:
        """How many rows the conversation has in SQL and the highest id (ids
        only grow: a deleted and re-written conversation has new ones)."""
        import sqlalchemy as sa

        table = self.SQLEvent.__table__
        query = sa.select(sa.func.count(), sa.func.max(table.c.id)).where(
            table.c.sender_id == sender_id
        )
        with self.engine.connect() as connection:
            count, highest = connection.execute(query).one()
        return int(count), highest

    def _window(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The tracker cut to about the last `max_events` events, if longer
        than twice that; the state at the cut is carried over as a new
        session start with the slots set (as carry_over_slots does)."""
        if not self.max_events or len(tracker.events) <= 2 * self.max_events:
            return tracker
        applied = tracker.applied_events()
        cut = len(applied) - self.max_events
        while cut < len(applied) and not (
            isinstance(applied[cut], ActionExecuted)
            and applied[cut].action_name == ACTION_LISTEN_NAME
        ):
            cut += 1
        if cut <= 0 or cut >= len(applied) - 1:
            return tracker
        slots = self.domain.slots if self.domain else []
        before = DialogueStateTracker.from_events(
            tracker.sender_id, applied[:cut], slots
        )
        stamp = applied[cut].timestamp
        carried = [
            ActionExecuted(ACTION_SESSION_START_NAME, timestamp=stamp),
            SessionStarted(timestamp=stamp),
        ]
        carried += [
            SlotSet(slot.name, slot.value, timestamp=stamp)
            for slot in before.slots.values()
            if slot.value != slot.initial_value
        ]
        if before.active_loop_name:
            carried.append(ActiveLoop(before.active_loop_name, timestamp=stamp))
        if before.is_paused():
            carried.append(ConversationPaused(timestamp=stamp))
        window = DialogueStateTracker.from_events(
            tracker.sender_id, carried + applied[cut:], slots
        )
        window.model_id = tracker.model_id
        window.assistant_id = tracker.assistant_id
        # Everything in the window is stored already.
        setattr(window, _SAVED, len(window.events))
        setattr(window, _STAMP, getattr(tracker, _STAMP, None))
        return window

    # -- save ---------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        """SQLTrackerStore.save (the same rows), in one multi-row INSERT."""
        if self.stock:
            await super().save(tracker)
            return
        await self.stream_events(tracker)
        start = getattr(tracker, _SAVED, None)
        if start is None or start > len(tracker.events):
            with self.session_scope() as session:
                start = self._event_query(
                    session, tracker.sender_id, fetch_events_from_all_sessions=False
                ).count()
        rows = []
        for event in itertools.islice(tracker.events, start, len(tracker.events)):
            data = event.as_dict()
            rows.append(
                {
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {})
                    .get("intent", {})
                    .get(INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
            )
        if rows:
            with self.engine.begin() as connection:
                connection.execute(self.SQLEvent.__table__.insert(), rows)
        setattr(tracker, _SAVED, len(tracker.events))
        if self.shared and self.cache_size:
            # The turn holds the conversation's lock: the rows are ours.
            setattr(tracker, _STAMP, self._rows_stamp(tracker.sender_id))
        if any(row["type_name"] == SessionStarted.type_name for row in rows):
            # A session started: Rasa's store returns only the events from its
            # start on, not those before it in this tracker, so the next turn
            # reads the conversation from SQL as Rasa's store does.
            self._cache.pop(tracker.sender_id, None)
            return
        self._remember(tracker)

    def _remember(self, tracker: DialogueStateTracker) -> None:
        if not self.cache_size or not tracker.events:
            return
        now = time.monotonic()
        self._cache.pop(tracker.sender_id, None)
        self._cache[tracker.sender_id] = (tracker, now)
        # In the order of their last save: drop the oldest beyond the size,
        # and those idle too long.
        while self._cache:
            _, saved_at = next(iter(self._cache.values()))
            if len(self._cache) <= self.cache_size and (
                now - saved_at <= self.cache_seconds
            ):
                break
            self._cache.popitem(last=False)

    async def delete(self, sender_id: str) -> int:
        """Delete the conversation and all its events (the client's own
        "Poista keskustelu"); returns how many events were deleted."""
        self._cache.pop(sender_id, None)
        return delete_conversation_events(self, sender_id)


def delete_conversation_events(store: SQLTrackerStore, sender_id: str) -> int:
    """Delete every event of one conversation from Rasa's SQL tracker store
    (SQLite or PostgreSQL), in one transaction."""
    with store.session_scope() as session:
        deleted = (
            session.query(store.SQLEvent)
            .filter(store.SQLEvent.sender_id == sender_id)
            .delete(synchronize_session=False)
        )
        session.commit()
    return int(deleted)
