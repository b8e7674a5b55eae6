"""Starting the real servers for the tests that need them (end to end, browser).

One place for what both need: free loopback ports, the demo store, the
environment the servers read, Rasa's endpoints and credentials as the product
ships them (bot/endpoints.yml, on a temporary tracker file), and processes
that are waited for until healthy and stopped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store

MODEL = PROJECT_ROOT / "bot" / "models" / "polkuopas.tar.gz"
RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_model() -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")


def wait_until_up(url: str, process: subprocess.Popen, log: Path, limit: float):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited while starting:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(1)
    pytest.fail(f"{url} did not start within {limit}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def demo_admin(db: Path) -> Iterator[Admin]:
    """The demo clients and professionals in `db`; the Admin to add more."""
    store = open_store(db)
    admin = Admin(store, load_catalog(PROJECT_ROOT / "paths"), "test")
    list(seed_demo(admin))
    try:
        yield admin
    finally:
        store.db.close()


def server_env(db: Path, action_port: int, secret: str, **settings: str):
    """What the action server, Rasa and the web app read from the environment."""
    return {
        **os.environ,
        "POLKUOPAS_DB": str(db),
        "POLKUOPAS_ACTION_PORT": str(action_port),
        "POLKUOPAS_ACTION_URL": f"http://127.0.0.1:{action_port}/webhook",
        "POLKUOPAS_ACTION_SECRET": secret,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # bot/ (polkuopas_rasa), then any PYTHONPATH of this run (the contract,
        # when .venv-rasa does not have it installed).
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(PROJECT_ROOT / "bot"), os.environ.get("PYTHONPATH")) if p
        ),
        **settings,
    }


def rasa_config(root: Path, db: Path, tracker_db: Path) -> tuple[Path, Path]:
    """The product's endpoints file as it is (action URL and secret from the
    environment, the tracker store with its speed-ups) but for the tracker
    database, `tracker_db`; and the token channel's credentials on `db`; the two
    files written in `root`."""
    text = (PROJECT_ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8")
    shipped = "  db: var/rasa-tracker.db\n"
    assert text.count(shipped) == 1, "bot/endpoints.yml: tracker db line moved"
    endpoints = root / "endpoints.yml"
    endpoints.write_text(text.replace(shipped, f"  db: {tracker_db}\n"), "utf-8")
    credentials = root / "credentials.yml"
    credentials.write_text(f"polkuopas_rasa.channel.TokenRestInput:\n  db: {db}\n")
    return endpoints, credentials


def rasa_command(endpoints: Path, credentials: Path, port: int, *extra: str):
    return [
        str(RASA), "run", "--model", str(MODEL), "--endpoints", str(endpoints),
        "--credentials", str(credentials), "--interface", "127.0.0.1",
        "--port", str(port), *extra,
    ]  # fmt: skip


class Processes:
    """Server processes, each logging to its own file, stopped together."""

    def __init__(self, root: Path):
        self.root = root
        self.running: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def spawn(self, name, command, env, health: str, limit: float):
        log = self.logs.setdefault(name, self.root / f"{name}.log")
        process = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
        )
        self.running[name] = process
        wait_until_up(health, process, log, limit)
        return process

    def stop(self, name: str, timeout: float = 30) -> subprocess.Popen:
        process = self.running.pop(name)
        process.terminate()
        process.wait(timeout=timeout)
        return process

    def stop_all(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.running.clear()
