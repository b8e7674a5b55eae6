"""CLI writes while the servers answer chat traffic on one SQLite store.

With `make run` serving, `polkuopas client assign` once failed with "database is
locked" right after `client add`. Every write of the store is a transaction that
reads first (does the client exist?) and then writes; begun as a plain `BEGIN`,
the transaction holds only a read snapshot when it reaches its first write, and
when another connection writes meanwhile SQLite answers SQLITE_BUSY at once,
without waiting `busy_timeout`. This runs the real action server and web app as
`make run` starts them, keeps them writing (contact requests from the chat,
feedback from the widget, demo tokens) and reading, and runs the CLI's writes
as an admin would, as separate processes.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from benchmarks.servers import Processes, demo_admin, server_env
from deploy.servers import free_port
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store

SECRET = "concurrency-secret"
POLKUOPAS = Path(sys.executable).with_name("polkuopas")


def webhook_call(
    action: str,
    intent: str,
    slots: dict | None = None,
    events: list[dict] | None = None,
) -> dict:
    """An action call shaped as Rasa 3.6 sends it, for demo-suvi."""
    return {
        "next_action": action,
        "sender_id": "c:demo-suvi:lock",
        "tracker": {
            "sender_id": "c:demo-suvi:lock",
            "slots": slots or {},
            "latest_message": {
                "intent": {"name": intent, "confidence": 0.98},
                "entities": [],
                "text": "haluan puhua ihmisen kanssa",
                "metadata": {
                    "polkuopas": {"identity": "valid", "client_id": "demo-suvi"}
                },
            },
            "latest_event_time": 1700000000.0,
            "followup_action": None,
            "paused": False,
            "events": events or [],
            "latest_input_channel": "rest",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
        "domain": {"version": "3.1", "intents": [intent]},
        "version": "3.6.21",
    }


class Traffic:
    """Chat and widget calls in a few threads until stopped; counts answers."""

    def __init__(self, action_url: str, web_url: str, token: str):
        self.calls = [
            (
                action_url + "/webhook",
                # "Kyllä" to the offer of contact: the write the chat makes.
                webhook_call(
                    "action_confirm_contact",
                    "affirm",
                    slots={"contact_offer": 1},
                    events=[
                        {"event": "user", "text": "haluan puhua ihmisen kanssa"},
                        {"event": "user", "text": "kyllä"},
                    ],
                ),
                {"X-Polkuopas-Secret": SECRET},
            ),
            (
                action_url + "/webhook",
                webhook_call("action_responsible", "ask_responsible"),
                {"X-Polkuopas-Secret": SECRET},
            ),
            (
                web_url + "/api/feedback",
                {"topic": "lock_test", "helpful": True},
                {"Authorization": f"Bearer {token}"},
            ),
            (web_url + "/api/demo-token", {"client": "demo-suvi"}, {}),
        ]
        self.answers: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(4)
        ]

    def _run(self, offset: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = offset
            while not self._stop.is_set():
                url, body, headers = self.calls[n % len(self.calls)]
                n += 1
                try:
                    response = http.post(url, json=body, headers=headers)
                except httpx.HTTPError as exc:
                    self.failures.append(f"{url}: {type(exc).__name__}")
                    continue
                self.answers[f"{url.rsplit('/', 1)[1]} {response.status_code}"] += 1
                if response.status_code >= 300:
                    self.failures.append(f"{url}: {response.status_code}")

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


@pytest.fixture
def servers(tmp_path):
    db = tmp_path / "polkuopas.db"
    with demo_admin(db) as admin:
        token = admin.issue_token("demo-suvi", 1)
    action_port, web_port = free_port(), free_port()
    env = server_env(
        db,
        action_port,
        SECRET,
        POLKUOPAS_WEB_PORT=str(web_port),
        POLKUOPAS_DEMO="true",
        POLKUOPAS_RATE_LIMIT_PER_MINUTE="0",
        POLKUOPAS_RATE_LIMIT_ADDRESS_PER_MINUTE="0",
    )
    processes = Processes(tmp_path)
    action_url = f"http://127.0.0.1:{action_port}"
    web_url = f"http://127.0.0.1:{web_port}"
    try:
        processes.spawn(
            "action-server",
            [sys.executable, "-m", "polkuopas.action_server"],
            env,
            action_url + "/health",
            60,
        )
        processes.spawn(
            "web", [sys.executable, "-m", "polkuopas.web"], env, web_url + "/health", 60
        )
        yield db, env, Traffic(action_url, web_url, token)
    finally:
        processes.stop_all()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(POLKUOPAS), *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_writes_succeed_while_servers_write(servers):
    db, env, traffic = servers
    failed: list[str] = []
    with traffic:
        time.sleep(1)  # the servers busy before the first command
        for n in range(6):
            client = f"lock-{n}"
            for args in (
                ("client", "add", "--id", client, "--path", "kuntouttava-tyotoiminta"),
                ("client", "assign", client, "--role", "ohjaaja", "--pro", "ph-mika"),
                ("client", "advance", client, "--to", "aktivointisuunnitelma"),
            ):
                done = cli(env, *args)
                if done.returncode != 0:
                    failed.append(f"{' '.join(args[:2])}: {done.stderr.strip()}")
    assert not failed, failed
    assert not traffic.failures, (traffic.failures[:5], traffic.answers)
    # The servers did write meanwhile, or this proved nothing.
    assert traffic.answers["feedback 201"] > 10, traffic.answers
    assert traffic.answers["webhook 200"] > 10, traffic.answers
    store = open_store(db)
    try:
        for n in range(6):
            client = store.get_client(f"lock-{n}")
            assert client.current_step == "aktivointisuunnitelma"
            assert [a.professional.id for a in store.assignments(client.id)] == [
                "ph-mika"
            ]
        requests = store.open_contact_requests()
        assert requests, "the chat's contact requests were not written"
    finally:
        store.db.close()
