"""Checks of bot/polkuopas_rasa/speedups.py and trackerstore.py inside Rasa (the
bot environment).

    PYTHONPATH=bot .venv-rasa/bin/python -m benchmarks.check_speedups [--spacy]

Run by tests/test_speedups.py. No model is loaded: the tracker store is driven
the way Rasa's MessageProcessor drives it (get_or_create_tracker, update, save)
with the same events for Rasa's own `SQLTrackerStore` and for
`CachedSQLTrackerStore`, each on its own temporary SQLite file, and the stored
rows and retrieved trackers are compared. The patches are compared with what
they replace. `--spacy` also loads the Finnish spaCy model twice (about 15 s).

Prints one JSON object: check name -> "ok" or what differed. Exit code 1 when
a check failed.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

import argparse
import asyncio
import contextlib
import copy
import json
import logging
import sqlite3
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore")

ROOT = Path(__file__).resolve().parents[1]
# bot/ (polkuopas_rasa) is on PYTHONPATH, as the usage line above says.

from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import (  # noqa: E402
    DialogueStateTracker,
    EventVerbosity,
)

from polkuopas_rasa import speedups, trackerstore  # noqa: E402

MAX_EVENTS = 20
CHECKS: dict[str, Any] = {}


def check(function):
    CHECKS[function.__name__] = function
    return function


class Clock:
    """Event timestamps, the same for both stores."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def tick(self, seconds: float = 0.25) -> float:
        self.now += seconds
        return self.now


def session_start(clock: Clock) -> list[Any]:
    """What ActionSessionStart logs (carry_over_slots_to_new_session: false)."""
    return [
        ActionExecuted("action_session_start", timestamp=clock.tick()),
        SessionStarted(timestamp=clock.tick()),
        ActionExecuted("action_listen", timestamp=clock.tick()),
    ]


def one_turn(clock: Clock, number: int, intent: str = "ask_responsible") -> list:
    """One user message and its answer, as Rasa logs them."""
    events = [
        UserUttered(
            f"viesti {number}",
            intent={"name": intent, "confidence": 0.97},
            entities=[],
            parse_data={
                "intent": {"name": intent, "confidence": 0.97},
                "entities": [],
                "text": f"viesti {number}",
                "message_id": f"m{number}",
                "metadata": {"polkuopas": {"identity": "none", "client_id": None}},
                "intent_ranking": [{"name": intent, "confidence": 0.97}],
            },
            timestamp=clock.tick(),
            input_channel="rest",
            message_id=f"m{number}",
            metadata={"polkuopas": {"identity": "none", "client_id": None}},
        ),
        ActionExecuted(
            "action_responsible",
            policy="RulePolicy",
            confidence=1.0,
            timestamp=clock.tick(),
        ),
        BotUttered(
            f"vastaus {number}",
            {"elements": None, "buttons": None, "custom": None},
            {"polkuopas_message": "responsible_one"},
            timestamp=clock.tick(),
        ),
    ]
    if number == 3:
        events.append(SlotSet("path_id", "kuntouttava-tyotoiminta", clock.tick()))
    events.append(
        ActionExecuted(
            "action_listen", policy="RulePolicy", confidence=1.0, timestamp=clock.tick()
        )
    )
    return events


def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain.yml"))


class Pair:
    """Rasa's SQLTrackerStore and CachedSQLTrackerStore, fed the same turns."""

    def __init__(self, folder: Path, **options: Any) -> None:
        self.domain = domain()
        self.stock = SQLTrackerStore(
            self.domain, dialect="sqlite", db=str(folder / "stock.db")
        )
        self.cached = trackerstore.CachedSQLTrackerStore(
            domain=self.domain,
            dialect="sqlite",
            db=str(folder / "cached.db"),
            **{"max_events": MAX_EVENTS, **options},
        )
        self.clock = Clock()

    async def turn(self, sender: str, number: int, **kwargs: Any) -> None:
        """MessageProcessor's handling of one message, for both stores."""
        new_session = kwargs.pop("new_session", False)
        events = []
        if number == 1 or new_session:
            events += session_start(self.clock)
        events += one_turn(self.clock, number, **kwargs)
        for store in (self.stock, self.cached):
            tracker = await store.get_or_create_tracker(
                sender, append_action_listen=False
            )
            for event in copy.deepcopy(events):
                tracker.update(event)
            await store.save(tracker)

    def rows(self, store: SQLTrackerStore, sender: str | None = None) -> list:
        with sqlite3.connect(store.engine.url.database) as db:
            return db.execute(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, "
                "data FROM events WHERE ? IS NULL OR sender_id = ? ORDER BY id",
                (sender, sender),
            ).fetchall()


def state(tracker) -> dict[str, Any]:
    return tracker.current_state(EventVerbosity.ALL)


def differ(what: str, a: Any, b: Any) -> str:
    """`a` as Rasa comes, `b` with the speed-ups."""
    return f"{what} differ:\n  Rasa: {a!r:.600}\n  with the speed-ups: {b!r:.600}"


# --- the tracker store ------------------------------------------------------


@check
async def short_conversation_same_rows_and_trackers(folder: Path) -> None:
    pair = Pair(folder)
    for number in range(1, 7):
        await pair.turn("short", number)
        stock = await pair.stock.retrieve("short")
        cached = await pair.cached.retrieve("short")
        assert state(stock) == state(cached), differ(
            f"trackers after turn {number}", state(stock), state(cached)
        )
    assert len(stock.events) < 2 * MAX_EVENTS, "the conversation is not short"
    rows = pair.rows(pair.stock), pair.rows(pair.cached)
    assert rows[0] == rows[1], differ("stored rows", *rows)
    # Served from memory: the tracker object is kept between turns.
    assert await pair.cached.retrieve("short") is cached, "not served from memory"


@check
async def long_conversation_is_windowed_at_a_turn_boundary(folder: Path) -> None:
    pair = Pair(folder)
    turns = 60
    for number in range(1, turns + 1):
        await pair.turn("long", number)
    rows = pair.rows(pair.stock), pair.rows(pair.cached)
    assert rows[0] == rows[1], differ("stored rows", len(rows[0]), len(rows[1]))
    stock = await pair.stock.retrieve("long")
    fresh = trackerstore.CachedSQLTrackerStore(
        domain=pair.domain,
        dialect="sqlite",
        db=pair.cached.engine.url.database,
        max_events=MAX_EVENTS,
    )
    for source, window in (
        ("memory", await pair.cached.retrieve("long")),
        ("SQL", await fresh.retrieve("long")),
    ):
        events = list(window.events)
        assert len(events) <= 2 * MAX_EVENTS, f"{source}: {len(events)} events"
        assert len(stock.events) > 4 * MAX_EVENTS
        names = [e.type_name for e in events[:3]]
        assert names == ["action", "session_started", "slot"], f"{source}: {names}"
        assert events[0].action_name == "action_session_start"
        assert events[2] == SlotSet("path_id", "kuntouttava-tyotoiminta"), events[2]
        # Cut where a turn begins: the next event is Rasa listening.
        assert events[3] == ActionExecuted("action_listen"), f"{source}: {events[3]}"
        tail = [e.as_dict() for e in events[3:]]
        stock_tail = [e.as_dict() for e in stock.events][-len(tail) :]
        assert tail == stock_tail, differ(f"{source}: last events", stock_tail, tail)
        assert window.current_slot_values() == stock.current_slot_values()
        assert window.latest_message == stock.latest_message
        assert window.latest_action == stock.latest_action
        assert window.is_paused() == stock.is_paused()
        assert window.active_loop_name == stock.active_loop_name
    # The next turns are stored as Rasa's store stores them.
    for number in range(turns + 1, turns + 4):
        await pair.turn("long", number)
    rows = pair.rows(pair.stock), pair.rows(pair.cached)
    assert rows[0] == rows[1], differ("stored rows after the window", *rows)


@check
async def window_without_cache(folder: Path) -> None:
    """cache_size 0 (several Rasa processes on one database): the same rows."""
    pair = Pair(folder, cache_size=0)
    for number in range(1, 31):
        await pair.turn("nocache", number)
    rows = pair.rows(pair.stock), pair.rows(pair.cached)
    assert rows[0] == rows[1], differ("stored rows", len(rows[0]), len(rows[1]))
    first = await pair.cached.retrieve("nocache")
    assert await pair.cached.retrieve("nocache") is not first, "cached anyway"
    assert len(first.events) <= 2 * MAX_EVENTS


@check
async def shared_cache_follows_the_turns_of_another_server(folder: Path) -> None:
    """shared: true (several Rasa servers on one database, a lock store
    serialising each conversation): turns alternate between two stores; each
    retrieves what Rasa's own store retrieves, from memory while nothing
    changed in SQL. Without `shared` the same alternation goes stale."""
    pair = Pair(folder)
    db = str(folder / "shared.db")

    def server(**options: Any) -> trackerstore.CachedSQLTrackerStore:
        return trackerstore.CachedSQLTrackerStore(
            domain=pair.domain, dialect="sqlite", db=db,
            **{"max_events": MAX_EVENTS, **options},
        )  # fmt: skip

    servers = [server(shared=True), server(shared=True)]
    reads = {"count": 0}
    original = SQLTrackerStore.retrieve

    async def counted(self, sender_id):
        reads["count"] += 1
        return await original(self, sender_id)

    SQLTrackerStore.retrieve = counted
    try:
        for number in range(1, 31):
            events = session_start(pair.clock) if number == 1 else []
            events += one_turn(pair.clock, number)
            stores = [pair.stock, servers[number % 2]]
            for store in stores:
                tracker = await store.get_or_create_tracker(
                    "shared", append_action_listen=False
                )
                for event in copy.deepcopy(events):
                    tracker.update(event)
                await store.save(tracker)
            stock = await pair.stock.retrieve("shared")
            for other in servers:
                got = await other.retrieve("shared")
                last = list(got.events)[-3:], list(stock.events)[-3:]
                assert last[0] == last[1], differ(
                    f"turn {number}: last events", last[1], last[0]
                )
                assert got.current_slot_values() == stock.current_slot_values()
        # Nothing changed: both serve from memory, no read from SQL.
        before = reads["count"]
        for other in servers:
            await other.retrieve("shared")
        assert reads["count"] == before, "read from SQL though nothing changed"
        # A deletion on one server, a new conversation under the same id with
        # as many rows: the other reads SQL again (the ids moved on).
        rows = len(pair.rows(servers[0], "shared"))
        await servers[0].delete("shared")
        copy_events = list(stock.events)[:rows]
        fresh = DialogueStateTracker.from_events(
            "shared", copy_events[:3], pair.domain.slots
        )
        await servers[0].save(fresh)
        got = await servers[1].retrieve("shared")
        assert len(got.events) == 3, f"stale after a delete: {len(got.events)}"
    finally:
        SQLTrackerStore.retrieve = original
    # Without shared: the second server keeps its stale tracker.
    stale = [server(), server()]
    for number in range(1, 4):
        tracker = await stale[number % 2].get_or_create_tracker(
            "unshared", append_action_listen=False
        )
        extra = session_start(pair.clock) if number == 1 else []
        for event in extra + one_turn(pair.clock, number):
            tracker.update(event)
        await stale[number % 2].save(tracker)
    newest = await server().retrieve("unshared")
    kept = await stale[0].retrieve("unshared")
    assert len(kept.events) < len(newest.events), "unshared store saw the turns"


@check
async def failed_turn_and_failed_save_are_read_again(folder: Path) -> None:
    pair = Pair(folder)
    for number in range(1, 4):
        await pair.turn("fails", number)
    # A turn that stops half-way (an exception, a cancelled request): the
    # events it added are not saved, and the next turn must not see them.
    tracker = await pair.cached.retrieve("fails")
    tracker.update(UserUttered("kesken", timestamp=pair.clock.tick()))
    again = await pair.cached.retrieve("fails")
    assert "kesken" not in [getattr(e, "text", None) for e in again.events]
    assert state(again) == state(await pair.stock.retrieve("fails"))

    # A save that fails in SQL (rolled back): the next turn reads SQL again.
    tracker = await pair.cached.retrieve("fails")
    tracker.update(UserUttered("ei tallennu", timestamp=pair.clock.tick()))
    engine = pair.cached.engine

    class FailingEngine:
        url = engine.url

        def begin(self):
            raise sqlite3.OperationalError("disk I/O error (in the check)")

    pair.cached.engine = FailingEngine()
    try:
        await pair.cached.save(tracker)
    except sqlite3.OperationalError:
        pass
    else:
        raise AssertionError("the failing save did not fail")
    finally:
        pair.cached.engine = engine
    again = await pair.cached.retrieve("fails")
    assert "ei tallennu" not in [getattr(e, "text", None) for e in again.events]
    assert state(again) == state(await pair.stock.retrieve("fails"))
    # And goes on storing what Rasa's store stores.
    await pair.turn("fails", 4)
    rows = pair.rows(pair.stock), pair.rows(pair.cached)
    assert rows[0] == rows[1], differ("stored rows", *rows)


@check
async def new_session_is_read_from_sql(folder: Path) -> None:
    pair = Pair(folder)
    for number in range(1, 5):
        await pair.turn("sessions", number)
    pair.clock.tick(2 * 3600)  # session_expiration_time is 60 minutes
    await pair.turn("sessions", 5, new_session=True)
    assert "sessions" not in pair.cached._cache, "a new session was kept in memory"
    stock = await pair.stock.retrieve("sessions")
    cached = await pair.cached.retrieve("sessions")
    assert state(stock) == state(cached), differ(
        "trackers", state(stock), state(cached)
    )
    assert cached.events[0] == SessionStarted(), cached.events[0]
    await pair.turn("sessions", 6)
    rows = pair.rows(pair.stock), pair.rows(pair.cached)
    assert rows[0] == rows[1], differ("stored rows", *rows)


@check
async def idle_conversation_and_purge_are_read_from_sql(folder: Path) -> None:
    pair = Pair(folder)
    for number in range(1, 4):
        await pair.turn("idle", number)
    assert await pair.cached.retrieve("idle") is not None
    # `polkuopas conversations purge` deletes it in another process.
    with sqlite3.connect(pair.cached.engine.url.database) as db:
        db.execute("DELETE FROM events WHERE sender_id = 'idle'")
    # Within cache_seconds the tracker in memory is still served ...
    assert await pair.cached.retrieve("idle") is not None
    # ... but not after (purge deletes only what was idle for a day or more).
    pair.cached.cache_seconds = 0
    await asyncio.sleep(0.01)
    assert await pair.cached.retrieve("idle") is None, "a purged tracker was served"


@check
async def cache_keeps_the_most_recent_conversations(folder: Path) -> None:
    pair = Pair(folder, cache_size=3)
    for sender in "abcde":
        await pair.turn(sender, 1)
        await pair.turn(sender, 2)
    assert list(pair.cached._cache) == ["c", "d", "e"], list(pair.cached._cache)
    for sender in "abcde":
        stock = await pair.stock.retrieve(sender)
        cached = await pair.cached.retrieve(sender)
        assert state(stock) == state(cached), differ(sender, stock, cached)


@check
async def product_endpoints_make_the_cached_store(folder: Path) -> None:
    """bot/endpoints.yml gives this store (Rasa falls back to memory, with only
    a warning, when the type cannot be imported)."""
    import yaml
    from rasa.core.tracker_store import FailSafeTrackerStore, create_tracker_store
    from rasa.utils.endpoints import read_endpoint_config

    config = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text())
    store_config = config["tracker_store"]
    assert store_config["type"] == "polkuopas_rasa.trackerstore.CachedSQLTrackerStore"
    store_config["db"] = str(folder / "endpoints.db")
    endpoints = folder / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump({"tracker_store": store_config}))
    endpoint = read_endpoint_config(str(endpoints), "tracker_store")
    store = create_tracker_store(endpoint, domain())
    if isinstance(store, FailSafeTrackerStore):
        store = store._tracker_store
    assert type(store) is trackerstore.CachedSQLTrackerStore, type(store)
    assert store.max_events == 20 and store.cache_size == 1000, vars(store)
    assert await store.retrieve("nobody") is None
    with sqlite3.connect(store.engine.url.database) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@check
async def other_rasa_versions_run_stock(folder: Path) -> None:
    from rasa.shared.core.events import Event

    speedups.uninstall()
    original = Event.__dict__["resolve_by_type"]
    speedups.RASA_VERSION, real = "3.6.20", speedups.RASA_VERSION
    try:
        assert speedups.install() is False, "installed on another Rasa version"
        assert Event.__dict__["resolve_by_type"] is original
        store = trackerstore.CachedSQLTrackerStore(
            domain=domain(), dialect="sqlite", db=str(folder / "v.db"), max_events=5
        )
        assert store.stock
        assert "SingletonThreadPool" not in type(store.engine.pool).__name__
    finally:
        speedups.RASA_VERSION = real
    assert speedups.install() is True
    assert Event.__dict__["resolve_by_type"] is not original
    speedups.uninstall()
    assert Event.__dict__["resolve_by_type"] is original


# --- the patches ------------------------------------------------------------


@check
async def tensorflow_one_thread_per_pool_unless_set(folder: Path) -> None:
    import tensorflow as tf

    threading = tf.config.threading
    speedups.uninstall()
    speedups.install(keep_alive=False, spacy=False)
    got = (
        threading.get_inter_op_parallelism_threads(),
        (threading.get_intra_op_parallelism_threads()),
    )
    assert got == (1, 1), got
    # Rasa sizes the pools from its variables when they are set: left alone.
    speedups.uninstall()
    threading.set_inter_op_parallelism_threads(3)
    threading.set_intra_op_parallelism_threads(2)
    names = speedups.TF_THREAD_VARIABLES
    try:
        os.environ.update(dict.fromkeys(names, "2"))
        speedups.install(keep_alive=False, spacy=False)
    finally:
        for name in names:
            os.environ.pop(name, None)
        speedups.uninstall()
    got = (
        threading.get_inter_op_parallelism_threads(),
        (threading.get_intra_op_parallelism_threads()),
    )
    assert got == (3, 2), got


@check
async def gc_freeze_once_the_server_has_started(folder: Path) -> None:
    import gc

    from polkuopas_contract import ChannelSettings
    from polkuopas_rasa.channel import TokenRestInput

    wanted = speedups.gc_freeze_wanted
    assert wanted({}) is True and wanted({"POLKUOPAS_GC_FREEZE": " "}) is True
    for raw in ("true", "1", "Yes", "on"):
        assert wanted({"POLKUOPAS_GC_FREEZE": raw}) is True, raw
    for raw in ("false", "0", "No", "OFF"):
        assert wanted({"POLKUOPAS_GC_FREEZE": raw}) is False, raw
    try:
        wanted({"POLKUOPAS_GC_FREEZE": "maybe"})
        raise AssertionError("'maybe' taken")
    except ValueError as refused:
        assert "POLKUOPAS_GC_FREEZE must be true or false" in str(refused)

    def after_start_listeners(environ: dict[str, str]) -> list:
        speedups.uninstall()
        saved = {k: os.environ.get(k) for k in environ}
        os.environ.update(environ)
        try:
            channel = TokenRestInput(tokens=None, settings=ChannelSettings())
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        blueprint = channel.blueprint(lambda message: None)
        return [
            f.listener
            for f in blueprint._future_listeners
            if f.event == "after_server_start"
        ]

    gc.unfreeze()
    try:
        # As shipped: the channel's listener freezes once the model is in.
        (listener,) = after_start_listeners({})
        assert gc.get_freeze_count() == 0
        await listener(None, None)
        assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()
        gc.unfreeze()
        # Switched off, and without the speed-ups (Rasa stock): nothing.
        (listener,) = after_start_listeners({"POLKUOPAS_GC_FREEZE": "false"})
        await listener(None, None)
        assert gc.get_freeze_count() == 0
        speedups.uninstall()
        assert speedups.freeze_loaded_model(True) is None
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        speedups.uninstall()


@check
async def validator_raises_what_jsonschema_validate_raises(folder: Path) -> None:
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    action = RemoteAction("action_responsible", EndpointConfig("http://x"))
    responses = [
        {"events": [], "responses": [{"text": "moi"}]},
        {"events": [{"event": "slot", "name": "path_id", "value": "x"}]},
        {},
        {"events": "no"},
        {"events": [{"event": "slot"}], "responses": "no"},
        {"responses": [1, 2]},
        {"events": [{"event": "nonsense"}]},
        {"events": [{"name": "x"}, 5], "responses": [None]},
    ]

    def outcome(value):
        try:
            return action._validate_action_result(value)
        except ValidationError as e:
            return ("error", e.message, list(e.path), e.validator)

    speedups.uninstall()
    expected = [outcome(r) for r in responses]
    speedups.install(keep_alive=False, spacy=False)
    try:
        got = [outcome(r) for r in responses]
    finally:
        speedups.uninstall()
    assert expected == got, differ("validation", expected, got)
    assert sum(isinstance(e, tuple) for e in expected) >= 4, expected


@check
async def event_types_resolve_as_before(folder: Path) -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    names = sorted({c.type_name for c in all_subclasses(Event)} | {"topic", "nope"})

    def outcome(name, default=None):
        try:
            return Event.resolve_by_type(name, default)
        except ValueError as e:
            return str(e)

    speedups.uninstall()
    expected = [outcome(n) for n in names] + [outcome("nope", SlotSet)]
    speedups.install(keep_alive=False, spacy=False)
    try:
        got = [outcome(n) for n in names] + [outcome("nope", SlotSet)]
        got += [outcome(n) for n in names]  # from the cache now
    finally:
        speedups.uninstall()
    assert got == expected + expected[:-1], differ("classes", expected, got)


@check
async def debug_states_formatted_only_when_logged(folder: Path) -> None:
    from rasa.core.policies.policy import Policy

    states = [
        {},
        {
            "user": {"intent": "greet", "text": "moi"},
            "prev_action": {"action_name": "x"},
        },
    ]
    speedups.uninstall()
    expected = Policy.format_tracker_states(states)
    speedups.install(keep_alive=False, spacy=False)
    logger = logging.getLogger(speedups.RULE_POLICY_LOGGER)
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert Policy.format_tracker_states(states) == ""
        logger.setLevel(logging.DEBUG)
        assert Policy.format_tracker_states(states) == expected
    finally:
        logger.setLevel(level)
        speedups.uninstall()
    assert expected.count("user intent: greet") == 1, expected


@check
async def action_calls_keep_one_connection(folder: Path) -> None:
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    seen: list[tuple[Any, str, Any]] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        peer = request.transport.get_extra_info("peername")
        seen.append((peer, request.headers.get("X-Polkuopas-Secret"), body))
        return web.json_response({"events": [], "responses": [{"text": body["n"]}]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(
        f"http://127.0.0.1:{port}/webhook", headers={"X-Polkuopas-Secret": "s"}
    )
    try:
        speedups.uninstall()
        stock = [await endpoint.request(json={"n": str(n)}) for n in range(3)]
        speedups.install(spacy=False)
        kept = [await endpoint.request(json={"n": str(n)}) for n in range(3)]
        await speedups.close_kept_sessions(endpoint)
    finally:
        speedups.uninstall()
        await runner.cleanup()
    assert stock == kept, differ("answers", stock, kept)
    assert [s[1:] for s in seen[:3]] == [s[1:] for s in seen[3:]], seen
    assert all(secret == "s" for _, secret, _ in seen)
    stock_peers, kept_peers = {s[0] for s in seen[:3]}, {s[0] for s in seen[3:]}
    assert len(stock_peers) == 3 and len(kept_peers) == 1, (stock_peers, kept_peers)


@check
async def spacy_without_ner_same_tokens_lemmas_vectors(folder: Path) -> None:
    import numpy as np
    from rasa.nlu.utils.spacy_utils import SpacyNLP
    from rasa.shared.nlu.training_data.loading import load_data

    name = "spacy_fi_experimental_web_md"
    speedups.uninstall()
    stock = SpacyNLP.load_model(name).model
    speedups.install(keep_alive=False)
    try:
        lean = SpacyNLP.load_model(name).model
    finally:
        speedups.uninstall()
    assert "ner" in stock.pipe_names and "ner" not in lean.component_names
    assert [p for p in stock.pipe_names if p != "ner"] == lean.pipe_names
    data = load_data(str(ROOT / "tests" / "nlu" / "eval.yml"))
    texts = [m.get("text") for m in data.training_examples if m.get("text")]
    assert len(texts) > 50, len(texts)
    for text in texts + [t.lower() for t in texts]:
        a, b = stock(text), lean(text)
        for ta, tb in zip(a, b, strict=True):
            same = (ta.text, ta.lemma_, ta.tag_, ta.pos_, str(ta.morph)) == (
                tb.text,
                tb.lemma_,
                tb.tag_,
                tb.pos_,
                str(tb.morph),
            )
            assert same, differ(f"token in {text!r}", ta, tb)
            assert np.array_equal(ta.vector, tb.vector), f"vector of {ta.text!r}"
        assert np.array_equal(a.vector, b.vector), f"vector of {text!r}"


# --- main -------------------------------------------------------------------


async def run(names: list[str]) -> dict[str, str]:
    results = {}
    for name in names:
        with tempfile.TemporaryDirectory(prefix="polkuopas-speedups-") as folder:
            try:
                await CHECKS[name](Path(folder))
                results[name] = "ok"
            except Exception as exc:  # reported, not raised
                detail = "".join(traceback.format_exception_only(type(exc), exc))
                results[name] = f"FAILED: {detail.strip()}"
            finally:
                speedups.uninstall()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spacy", action="store_true", help="also the spaCy check")
    parser.add_argument("--only", nargs="*", help="run only these checks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    names = args.only or [n for n in CHECKS if args.spacy or not n.startswith("spacy")]
    with contextlib.redirect_stdout(sys.stderr):  # Rasa prints; stdout is JSON
        results = asyncio.run(run(names))
    print(json.dumps(results, indent=1))
    return 0 if all(v == "ok" for v in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
