"""The servers of the benchmarks (bench, load test) and of the end-to-end and
browser tests, started with deploy/servers.py (the launcher `make run-scaled`
is built from): each a subprocess in its own process group with its log in
the run's temporary folder, waited for until healthy. The client store is a
temporary SQLite file seeded with the demo data, with personal tokens issued
the way `polkuopas client token` does. Rasa gets
the product's endpoints and the token channel's credentials (`rasa_config`) or
the benchmark's own (`rasa_server`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from deploy.servers import (
    APP_PYTHON,
    HOST,
    RASA,
    Server,
    ServerFailed,
    base_env,
    free_port,
)
from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store

BENCH = Path(__file__).resolve().parent
# The shared secret Rasa sends to the action server (bot/endpoints.yml).
SECRET_HEADER = "X-Polkuopas-Secret"
ACTION_SECRET = secrets.token_urlsafe(24)


# The channel's rate limits, far above what the bench sends from one token
# and one address (16 conversations back to back); the limiter still runs.
RATE_LIMITS_RAISED = {
    "POLKUOPAS_RATE_LIMIT_PER_MINUTE": "100000000",
    "POLKUOPAS_RATE_LIMIT_BURST": "1000000",
    "POLKUOPAS_RATE_LIMIT_ADDRESS_PER_MINUTE": "100000000",
    "POLKUOPAS_RATE_LIMIT_ADDRESS_BURST": "1000000",
}


@dataclass
class DemoStore:
    """A temporary client store with the demo data and personal tokens."""

    path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, path: Path) -> DemoStore:
        store = open_store(path)
        admin = Admin(store, load_catalog(PROJECT_ROOT / "paths"), "bench")
        list(seed_demo(admin))
        demo = cls(path)
        for client in ("demo-suvi", "demo-valtteri", "demo-mika"):
            demo.tokens[client] = admin.issue_token(client, 1)
        store.db.close()
        return demo


def revert_env(revert: tuple[str, ...]) -> dict[str, str]:
    """The environment of an action server with the changes in `revert`
    undone (benchmarks/app_side/polkuopas_bench_revert.py)."""
    env = base_env()
    if revert:
        env["PYTHONPATH"] = str(BENCH / "app_side")
        env["POLKUOPAS_BENCH_REVERT"] = ",".join(revert)
    return env


def our_action_server(
    root: Path, store: Path, *, tag: str = "ours", revert: tuple[str, ...] = ()
) -> Server:
    """`python -m polkuopas.action_server`, as shipped or with `revert`."""
    port = free_port()
    env = revert_env(revert)
    env.update(
        POLKUOPAS_DB=str(store),
        POLKUOPAS_ACTION_HOST=HOST,
        POLKUOPAS_ACTION_PORT=str(port),
        POLKUOPAS_ACTION_SECRET=ACTION_SECRET,
    )
    return Server(
        name=f"action server ({tag})",
        command=[str(APP_PYTHON), "-m", "polkuopas.action_server"]
        if not revert
        else [str(APP_PYTHON), "-c", "import polkuopas.action_server as s; s.main()"],
        port=port,
        health_path="/health",
        log=root / f"action-{tag}.log",
        env=env,
    )


def sdk_action_server(
    root: Path, store: Path, *, tag: str = "rasa_sdk", revert: tuple[str, ...] = ()
) -> Server:
    """rasa_sdk's own Sanic server (what `rasa run actions` starts) on the same
    actions: `python -m benchmarks.sdk_actions`, rasa_sdk's main registering
    our adapters."""
    port = free_port()
    env = revert_env(revert)
    env.update(
        POLKUOPAS_DB=str(store),
        SANIC_HOST=HOST,
        ACTION_SERVER_SANIC_WORKERS="1",
    )
    return Server(
        name=f"action server ({tag})",
        command=[
            str(APP_PYTHON), "-m", "benchmarks.sdk_actions",
            "--port", str(port), "--cors", "",
        ],
        port=port,
        health_path="/health",
        log=root / f"action-{tag}.log",
        env=env,
    )  # fmt: skip


def rasa_server(
    root: Path,
    tag: str,
    *,
    model: Path,
    store: Path,
    endpoints: dict,
    action_url: str,
    stock: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """`rasa run` with the token channel and `endpoints` (a dict for
    endpoints.yml, whose ${POLKUOPAS_ACTION_URL} and ${POLKUOPAS_ACTION_SECRET}
    Rasa fills in). `stock`: without the speed-ups the channel installs
    (benchmarks/rasa_side/sitecustomize.py)."""
    port = free_port()
    endpoints_file = root / f"endpoints-{tag}.yml"
    endpoints_file.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    credentials = root / f"credentials-{tag}.yml"
    credentials.write_text(
        yaml.safe_dump({"polkuopas_rasa.channel.TokenRestInput": {"db": str(store)}}),
        encoding="utf-8",
    )
    env = base_env()
    path = [str(PROJECT_ROOT / "bot")]
    if stock:
        path.append(str(BENCH / "rasa_side"))
        env["POLKUOPAS_BENCH_RASA_STOCK"] = "1"
    env.update(
        POLKUOPAS_DB=str(store),
        POLKUOPAS_ACTION_URL=action_url,
        POLKUOPAS_ACTION_SECRET=ACTION_SECRET,
        PYTHONPATH=os.pathsep.join(path),
        **RATE_LIMITS_RAISED,
        **(extra_env or {}),
    )
    return Server(
        name=f"Rasa ({tag})",
        command=[
            str(RASA), "run", "--model", str(model),
            "--endpoints", str(endpoints_file), "--credentials", str(credentials),
            "--interface", HOST, "--port", str(port),
        ],
        port=port,
        health_path="/webhooks/rest/",
        log=root / f"rasa-{tag}.log",
        env=env,
    )  # fmt: skip


# --- the whole stack as the product ships it (end-to-end and browser tests) -----


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
        **base_env(),
        "POLKUOPAS_DB": str(db),
        "POLKUOPAS_ACTION_PORT": str(action_port),
        "POLKUOPAS_ACTION_URL": f"http://{HOST}:{action_port}/webhook",
        "POLKUOPAS_ACTION_SECRET": secret,
        # bot/ (polkuopas_rasa), then any PYTHONPATH of this run.
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
    if text.count(shipped) != 1:
        raise ServerFailed("bot/endpoints.yml: tracker db line moved")
    endpoints = root / "endpoints.yml"
    endpoints.write_text(text.replace(shipped, f"  db: {tracker_db}\n"), "utf-8")
    credentials = root / "credentials.yml"
    credentials.write_text(f"polkuopas_rasa.channel.TokenRestInput:\n  db: {db}\n")
    return endpoints, credentials


class Processes:
    """Servers by name, each logging to its own file in `root`, stopped together."""

    def __init__(self, root: Path):
        self.root = root
        self.running: dict[str, Server] = {}
        self.logs: dict[str, Path] = {}

    def spawn(self, name, command, env, health: str, limit: float):
        """Start `command` and wait until `health` (a URL) answers 200."""
        url = urlsplit(health)
        server = Server(
            name=name,
            command=[str(part) for part in command],
            port=url.port or 80,
            health_path=url.path,
            log=self.logs.setdefault(name, self.root / f"{name}.log"),
            env=env,
            log_mode="a",
        )
        self.running[name] = server
        server.start(limit)
        return server.process

    def stop(self, name: str, timeout: float = 30) -> subprocess.Popen | None:
        return self.running.pop(name).stop(timeout)

    def stop_all(self) -> None:
        for server in self.running.values():
            server.stop()
        self.running.clear()
