"""Two or more Rasa servers racing for the same conversations, as the scale-out
shape has them: each worker process is one server with its own lock store
(Rasa's RedisLockStore, or polkuopas_rasa.lockstore.AtomicRedisLockStore) on
one Redis, and its own SQL tracker store on one PostgreSQL. For every
conversation all workers take a turn in the same instant (a barrier lets them
go together): under the lock, read the tracker, add the turn's event, work a
little, save. A lock that lets two turns in at once loses one of them, because
the SQL store appends only the events it has not stored yet.

The servers reach Redis through a small proxy that delays each request by
--latency seconds, as a network between hosts does; on one busy machine the
two processes would otherwise rarely overlap, and the race would be left to
chance rather than shown.

Runs in the bot environment; prints JSON: turns sent and kept, conversations
that lost a turn, and whether every kept conversation is in time order.

    .venv-rasa/bin/python tests/scaleout/lock_race.py --lock atomic \\
        --redis-port P --redis-password W --postgres-url URL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from rasa.core.lock_store import RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from polkuopas_rasa.lockstore import AtomicRedisLockStore

LOCKS = {"stock": RedisLockStore, "atomic": AtomicRedisLockStore}


def start_delaying_proxy(target_port: int, latency: float) -> int:
    """A TCP proxy to 127.0.0.1:`target_port` that holds every chunk a client
    sends for `latency` seconds; returns its port. Runs until the process ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ready = threading.Event()

    async def pipe(reader, writer, delay: float) -> None:
        try:
            while data := await reader.read(65536):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection(
            "127.0.0.1", target_port
        )
        await asyncio.gather(
            pipe(client_reader, server_writer, latency),
            pipe(server_reader, client_writer, 0),
        )

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    ready.wait(10)
    return port


def tracker_store(url: str) -> SQLTrackerStore:
    parts = urlsplit(url)
    return SQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host=parts.hostname,
        port=parts.port,
        db=parts.path.lstrip("/"),
        username=parts.username,
        password=parts.password,
    )


def lock_store(args: argparse.Namespace) -> RedisLockStore:
    return LOCKS[args.lock](
        host="127.0.0.1",
        port=args.redis_port,
        password=args.redis_password,
        db=1,
        key_prefix="race",
    )


async def take_turns(index: int, args: argparse.Namespace, barrier, names) -> None:
    locks = lock_store(args)
    trackers = tracker_store(args.postgres_url)
    for name in names:
        barrier.wait()
        async with locks.lock(name, lock_lifetime=30, wait_time_in_seconds=0.002):
            tracker = await trackers.retrieve(name) or DialogueStateTracker(name, [])
            tracker.update(UserUttered(f"worker {index}", timestamp=time.time()))
            await asyncio.sleep(args.work)
            await trackers.save(tracker)


def worker(index: int, args: argparse.Namespace, barrier, names) -> None:
    asyncio.run(take_turns(index, args, barrier, names))


async def count(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    trackers = tracker_store(args.postgres_url)
    kept, short, in_order = 0, [], True
    for name in names:
        tracker = await trackers.retrieve(name)
        events = [
            e for e in (tracker.events if tracker else []) if e.type_name == "user"
        ]
        kept += len(events)
        if len(events) < args.workers:
            short.append(name)
        stamps = [e.timestamp for e in events]
        in_order = in_order and stamps == sorted(stamps)
    return {
        "lock": args.lock,
        "workers": args.workers,
        "conversations": len(names),
        "turns_sent": len(names) * args.workers,
        "turns_kept": kept,
        "conversations_that_lost_a_turn": len(short),
        "in_order": in_order,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", choices=sorted(LOCKS), required=True)
    parser.add_argument("--redis-port", type=int, required=True)
    parser.add_argument("--redis-password", required=True)
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--work", type=float, default=0.002, help="seconds a turn")
    parser.add_argument(
        "--latency", type=float, default=0.005, help="seconds added to each request"
    )
    args = parser.parse_args(argv)
    args.redis_port = start_delaying_proxy(args.redis_port, args.latency)
    run = uuid.uuid4().hex[:8]
    names = [f"race-{args.lock}-{run}-{n}" for n in range(args.conversations)]
    barrier = multiprocessing.Barrier(args.workers)
    processes = [
        multiprocessing.Process(target=worker, args=(i, args, barrier, names))
        for i in range(args.workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=600)
    if any(p.exitcode != 0 for p in processes):
        print(json.dumps({"error": [p.exitcode for p in processes]}))
        return 1
    print(json.dumps(asyncio.run(count(args, names))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
