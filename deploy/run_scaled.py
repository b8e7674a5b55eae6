"""`make run-scaled`: the shape of deploy/compose.yml on this machine, without
Docker, from Debian's packages, everything on loopback.

    nginx :8080 ─ /webhooks/ ─> Rasa 1, Rasa 2 ─> action server 1, 2
                └─ / ─> web app     │   │
                                    │   └─> Redis       (lock store, atomic)
                                    └─────> PostgreSQL  (tracker store; the
                                            client store in its own database)

The same files as compose.yml: Rasa reads deploy/endpoints.yml (its ${VARS}
filled from the environment, as in the containers) and bot/credentials.yml;
nginx runs a copy of deploy/nginx.conf with only the upstream addresses, the
port and the pid file changed (`render_nginx`); PostgreSQL's client store is
made by deploy/postgres-init.sh. Each Rasa server calls its own action server
(compose: Docker's DNS spreads them over the replicas).

Everything lives in var/scaled/ (emptied at every start): the PostgreSQL
cluster, Redis's folder, nginx's copy of its configuration, the logs in
var/scaled/log/. Passwords and the action secret are new at every start. The
servers are started with deploy/servers.py, the launcher the tests and
benchmarks use too. Ctrl-C (or SIGTERM) stops all of them.

    .venv/bin/python -m deploy.run_scaled        # scripts/run-scaled.sh
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from deploy.servers import (
    APP_PYTHON,
    HOST,
    MODEL,
    Postgres,
    Redis,
    Server,
    ServerFailed,
    base_env,
    free_port,
    rasa_command,
)
from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store

DEPLOY = PROJECT_ROOT / "deploy"
ENDPOINTS = DEPLOY / "endpoints.yml"
NGINX_SOURCE = DEPLOY / "nginx.conf"
POSTGRES_INIT = DEPLOY / "postgres-init.sh"
CREDENTIALS = PROJECT_ROOT / "bot" / "credentials.yml"
DEFAULT_ROOT = PROJECT_ROOT / "var" / "scaled"
DEFAULT_PORT = 8080
NGINX = Path("/usr/sbin/nginx")
# The compose service names in deploy/nginx.conf and the lines naming them.
RASA_SERVICES = ("rasa-1", "rasa-2")
# The tracker store's and the client store's users and databases, as the
# compose file's defaults (deploy/polkuopas.env.example).
TRACKER_DB = "rasa"
CLIENT_DB = "polkuopas"
RASA_LIMIT = 400.0
DEMO_STAFF = {
    "demo-tyontekija": "tyontekija@esimerkki.fi",
    "demo-polun-omistaja": "polun-omistaja@esimerkki.fi",
    "demo-admin": "admin@esimerkki.fi",
}

Say = Callable[[str], None]


def render_nginx(
    source: str, *, port: int, rasa: list[int], web: int, root: Path
) -> str:
    """deploy/nginx.conf for this machine: the compose services' addresses
    replaced by loopback ports, the listening address, the pid file and the
    error log in `root`. Anything else stays as it is; a line that moved in
    the source stops this (tests/scaleout/test_run_scaled.py)."""
    changes = {
        "pid /tmp/nginx.pid;": (
            f"pid {root / 'nginx.pid'};\nerror_log {root / 'log' / 'nginx.log'};"
        ),
        "listen 8080;": f"listen {HOST}:{port};",
        "server web:8000;": f"server {HOST}:{web};",
        **{
            f"server {name}:5005 ": f"server {HOST}:{rasa_port} "
            for name, rasa_port in zip(RASA_SERVICES, rasa, strict=True)
        },
    }
    for old, new in changes.items():
        if source.count(old) != 1:
            raise ServerFailed(f"{NGINX_SOURCE}: expected `{old}` once")
        source = source.replace(old, new)
    return source


@dataclass
class Scaled:
    """The running shape: its servers, their addresses and secrets."""

    root: Path
    port: int
    say: Say = print
    postgres: Postgres | None = None
    redis: Redis | None = None
    servers: dict[str, Server] = field(default_factory=dict)
    client_password: str = field(default_factory=lambda: secrets.token_hex(24))
    action_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    staff_signins: dict[str, str] = field(default_factory=dict)
    # More settings for every server (the benchmarks raise the rate limits).
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # PostgreSQL's tools run in its own folder: every path absolute.
        self.root = self.root.resolve()

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def url(self) -> str:
        """The one public address (nginx)."""
        return f"http://{HOST}:{self.port}"

    @property
    def client_db(self) -> str:
        """POLKUOPAS_DB of every server and of the CLI: the client store."""
        assert self.postgres is not None
        return (
            f"postgresql://{CLIENT_DB}:{self.client_password}@{HOST}:"
            f"{self.postgres.port}/{CLIENT_DB}"
        )

    @property
    def rasa_urls(self) -> list[str]:
        return [self.servers[f"rasa-{n}"].url for n in (1, 2)]

    # --- starting ---------------------------------------------------------------

    def start(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.log.mkdir(parents=True)
        self.start_postgres()
        self.start_redis()
        self.seed_demo()
        actions = [self.start_action_server(n) for n in (1, 2)]
        self.start_rasa(actions)
        self.start_web()
        self.start_nginx()

    def stage(self, label: str, detail: str) -> None:
        self.say(f"==> {label}: {detail}")

    def start_postgres(self) -> None:
        self.postgres = Postgres.start(self.root, user=TRACKER_DB, database=TRACKER_DB)
        # The client store's own user and database, as on compose's first start.
        env = {
            **os.environ,
            "PATH": f"{self.postgres.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PGHOST": str(self.postgres.root),
            "PGPORT": str(self.postgres.port),
            "POSTGRES_USER": TRACKER_DB,
            "POSTGRES_DB": TRACKER_DB,
            "CLIENT_DB_NAME": CLIENT_DB,
            "CLIENT_DB_USER": CLIENT_DB,
            "CLIENT_DB_PASSWORD": self.client_password,
        }
        with (self.log / "postgres-init.log").open("w") as log:
            subprocess.run(
                ["sh", str(POSTGRES_INIT)], env=env, check=True, stdout=log, stderr=log
            )
        self.stage(
            "PostgreSQL (tracker and client stores)",
            f"ready ({HOST}:{self.postgres.port}, {self.postgres.version()})",
        )

    def start_redis(self) -> None:
        self.redis = Redis.start(self.root)
        self.stage("Redis (lock store)", f"ready ({HOST}:{self.redis.port})")

    def seed_demo(self) -> None:
        cli = [str(APP_PYTHON.parent / "polkuopas")]
        env = {**self.app_env(), "POLKUOPAS_LOG_FORMAT": "text"}
        with (self.log / "demo.log").open("w") as log:
            run = partial(
                subprocess.run,
                env=env,
                cwd=PROJECT_ROOT,
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
            run([*cli, "demo"])
            # The demo staff accounts get new passwords at every start (as in
            # scripts/run.sh).
            for staff, email in DEMO_STAFF.items():
                password = secrets.token_urlsafe(15)
                run([*cli, "staff", "password", staff], input=password + "\n")
                self.staff_signins[email] = password
        self.stage("demo data", "ready (in PostgreSQL, with staff passwords)")

    def app_env(self, **settings: str) -> dict[str, str]:
        return {
            **base_env(),
            "POLKUOPAS_DB": self.client_db,
            **self.extra_env,
            **settings,
        }

    def cors_origins(self) -> list[str]:
        return [f"http://localhost:{self.port}", f"http://{HOST}:{self.port}"]

    def launch(self, name: str, command: list[str], env, health: str) -> Server:
        server = Server(
            name=name,
            command=command,
            port=free_port(),
            health_path=health,
            log=self.log / f"{name}.log",
            env=env,
        )
        # The port is chosen first: the command and environment name it.
        server.command = [part.replace("{port}", str(server.port)) for part in command]
        server.env = {
            key: value.replace("{port}", str(server.port)) for key, value in env.items()
        }
        self.servers[name] = server
        server.launch()
        return server

    def start_action_server(self, number: int) -> Server:
        server = self.launch(
            f"action-{number}",
            [str(APP_PYTHON), "-m", "polkuopas.action_server"],
            self.app_env(
                POLKUOPAS_ACTION_HOST=HOST,
                POLKUOPAS_ACTION_PORT="{port}",
                POLKUOPAS_ACTION_SECRET=self.action_secret,
            ),
            "/health",
        )
        server.wait_until_up(60)
        self.stage(f"action server {number}", f"ready ({server.url})")
        return server

    def rasa_env(self, action: Server) -> dict[str, str]:
        """What a Rasa service of compose.yml gets, for this machine."""
        assert self.postgres is not None and self.redis is not None
        return self.app_env(
            PYTHONPATH=str(PROJECT_ROOT / "bot"),
            POLKUOPAS_CORS_ORIGINS=",".join(self.cors_origins()),
            POLKUOPAS_REPLY_TIMEOUT="6",
            POLKUOPAS_ACTION_URL=f"{action.url}/webhook",
            POLKUOPAS_ACTION_SECRET=self.action_secret,
            TRACKER_DB_HOST=HOST,
            TRACKER_DB_PORT=str(self.postgres.port),
            TRACKER_DB_NAME=TRACKER_DB,
            TRACKER_DB_USER=TRACKER_DB,
            TRACKER_DB_PASSWORD=self.postgres.password,
            TRACKER_DB_SSLMODE="disable",
            LOCK_STORE_HOST=HOST,
            LOCK_STORE_PORT=str(self.redis.port),
            LOCK_STORE_PASSWORD=self.redis.password,
            LOCK_STORE_DB="1",
            SANIC_PROXIES_COUNT="1",
        )

    def start_rasa(self, actions: list[Server]) -> None:
        if not MODEL.exists():
            raise ServerFailed(f"no trained model at {MODEL}: run `make train` first")
        # Both at once: loading TensorFlow, spaCy and the model takes minutes.
        rasas = [
            self.launch(
                f"rasa-{n}",
                rasa_command(
                    ENDPOINTS, CREDENTIALS, "{port}", "--cors", *self.cors_origins()
                ),
                self.rasa_env(action),
                "/webhooks/rest/",
            )
            for n, action in zip((1, 2), actions, strict=True)
        ]
        for rasa in rasas:
            # The limit counts from the server's own launch (both at once).
            rasa.wait_until_up(RASA_LIMIT)
            self.stage(
                f"Rasa server {rasa.name[-1]}",
                f"ready in {rasa.started_in:.0f} s ({rasa.url})",
            )

    def start_web(self) -> None:
        server = self.launch(
            "web",
            [str(APP_PYTHON), "-m", "polkuopas.web"],
            self.app_env(
                POLKUOPAS_WEB_HOST=HOST,
                POLKUOPAS_WEB_PORT="{port}",
                POLKUOPAS_RASA_URL=f"http://localhost:{self.port}",
                POLKUOPAS_CORS_ORIGINS=",".join(self.cors_origins()),
                POLKUOPAS_LINK_BASE=f"http://localhost:{self.port}/",
                POLKUOPAS_DEMO="true",
                FORWARDED_ALLOW_IPS="*",
            ),
            "/health",
        )
        server.wait_until_up(60)
        self.stage("web app", f"ready ({server.url})")

    def start_nginx(self) -> None:
        if not NGINX.exists():
            raise ServerFailed(
                f"{NGINX} is missing: `make scaleout-deps` installs it "
                "(Debian: apt-get install -y nginx)"
            )
        config = self.root / "nginx.conf"
        config.write_text(
            render_nginx(
                NGINX_SOURCE.read_text(),
                port=self.port,
                rasa=[self.servers[name].port for name in RASA_SERVICES],
                web=self.servers["web"].port,
                root=self.root,
            )
        )
        server = Server(
            name="nginx",
            command=[
                str(NGINX), "-p", str(self.root), "-c", str(config),
                "-e", str(self.log / "nginx.log"), "-g", "daemon off;",
            ],
            port=self.port,
            health_path="/health",
            log=self.log / "nginx-start.log",
        )  # fmt: skip
        self.servers["nginx"] = server
        server.start(20)
        self.stage("nginx (round robin)", f"ready ({self.url})")

    # --- running, stopping -----------------------------------------------------

    def processes(self) -> dict[str, Callable[[], list[int]]]:
        """Each server's processes by name, for the benchmarks' per-process
        CPU and memory (PostgreSQL's backends come and go: asked each time)."""
        named = {
            "rasa-1": "Rasa 1",
            "rasa-2": "Rasa 2",
            "action-1": "action server 1",
            "action-2": "action server 2",
            "nginx": "nginx",
            "web": "web app",
        }
        found: dict[str, Callable[[], list[int]]] = {
            label: self.servers[name].pids for name, label in named.items()
        }
        assert self.postgres is not None and self.redis is not None
        found["PostgreSQL"] = self.postgres.pids
        found["Redis"] = self.redis.pids
        return found

    def first_stopped(self) -> str | None:
        for name, server in self.servers.items():
            if server.process is None or server.process.poll() is not None:
                return name
        if self.redis is not None and self.redis.process.poll() is not None:
            return "redis"
        return None

    def stop(self) -> None:
        # nginx first, the stores last.
        for server in reversed(list(self.servers.values())):
            server.stop()
        self.servers.clear()
        for store in (self.redis, self.postgres):
            if store is not None:
                store.stop()
        self.redis = self.postgres = None

    def issue_token(self, client: str, days: int = 1) -> str:
        store = open_store(self.client_db)
        try:
            admin = Admin(store, load_catalog(PROJECT_ROOT / "paths"), "run-scaled")
            return admin.issue_token(client, days)
        finally:
            store.db.close()


@contextmanager
def running(root: Path, port: int, say: Say = print) -> Iterator[Scaled]:
    """The whole shape, started, then stopped however the block ends."""
    scaled = Scaled(root, port, say)
    try:
        scaled.start()
        yield scaled
    finally:
        scaled.stop()


def instructions(scaled: Scaled) -> str:
    token = scaled.issue_token("demo-suvi")
    rasa = "  ".join(scaled.rasa_urls)
    signins = "".join(
        f"\n    {email:<28} {password}"
        for email, password in scaled.staff_signins.items()
    )
    return f"""
Polkuopas is running in the scale-out shape (deploy/compose.yml, without Docker).
  demo page (open this):       http://localhost:{scaled.port}/
  chat (nginx, round robin):   {scaled.url}/webhooks/rest/webhook
  Rasa servers (direct):       {rasa}
  action servers:              {scaled.servers["action-1"].url}  \
{scaled.servers["action-2"].url}
  PostgreSQL:                  {HOST}:{scaled.postgres.port}  (tracker: database \
{TRACKER_DB}; clients: {CLIENT_DB})
  Redis (locks):               {HOST}:{scaled.redis.port}
  data and logs:               {scaled.root}/  (logs in log/; emptied at every start)
  workspace (professionals):   http://localhost:{scaled.port}/tyotila/kirjaudu
  demo sign-ins (e-mail, password; new at every start):{signins}

The CLI on this shape's client store:
  POLKUOPAS_DB='{scaled.client_db}' .venv/bin/polkuopas client list

Ask as the demo client Suvi (a personal token valid for one day):
  curl -s {scaled.url}/webhooks/rest/webhook \\
    -H 'Authorization: Bearer {token}' \\
    -d '{{"sender": "demo", "message": "kuka on minun työvalmentajani?"}}'

Stop with Ctrl-C."""


def main() -> int:
    port = int(os.environ.get("POLKUOPAS_SCALED_PORT", DEFAULT_PORT))

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    scaled = Scaled(DEFAULT_ROOT, port)
    try:
        scaled.start()
        print(instructions(scaled), flush=True)
        while (stopped := scaled.first_stopped()) is None:
            time.sleep(1)
        print(f"{stopped} stopped unexpectedly; see {scaled.log}/", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (ServerFailed, subprocess.CalledProcessError, RuntimeError) as failed:
        print(f"failed: {failed}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not leave half of it running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\n==> stopping the servers (Rasa may take half a minute)", flush=True)
        scaled.stop()
        print("Polkuopas stopped.")


if __name__ == "__main__":
    sys.exit(main())
