"""Measured speed-ups for Rasa 3.6 in Polkuopas (runs inside Rasa, Python 3.10).

`make bench` loads this module into chosen Rasa variants to measure what each
change buys; the report (reports/bench.md) gives the figures. Nothing here
changes what the assistant answers or what is stored.

1. `install()` patches five costs of Rasa 3.6.21:

   * `RemoteAction._validate_action_result` calls `jsonschema.validate`, which
     first checks the *schema* against the JSON-Schema metaschema (jsonschema
     4.17: tens of milliseconds) on every custom action call. The schema is a
     constant, so one validator is built once and reused; the response is still
     validated, with Rasa's error message.
   * `Event.resolve_by_type` walks every subclass of `Event` for every event it
     deserialises (a tracker read from SQL, an action server's events). The
     type-name → class look-up is cached; unknown names fall back to Rasa.
   * `Policy.format_tracker_states` formats the whole conversation for a debug
     log line at every RulePolicy prediction, also when debug logging is off; it
     now returns "" unless the "rasa" logger is at DEBUG.
   * `EndpointConfig.request` opens a new aiohttp session, so a new TCP
     connection, for every call to the action server. One session per endpoint
     is kept instead (keep-alive; idle connections closed after 2 s, before
     uvicorn's 5 s, so no request goes out on a connection being closed).
   * `SpacyNLP` runs every pipe of the spaCy model except the parser; the
     named-entity recogniser's output is read by nothing in bot/config.yml, so
     it is disabled (tokens, lemmas, tags and vectors stay exactly the same).

2. `CachedSQLTrackerStore` is Rasa's `SQLTrackerStore` (same table, same rows:
   every event is still written to SQLite at every turn) with these changes:

   * the trackers of the last `cache_size` conversations stay in memory, so a
     turn does not re-read and replay the whole conversation from SQLite; a
     cached tracker is used only if it holds exactly the events saved last (a
     turn that failed half-way is re-read from SQLite), never across a new
     session, and never with an event broker (which diffs against `retrieve`);
   * new events are known from the saved count, without a COUNT query, and
     written in one multi-row INSERT instead of one ORM object each;
   * one kept SQLite connection instead of one per query (SQLAlchemy 1.4's
     NullPool for SQLite files), in WAL mode with `synchronous` NORMAL (the
     journal_mode and synchronous keys; Rasa's default is DELETE/FULL);
   * `max_events` (0: off): a tracker longer than twice that is cut at a turn
     boundary to about the last `max_events` events, the state at the cut
     carried over as a session start with the slots set, so prediction, the
     copies Rasa makes and the request to the action server stay the same size
     in a long conversation. Fine for rules that look at the last turns; not
     for `conversation_start` rules or stories that need the whole history.

   It assumes one Rasa process per tracker database with Rasa's default
   in-memory lock store, which serialises the turns of a conversation; several
   Rasa processes on one database need `cache_size: 0`.

   endpoints.yml:

       tracker_store:
         type: polkuopas_speedups.CachedSQLTrackerStore
         dialect: sqlite
         db: var/rasa-tracker.db
         max_events: 20
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import OrderedDict
from typing import Any

log = logging.getLogger("polkuopas.speedups")

# (owner, attribute, original value) of every patch, for `uninstall`.
_originals: list[tuple[Any, str, Any]] = []


# spaCy pipes whose output no component of bot/config.yml reads: the named
# entities (no SpacyEntityExtractor). Rasa itself loads spaCy without "parser".
SPACY_UNUSED = ("ner",)


def install(keep_alive: bool = True, spacy: bool = True) -> None:
    """Apply the patches (once per process); `keep_alive`: patch 4, `spacy`:
    patch 5 (affects spaCy models loaded afterwards)."""
    if _originals:
        return
    _cache_action_response_validator()
    _cache_event_types()
    _lazy_debug_states()
    if keep_alive:
        _keep_alive_sessions()
    if spacy:
        _spacy_without_unused_pipes()
    log.info("polkuopas speed-ups installed")


def uninstall() -> None:
    """Undo `install` (the benchmark measures with and without)."""
    while _originals:
        owner, name, value = _originals.pop()
        setattr(owner, name, value)


def _patch(owner: Any, name: str, value: Any) -> None:
    _originals.append((owner, name, owner.__dict__[name]))
    setattr(owner, name, value)


def _cache_action_response_validator() -> None:
    from jsonschema import ValidationError, validators
    from rasa.core.actions import action as rasa_action

    validator_cache: dict[type, Any] = {}

    def _validate_action_result(self, result: dict[str, Any]) -> bool:
        validator = validator_cache.get(type(self))
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validators.validator_for(schema)
            cls.check_schema(schema)  # what jsonschema.validate does, once
            validator = validator_cache[type(self)] = cls(schema)
        try:
            validator.validate(result)
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

    def resolve_by_type(type_name: str, default: type | None = None):
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
    rasa_logger = logging.getLogger("rasa")

    def format_tracker_states(states):
        if not rasa_logger.isEnabledFor(logging.DEBUG):
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
        sessions = self.__dict__.setdefault("_polkuopas_sessions", {})
        key = id(asyncio.get_running_loop())
        kept = sessions.get(key)
        if kept is None or kept.closed:
            # Rasa's own session (headers, auth, timeout), with a connector
            # that closes idle connections before the server does (uvicorn:
            # 5 s), so no request goes out on a connection being closed.
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
            sessions[key] = kept
        return _Kept(kept)

    _patch(EndpointConfig, "session", session)


def _spacy_without_unused_pipes() -> None:
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    original = SpacyNLP.__dict__["load_model"].__func__

    def load_model(spacy_model_name: str) -> Any:
        model = original(spacy_model_name)
        for pipe in SPACY_UNUSED:
            if pipe in model.model.pipe_names:
                model.model.disable_pipe(pipe)
        return model

    _patch(SpacyNLP, "load_model", staticmethod(load_model))


async def close_kept_sessions(endpoint: Any) -> None:
    """Close the sessions patch 4 keeps for `endpoint` (an EndpointConfig)."""
    for session in endpoint.__dict__.pop("_polkuopas_sessions", {}).values():
        await session.close()


def without_memoization() -> None:
    """Bench only: MemoizationPolicy predicts nothing, as if it were not in
    config.yml (measures what the policy costs without retraining)."""
    from rasa.core.policies.memoization import MemoizationPolicy

    def predict_action_probabilities(self, tracker, domain, rule_only_data=None, **_):
        return self._prediction(self._default_predictions(domain))

    _patch(
        MemoizationPolicy, "predict_action_probabilities", predict_action_probabilities
    )


# --- the tracker store ------------------------------------------------------

from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.constants import (  # noqa: E402
    ACTION_LISTEN_NAME,
    ACTION_SESSION_START_NAME,
)
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    SessionStarted,
    SlotSet,
)
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from rasa.shared.nlu.constants import INTENT_NAME_KEY  # noqa: E402

# On a tracker object: how many of its events are already in SQL.
_SAVED = "_polkuopas_saved_events"


class CachedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with the recent trackers kept in memory (see module doc)."""

    def __init__(
        self,
        *args: Any,
        cache_size: int = 1000,
        max_events: int = 0,
        journal_mode: str | None = "WAL",
        synchronous: str | None = "NORMAL",
        keep_connection: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cache_size = int(cache_size)
        self.max_events = int(max_events)
        self._cache: OrderedDict[str, DialogueStateTracker] = OrderedDict()
        if self.engine.dialect.name == "sqlite":
            self._tune_sqlite(journal_mode, synchronous, keep_connection)
        if self.event_broker is not None and (self.cache_size or self.max_events):
            # The broker diffs a saved tracker against `retrieve`.
            log.info("event broker configured: tracker cache and window off")
            self.cache_size = self.max_events = 0

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
        tracker = self._cache.get(sender_id)
        if tracker is not None:
            if getattr(tracker, _SAVED, None) == len(tracker.events):
                self._cache.move_to_end(sender_id)
                return self._window(tracker)
            # Changed since it was saved (a turn failed half-way): re-read.
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
        session start with the slots set (like carry_over_slots)."""
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
        """SQLTrackerStore.save (the same rows), as one multi-row INSERT
        instead of one ORM object per event."""
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
        new_session = start > 0 and any(
            row["type_name"] == SessionStarted.type_name for row in rows
        )
        if new_session:
            # A new session in a tracker that holds the old one: SQL returns
            # only the events since the last session start, so re-read.
            self._cache.pop(tracker.sender_id, None)
            return
        self._remember(tracker)

    def _remember(self, tracker: DialogueStateTracker) -> None:
        if not self.cache_size:
            return
        self._cache[tracker.sender_id] = tracker
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
