"""Rasa's stores as deploy/endpoints.yml configures them, against real servers.

Runs in the bot environment (.venv-rasa: Rasa 3.6, Python 3.10), started by
tests/scaleout/test_stores.py with the environment that deploy/endpoints.yml
reads pointing at a throwaway PostgreSQL (and Redis). The endpoints file is read
and the stores are created the way `rasa run` does it
(`AvailableEndpoints.read_endpoints`, `TrackerStore.create`,
`LockStore.create`); two store instances stand for two Rasa servers.

    python rasa_stores_check.py ENDPOINTS --out RESULT.json [--redis] [--cached]

Writes {"check name": "ok" | "what went wrong", ...} to RESULT.json (plus
"_conversations": the conversation ids it wrote) and exits 0 when every check
passed, 1 otherwise. `--redis`: also the lock store. `--cached`: also
polkuopas_rasa.trackerstore.CachedSQLTrackerStore (bot/) with cache_size 0, the setting
for several Rasa servers on one database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

from rasa.core.lock_store import LockStore, RedisLockStore  # noqa: E402
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore  # noqa: E402
from rasa.core.utils import AvailableEndpoints  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from rasa.utils.endpoints import EndpointConfig  # noqa: E402

DOMAIN = Domain.load(ROOT / "bot" / "domain.yml")
CACHED_STORE = "polkuopas_rasa.trackerstore.CachedSQLTrackerStore"


class CheckFailed(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# --- conversations ---------------------------------------------------------


class Clock:
    """Increasing timestamps, so event order never depends on the clock."""

    def __init__(self, start: float | None = None) -> None:
        self.now = start if start is not None else time.time()

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def session_start(clock: Clock) -> list[Event]:
    stamp = clock()
    return [
        ActionExecuted("action_session_start", timestamp=stamp),
        SessionStarted(timestamp=stamp),
        ActionExecuted("action_listen", timestamp=clock()),
    ]


def turn(clock: Clock, text: str, answer: str) -> list[Event]:
    """One turn as Rasa writes it: the message, the action, its answer."""
    return [
        UserUttered(
            text,
            {"name": "ask_responsible", "confidence": 0.93},
            [{"entity": "role", "value": "tyovalmentaja", "start": 13, "end": 27}],
            timestamp=clock(),
            metadata={"polkuopas": {"identity": "valid", "client_id": "demo-suvi"}},
        ),
        ActionExecuted("action_responsible", timestamp=clock()),
        BotUttered(answer, {"polkuopas_message": "responsible"}, timestamp=clock()),
        SlotSet("path_id", "kuntouttava-tyotoiminta", timestamp=clock()),
        ActionExecuted("action_listen", timestamp=clock()),
    ]


def as_dicts(events: Any) -> list[dict[str, Any]]:
    return [event.as_dict() for event in events]


def new_tracker(conversation: str, events: list[Event]) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(conversation, events, DOMAIN.slots)


async def extend(
    store: TrackerStore, conversation: str, events: list[Event]
) -> DialogueStateTracker:
    """Retrieve, append, save: what a Rasa server does with a turn."""
    tracker = await store.retrieve(conversation)
    expect(tracker is not None, f"{conversation!r} not found")
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    return tracker


# --- the checks ---------------------------------------------------------------


class Checks:
    def __init__(self, endpoints: AvailableEndpoints, run: str) -> None:
        self.endpoints = endpoints
        self.run = run
        self.conversations: list[str] = []

    def conversation(self, name: str) -> str:
        conversation = f"c:{self.run}:{name}"
        self.conversations.append(conversation)
        return conversation

    # stores, created as `rasa run` creates them

    def tracker_store(self, cache_size: int | None = None) -> TrackerStore:
        config = self.endpoints.tracker_store
        if cache_size is not None:
            kwargs = {k: v for k, v in config.kwargs.items() if k != "type"}
            config = EndpointConfig(
                url=config.url, type=CACHED_STORE, cache_size=cache_size, **kwargs
            )
        store = TrackerStore.create(config, domain=DOMAIN)
        # An unknown `type` makes Rasa fall back to the in-memory store with
        # only a warning: insist on the SQL store.
        expect(
            isinstance(store, SQLTrackerStore),
            f"Rasa made a {type(store).__name__}, not an SQLTrackerStore",
        )
        return store

    def lock_store(self) -> LockStore:
        store = LockStore.create(self.endpoints.lock_store)
        expect(
            isinstance(store, RedisLockStore),
            f"Rasa made a {type(store).__name__}, not a RedisLockStore",
        )
        return store

    # endpoints

    async def endpoints_expand_the_environment(self) -> None:
        action = self.endpoints.action
        expect(action is not None, "no action_endpoint")
        expect(
            action.url == os.environ["POLKUOPAS_ACTION_URL"],
            f"action_endpoint url is {action.url!r}, not $POLKUOPAS_ACTION_URL",
        )
        secret = action.headers.get("X-Polkuopas-Secret")
        expect(
            secret == os.environ["POLKUOPAS_ACTION_SECRET"],
            "the X-Polkuopas-Secret header is not $POLKUOPAS_ACTION_SECRET",
        )
        tracker = self.endpoints.tracker_store
        expect(tracker is not None, "no tracker_store")
        expect(tracker.type == CACHED_STORE, f"tracker_store type {tracker.type!r}")
        expect(
            tracker.kwargs.get("shared") is True,
            "tracker_store: several Rasa servers need `shared: true`",
        )
        expect(
            tracker.kwargs.get("dialect") == "postgresql",
            f"tracker_store dialect {tracker.kwargs.get('dialect')!r}",
        )
        for key, variable in [
            ("url", "TRACKER_DB_HOST"),
            ("port", "TRACKER_DB_PORT"),
            ("db", "TRACKER_DB_NAME"),
            ("username", "TRACKER_DB_USER"),
            ("password", "TRACKER_DB_PASSWORD"),
        ]:
            value = tracker.url if key == "url" else tracker.kwargs.get(key)
            expect(
                str(value) == os.environ[variable],
                f"tracker_store {key} is not ${variable}",
            )
        lock = self.endpoints.lock_store
        expect(lock is not None, "no lock_store")
        expect(
            lock.type == "polkuopas_rasa.lockstore.AtomicRedisLockStore",
            f"lock_store type {lock.type!r}",
        )
        for key, variable in [
            ("url", "LOCK_STORE_HOST"),
            ("port", "LOCK_STORE_PORT"),
            ("password", "LOCK_STORE_PASSWORD"),
            ("db", "LOCK_STORE_DB"),
        ]:
            value = lock.url if key == "url" else lock.kwargs.get(key)
            expect(
                str(value) == os.environ[variable],
                f"lock_store {key} is not ${variable}",
            )

    # tracker store

    async def tracker_store_is_postgresql(self) -> None:
        store = self.tracker_store()
        url = store.engine.url
        expect(
            store.engine.dialect.name == "postgresql",
            f"dialect {store.engine.dialect.name}",
        )
        expect(url.host == os.environ["TRACKER_DB_HOST"], f"host {url.host}")
        expect(url.port == int(os.environ["TRACKER_DB_PORT"]), f"port {url.port}")
        with store.engine.connect() as connection:
            version = connection.exec_driver_sql("SHOW server_version").scalar()
            ssl = connection.exec_driver_sql("SHOW ssl").scalar()
        expect(bool(version), "no server version")
        expect(ssl in ("on", "off"), f"SHOW ssl: {ssl!r}")

    async def _save_and_retrieve(self, name: str, cache_size: int | None) -> None:
        store = self.tracker_store(cache_size)
        conversation = self.conversation(name)
        clock = Clock()
        events = session_start(clock) + turn(
            clock, "kuka on minun työvalmentajani?", "Työvalmentajasi on Sari Lehtonen."
        )
        await store.save(new_tracker(conversation, events))
        again = await self.tracker_store(cache_size).retrieve(conversation)
        expect(again is not None, "the saved conversation was not found")
        expect(
            as_dicts(again.events) == as_dicts(events),
            "the retrieved events differ from the saved ones",
        )
        expect(
            again.get_slot("path_id") == "kuntouttava-tyotoiminta",
            "the slot was not restored",
        )
        expect(
            again.latest_message.metadata["polkuopas"]["client_id"] == "demo-suvi",
            "the message metadata was not kept",
        )

    async def save_and_retrieve(self) -> None:
        await self._save_and_retrieve("saved", None)

    async def _two_servers(
        self, name: str, make_a: Callable[[], TrackerStore], make_b: Callable[[], Any]
    ) -> None:
        """Turns of one conversation alternate between two Rasa servers (round
        robin, no stickiness); each sees everything the other wrote."""
        server_a, server_b = make_a(), make_b()
        conversation = self.conversation(name)
        clock = Clock()
        expected = session_start(clock)
        await server_a.save(new_tracker(conversation, expected))
        for number in range(6):
            server, other = (
                (server_a, server_b) if number % 2 == 0 else (server_b, server_a)
            )
            events = turn(clock, f"kysymys {number}", f"vastaus {number}")
            await extend(server, conversation, events)
            expected += events
            seen = await other.retrieve(conversation)
            expect(seen is not None, f"turn {number}: the other server sees nothing")
            expect(
                as_dicts(seen.events) == as_dicts(expected),
                f"turn {number}: the other server sees {len(seen.events)} events, "
                f"expected {len(expected)}",
            )
        for server in (server_a, server_b):
            keys = set(await server.keys())
            expect(conversation in keys, "keys() does not list the conversation")

    async def two_servers_share_conversations(self) -> None:
        await self._two_servers("shared", self.tracker_store, self.tracker_store)

    async def keys_list_every_conversation(self) -> None:
        server_a, server_b = self.tracker_store(), self.tracker_store()
        clock = Clock()
        mine = [self.conversation(f"keys-{n}") for n in range(3)]
        for number, conversation in enumerate(mine):
            writer = server_a if number % 2 == 0 else server_b
            await writer.save(new_tracker(conversation, session_start(clock)))
        for server in (server_a, server_b):
            missing = set(mine) - set(await server.keys())
            expect(not missing, f"keys() misses {sorted(missing)}")

    async def sessions(self) -> None:
        """A new session: `retrieve` gives the latest session only (Rasa's
        subquery on SessionStarted, here in PostgreSQL), the full tracker all."""
        server_a, server_b = self.tracker_store(), self.tracker_store()
        conversation = self.conversation("sessions")
        clock = Clock()
        first = session_start(clock) + turn(clock, "hei", "Hei!")
        await server_a.save(new_tracker(conversation, first))
        second = session_start(clock) + turn(clock, "mitä seuraavaksi?", "Sitten...")
        await extend(server_b, conversation, second)
        latest = await server_a.retrieve(conversation)
        full = await server_a.retrieve_full_tracker(conversation)
        expect(
            as_dicts(latest.events) == as_dicts(second),
            f"retrieve gave {len(latest.events)} events, expected the "
            f"{len(second)} of the latest session",
        )
        expect(
            as_dicts(full.events) == as_dicts(first + second),
            f"retrieve_full_tracker gave {len(full.events)} events",
        )

    async def old_conversation_for_retention(self) -> None:
        """Writes one conversation last active 100 days ago and one active now,
        for the purge test (deploy/purge-conversations.sql)."""
        store = self.tracker_store()
        old = self.conversation("retention-old")
        recent = self.conversation("retention-recent")
        old_clock = Clock(time.time() - 100 * 86400)
        await store.save(new_tracker(old, session_start(old_clock)))
        await store.save(new_tracker(recent, session_start(Clock())))

    # polkuopas_rasa.trackerstore.CachedSQLTrackerStore, cache_size 0

    async def cached_store_save_and_retrieve(self) -> None:
        await self._save_and_retrieve("cached-saved", 0)

    async def cached_store_two_servers(self) -> None:
        await self._two_servers(
            "cached-shared",
            lambda: self.tracker_store(0),
            lambda: self.tracker_store(0),
        )

    async def cached_store_with_rasas_store(self) -> None:
        await self._two_servers(
            "cached-mixed", lambda: self.tracker_store(0), self.tracker_store
        )

    async def cached_store_deletes_a_conversation(self) -> None:
        """The client's "Poista keskustelu" on PostgreSQL: every event of the
        conversation goes, from the table and from the cache; others stay."""
        from polkuopas_rasa.conversations import delete_conversation

        store = self.tracker_store(100)
        gone, kept = self.conversation("delete-me"), self.conversation("keep-me")
        for conversation in (gone, kept):
            clock = Clock()
            await store.save(
                new_tracker(
                    conversation, session_start(clock) + turn(clock, "hei", "Hei!")
                )
            )

        class Agent:
            tracker_store = store
            lock_store = LockStore.create(None)

        deleted = await delete_conversation(Agent, gone)
        expect(deleted > 0, "nothing was deleted")
        expect(await store.retrieve(gone) is None, "the cache still had it")
        fresh = self.tracker_store(0)
        expect(await fresh.retrieve(gone) is None, "its events are still in the table")
        expect(await fresh.retrieve(kept) is not None, "another conversation went too")

    # lock store

    async def lock_store_is_redis(self) -> None:
        store = self.lock_store()
        expect(
            type(store).__name__ == "AtomicRedisLockStore",
            f"Rasa made a {type(store).__name__}, not the atomic lock store",
        )
        expect(store.red.ping(), "Redis does not answer PING")
        expect(
            store.key_prefix == "polkuopas:lock:",
            f"key prefix {store.key_prefix!r}",
        )

    async def lock_serialises_one_conversation(self) -> None:
        """While one server holds a conversation's lock, the other waits for
        it; another conversation does not wait."""
        server_a, server_b = self.lock_store(), self.lock_store()
        conversation = f"c:{self.run}:locked"
        elsewhere = f"c:{self.run}:elsewhere"
        order: list[str] = []
        held = asyncio.Event()

        async def first() -> None:
            async with server_a.lock(conversation, wait_time_in_seconds=0.02):
                order.append("A starts")
                held.set()
                await asyncio.sleep(0.4)
                order.append("A ends")

        async def second() -> None:
            await held.wait()
            async with server_b.lock(conversation, wait_time_in_seconds=0.02):
                order.append("B starts")

        async def other() -> None:
            await held.wait()
            async with server_b.lock(elsewhere, wait_time_in_seconds=0.02):
                order.append("other conversation")

        await asyncio.wait_for(asyncio.gather(first(), second(), other()), 20)
        expect(
            order == ["A starts", "other conversation", "A ends", "B starts"],
            f"order: {order}",
        )
        for name in (conversation, elsewhere):
            expect(
                server_a.get_lock(name) is None,
                f"the lock of {name} was left in Redis",
            )

    async def _concurrent_turns(self, name: str, locked: bool) -> tuple[int, int]:
        """Two servers, three turns each, all at once on one conversation:
        retrieve, think (the prediction, the action call), save. Returns the
        turns sent and the turns stored."""
        servers = [
            (self.tracker_store(), self.lock_store() if locked else None)
            for _ in range(2)
        ]
        conversation = self.conversation(name)
        clock = Clock()
        await servers[0][0].save(new_tracker(conversation, session_start(clock)))

        async def handle(number: int) -> None:
            tracker_store, lock_store = servers[number % 2]

            async def work() -> None:
                tracker = await tracker_store.retrieve(conversation)
                await asyncio.sleep(0.05)
                for event in turn(clock, f"viesti {number}", f"vastaus {number}"):
                    tracker.update(event)
                await tracker_store.save(tracker)

            if lock_store is None:
                await work()
            else:
                async with lock_store.lock(conversation, wait_time_in_seconds=0.02):
                    await work()

        await asyncio.wait_for(asyncio.gather(*(handle(n) for n in range(6))), 60)
        stored = await servers[1][0].retrieve(conversation)
        texts = [e.text for e in stored.events if isinstance(e, UserUttered)]
        # Every stored turn is whole and in one piece: message, action, answer,
        # slot, listen.
        kinds = [type(e).__name__ for e in list(stored.events)[3:]]
        whole = [
            "UserUttered",
            "ActionExecuted",
            "BotUttered",
            "SlotSet",
            "ActionExecuted",
        ]
        expect(
            kinds == whole * len(texts),
            f"turns are interleaved or cut: {kinds}",
        )
        return 6, len(texts)

    async def lock_keeps_every_turn(self) -> None:
        sent, stored = await self._concurrent_turns("concurrent-locked", True)
        expect(stored == sent, f"{sent} turns sent, {stored} stored")

    async def without_lock_turns_are_lost(self) -> None:
        """The control: the same turns without the lock store lose turns (the
        SQL store appends what it has not seen), so the lock is what keeps
        them."""
        sent, stored = await self._concurrent_turns("concurrent-unlocked", False)
        expect(stored < sent, f"all {sent} turns kept even without the lock")


async def run_checks(args: argparse.Namespace) -> dict[str, Any]:
    endpoints = AvailableEndpoints.read_endpoints(str(args.endpoints))
    checks = Checks(endpoints, uuid.uuid4().hex[:8])
    names = [
        "endpoints_expand_the_environment",
        "tracker_store_is_postgresql",
        "save_and_retrieve",
        "two_servers_share_conversations",
        "keys_list_every_conversation",
        "sessions",
        "old_conversation_for_retention",
    ]
    if args.cached:
        names += [
            "cached_store_save_and_retrieve",
            "cached_store_two_servers",
            "cached_store_with_rasas_store",
            "cached_store_deletes_a_conversation",
        ]
    if args.redis:
        names += [
            "lock_store_is_redis",
            "lock_serialises_one_conversation",
            "lock_keeps_every_turn",
            "without_lock_turns_are_lost",
        ]
    results: dict[str, Any] = {}
    for name in names:
        check: Callable[[], Awaitable[None]] = getattr(checks, name)
        try:
            await check()
            results[name] = "ok"
        except CheckFailed as failure:
            results[name] = str(failure)
        except Exception:
            results[name] = traceback.format_exc(limit=6)
    results["_conversations"] = checks.conversations
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoints", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--cached", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run_checks(args))
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    failed = [k for k, v in results.items() if not k.startswith("_") and v != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
