"""Speed-ups for Rasa 3.6.21 in Polkuopas (runs inside Rasa, Python 3.10).

What each one buys is measured by `make bench` (reports/bench.md). None of them
changes what the assistant answers or what is stored: tests/test_speedups.py
(with tests/rasa_side/check_speedups.py) and the end-to-end tests check it.
They are written for Rasa 3.6.21 and refuse to patch any other version: a
warning is logged and Rasa runs as it comes.

1. `install()`, called by bot/polkuopas_channel.py when Rasa imports it (before
   the model is loaded), patches five costs of Rasa 3.6.21 and sets one thing:

   * `RemoteAction._validate_action_result` calls `jsonschema.validate`, which
     checks the *schema* against the JSON-Schema metaschema (jsonschema 4.17:
     tens of milliseconds) on every custom action call. The schema is a
     constant, so its validator is built once; the response is still
     validated as `jsonschema.validate` does (the same error, Rasa's message).
   * `Event.resolve_by_type` walks every subclass of `Event` for every event
     it deserialises (a tracker read from SQL, an action server's events). The
     type name -> class look-up is cached; unknown names go to Rasa.
   * `Policy.format_tracker_states` formats the whole conversation for a debug
     log event of RulePolicy at every prediction, also when that event is
     dropped; it now returns "" when the logger the event goes to is not
     enabled for DEBUG (structlog's `filter_by_level` drops it then).
   * `EndpointConfig.request` opens a new aiohttp session, so a new TCP
     connection, for every call to the action server. One session per
     endpoint and event loop is kept instead (keep-alive; idle connections
     closed after 2 s, before uvicorn's 5 s, so that no request goes out on a
     connection the server is closing).
   * `SpacyNLP.load_model`: the spaCy pipeline's named-entity recogniser
     (`ner`, with its own tok2vec) runs on every message, and nothing in
     bot/config.yml reads its entities (there is no SpacyEntityExtractor). It
     is removed from the pipeline when SpacyNLP loads the model, as spaCy's
     `exclude` would; tokens, lemmas, tags and vectors stay the same.
   * TensorFlow's two thread pools get one thread each (Rasa's
     TF_INTER_OP_PARALLELISM_THREADS and TF_INTRA_OP_PARALLELISM_THREADS, when
     set, win). Rasa predicts one message at a time and DIET's matrices are
     small: more threads only add hand-offs and spinning that take CPU from
     the action server and the next request. The parse results are the same
     to the last bit (checked on tests/nlu/eval.yml).

2. `CachedSQLTrackerStore` is Rasa's `SQLTrackerStore` (the same table and
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
   processes on one database need `cache_size: 0` (the window and the INSERT
   still apply).

   bot/endpoints.yml:

       tracker_store:
         type: polkuopas_speedups.CachedSQLTrackerStore
         dialect: sqlite
         db: var/rasa-tracker.db
         max_events: 20
"""

from __future__ import annotations

import inspect
import itertools
import json
import logging
import os
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

log = logging.getLogger("polkuopas.speedups")

# The Rasa version these patches were written and checked for.
SUPPORTED_RASA = "3.6.21"
# spaCy pipes whose output no component of bot/config.yml reads: the named
# entities (no SpacyEntityExtractor). Rasa itself loads spaCy without "parser".
SPACY_UNUSED = ("ner",)
# RulePolicy's debug event with the formatted states goes to this logger.
RULE_POLICY_LOGGER = "rasa.core.policies.rule_policy"
# Rasa sizes TensorFlow's thread pools from these when they are set.
TF_THREAD_VARIABLES = (
    "TF_INTER_OP_PARALLELISM_THREADS",
    "TF_INTRA_OP_PARALLELISM_THREADS",
)

# (owner, attribute, original value) of every patch, for `uninstall`.
_originals: list[tuple[Any, str, Any]] = []


def supported() -> bool:
    """Is this the Rasa version the patches were written for?"""
    return RASA_VERSION == SUPPORTED_RASA


def install(
    *, keep_alive: bool = True, spacy: bool = True, threads: bool = True
) -> bool:
    """Apply the patches (once per process). Returns whether they are in.

    `keep_alive`, `spacy` and `threads` leave out the session patch, the spaCy
    patch and TensorFlow's threads (the benchmark measures each change); the
    spaCy patch works on spaCy models loaded afterwards, the threads only
    before TensorFlow has run anything.
    """
    if _originals:
        return True
    if not supported():
        log.warning(
            "polkuopas speed-ups are written for Rasa %s, this is Rasa %s: "
            "not installed, Rasa runs unpatched",
            SUPPORTED_RASA,
            RASA_VERSION,
        )
        return False
    _cache_action_response_validator()
    _cache_event_types()
    _lazy_debug_states()
    if keep_alive:
        _keep_alive_sessions()
    if spacy:
        _spacy_without_unused_pipes()
    if threads:
        _tensorflow_threads()
    log.info("polkuopas speed-ups installed (Rasa %s)", RASA_VERSION)
    return True


def uninstall() -> None:
    """Undo `install` (the benchmark measures with and without)."""
    while _originals:
        owner, name, value = _originals.pop()
        setattr(owner, name, value)


def installed() -> bool:
    return bool(_originals)


def _patch(owner: Any, name: str, value: Any) -> None:
    _originals.append((owner, name, owner.__dict__[name]))
    setattr(owner, name, value)


def _cache_action_response_validator() -> None:
    from jsonschema import ValidationError, exceptions, validators
    from rasa.core.actions import action as rasa_action

    validator_cache: dict[type, Any] = {}

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        validator = validator_cache.get(type(self))
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validators.validator_for(schema)
            cls.check_schema(schema)  # what jsonschema.validate does each time
            validator = validator_cache[type(self)] = cls(schema)
        try:
            # jsonschema.validate raises the best match of all errors.
            error = exceptions.best_match(validator.iter_errors(result))
            if error is not None:
                raise error
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                "For more information about the format visit "
                f"{rasa_action.DOCS_BASE_URL}/custom-actions"
            )
            raise e

    _patch(rasa_action.RemoteAction, "_validate_action_result", _validate_action_result)


def _cache_event_types() -> None:
    from rasa.shared.core.events import Event

    original = Event.__dict__["resolve_by_type"].__func__
    by_name: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> Any:
        cls = by_name.get(type_name)
        if cls is not None:
            return cls
        cls = original(type_name, default)
        if cls is not None and cls is not default:
            by_name[type_name] = cls
        return cls

    _patch(Event, "resolve_by_type", staticmethod(resolve_by_type))


def _lazy_debug_states() -> None:
    from rasa.core.policies.policy import Policy

    original = Policy.__dict__["format_tracker_states"].__func__
    rule_policy_logger = logging.getLogger(RULE_POLICY_LOGGER)

    def format_tracker_states(states: list[dict]) -> str:
        if not rule_policy_logger.isEnabledFor(logging.DEBUG):
            return ""
        return original(states)

    _patch(Policy, "format_tracker_states", staticmethod(format_tracker_states))


def _keep_alive_sessions() -> None:
    import asyncio

    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    class _Kept:
        """`async with` that neither opens nor closes the kept session."""

        def __init__(self, session: aiohttp.ClientSession) -> None:
            self.session = session

        async def __aenter__(self) -> aiohttp.ClientSession:
            return self.session

        async def __aexit__(self, *exc_info: Any) -> None:
            return None

    def session(self: EndpointConfig) -> Any:
        # One session per endpoint (kept on it) and event loop.
        loop = asyncio.get_running_loop()
        sessions = self.__dict__.setdefault("_polkuopas_sessions", {})
        kept_loop, kept = sessions.get(id(loop), (None, None))
        if kept is None or kept.closed or kept_loop is not loop:
            # Rasa's own session (headers, auth, timeout), with a connector
            # that closes idle connections before the server does.
            auth = None
            if self.basic_auth:
                auth = aiohttp.BasicAuth(
                    self.basic_auth["username"], self.basic_auth["password"]
                )
            kept = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=2),
            )
            sessions[id(loop)] = (loop, kept)
        return _Kept(kept)

    _patch(EndpointConfig, "session", session)


def _spacy_without_unused_pipes() -> None:
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    original = SpacyNLP.__dict__["load_model"].__func__

    def load_model(spacy_model_name: str) -> Any:
        model = original(spacy_model_name)  # Rasa's checks and messages
        for pipe in SPACY_UNUSED:
            if pipe in model.model.component_names:
                model.model.remove_pipe(pipe)
        return model

    _patch(SpacyNLP, "load_model", staticmethod(load_model))


def _tensorflow_threads() -> None:
    if any(os.environ.get(name, "").strip() for name in TF_THREAD_VARIABLES):
        return  # Rasa set them from the environment (as asked)
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:
        log.warning(
            "TensorFlow already runs: its thread pools keep their sizes "
            "(install the speed-ups before the model loads)"
        )


async def close_kept_sessions(endpoint: Any) -> None:
    """Close the sessions the keep-alive patch keeps for `endpoint`."""
    for _, session in endpoint.__dict__.pop("_polkuopas_sessions", {}).values():
        await session.close()


# --- the tracker store ------------------------------------------------------

# On a tracker object: how many of its events are in SQL.
_SAVED = "_polkuopas_saved_events"
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
        if cached is not None:
            tracker, saved_at = cached
            fresh = time.monotonic() - saved_at <= self.cache_seconds
            if fresh and getattr(tracker, _SAVED, None) == len(tracker.events):
                return self._window(tracker)
            # Idle too long, or changed since it was saved (a turn that failed
            # half-way): read it again.
            del self._cache[sender_id]
        tracker = await super().retrieve(sender_id)
        if tracker is None:
            return None
        setattr(tracker, _SAVED, len(tracker.events))
        tracker = self._window(tracker)
        self._remember(tracker)
        return tracker

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
