"""Start and stop real servers on loopback, each in its own process group:
what `make run-scaled` (deploy/run_scaled.py) is built from, and what the
tests and benchmarks start their servers with.

* `Server`: a subprocess on a loopback port with its log, waited for until a
  health URL answers 200; `stop` ends exactly its process group.
* `Postgres`, `Redis`: throwaway servers from Debian's packages in their own
  folders, on free ports, with random passwords; the system's own clusters
  and services are never touched. PostgreSQL refuses to run as root: as root
  the cluster belongs to the `postgres` system user (its binaries run through
  `runuser`); as anyone else it belongs to the current user.
* `pids()` on each, and `process_usage`: the processes a server runs as, and
  their CPU time and resident memory from /proc (the benchmarks' per-process
  figures).

Nothing here imports the tests or the benchmarks (tests/test_layering.py).
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from polkuopas.settings import PROJECT_ROOT

HOST = "127.0.0.1"
APP_PYTHON = Path(sys.executable)
BOT_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = PROJECT_ROOT / "bot" / "models" / "polkuopas.tar.gz"
POSTGRES_ROOT = Path("/usr/lib/postgresql")
REDIS_SERVER = Path("/usr/bin/redis-server")
INSTALL_HINT = "`make test` installs it (Debian: apt-get install -y {package})"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(Exception):
    """A server did not start, or stopped while it was used."""


class Missing(Exception):
    """A server's binaries are not installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def base_env() -> dict[str, str]:
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONUNBUFFERED": "1",
    }


def require_model() -> None:
    if not MODEL.exists():
        raise ServerFailed(f"no trained model at {MODEL}: run `make train` first")


def rasa_command(endpoints: Path, credentials: Path, port: int | str, *extra: str):
    return [
        str(RASA), "run", "--model", str(MODEL), "--endpoints", str(endpoints),
        "--credentials", str(credentials), "--interface", HOST,
        "--port", str(port), *extra,
    ]  # fmt: skip


# --- /proc ----------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on; None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _all_stats() -> dict[int, list[str]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            stats[int(entry.name)] = fields
    return stats


def group_pids(group: int) -> list[int]:
    """The processes of process group `group`."""
    return [pid for pid, f in _all_stats().items() if int(f[2]) == group]


def family_pids(parent: int) -> list[int]:
    """`parent` and its children (a PostgreSQL postmaster and its backends)."""
    stats = _all_stats()
    if parent not in stats:
        return []
    return [parent] + [pid for pid, f in stats.items() if int(f[1]) == parent]


@dataclass(frozen=True)
class Usage:
    """CPU time (user + system, s) and resident memory (kB) of processes."""

    cpu_seconds: float
    rss_kb: int
    processes: int


def process_usage(pids: list[int]) -> Usage:
    """Summed over `pids`: utime + stime from /proc/<pid>/stat and VmRSS from
    /proc/<pid>/status (the processes that have gone count nothing)."""
    ticks = rss = count = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        ticks += int(fields[11]) + int(fields[12])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        rss += int(found.group(1)) if found else 0
        count += 1
    return Usage(ticks / CLOCK_TICKS, rss, count)


# --- a server process ------------------------------------------------------------


@dataclass
class Server:
    name: str
    command: list[str]
    port: int
    health_path: str
    log: Path
    env: dict[str, str] = field(default_factory=base_env)
    cwd: Path = PROJECT_ROOT
    # "a": a server started again under the same name keeps its earlier log.
    log_mode: str = "w"
    process: subprocess.Popen | None = None
    began: float = 0.0
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, limit: float) -> None:
        self.launch()
        self.wait_until_up(limit)

    def launch(self) -> None:
        self.began = time.monotonic()
        with self.log.open(self.log_mode) as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def up(self) -> bool:
        """Has the server started? Raises when it stopped."""
        self.check_alive()
        try:
            response = httpx.get(self.url + self.health_path, timeout=2)
        except httpx.HTTPError:
            return False
        if response.status_code == 200:
            self.started_in = time.monotonic() - self.began
            return True
        return False

    def wait_until_up(self, limit: float) -> None:
        deadline = self.began + limit
        while time.monotonic() < deadline:
            if self.up():
                return
            time.sleep(0.5)
        self.stop()
        raise ServerFailed(
            f"{self.name} did not answer within {limit:.0f}s; "
            f"the end of {self.log}:\n{self.tail()}"
        )

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise ServerFailed(
                f"{self.name} stopped (exit code "
                f"{self.process.returncode if self.process else '-'}); "
                f"the end of {self.log}:\n{self.tail()}"
            )

    def pids(self) -> list[int]:
        """The server's processes (its process group)."""
        return group_pids(self.process.pid) if self.process is not None else []

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's processes (its group)."""
        return process_usage(self.pids()).cpu_seconds

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20) -> subprocess.Popen | None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return process
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return process
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        return process


# --- PostgreSQL and Redis from Debian's packages ---------------------------------


def postgres_bin() -> Path:
    """The newest PostgreSQL installed by Debian (/usr/lib/postgresql/<ver>/bin)."""
    found = sorted(
        (int(d.name), d / "bin")
        for d in (POSTGRES_ROOT.iterdir() if POSTGRES_ROOT.is_dir() else [])
        if re.fullmatch(r"\d+", d.name) and (d / "bin" / "initdb").exists()
    )
    if not found:
        raise Missing(
            f"no PostgreSQL server binaries under {POSTGRES_ROOT}/<version>/bin: "
            + INSTALL_HINT.format(package="postgresql")
        )
    return found[-1][1]


def _run(argv: list[str], what: str, **kwargs) -> str:
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=60, **kwargs
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}):\n"
            f"{(result.stdout + result.stderr)[-3000:]}"
        )
    return result.stdout


@dataclass
class Postgres:
    """A PostgreSQL cluster in a temporary folder, on 127.0.0.1:`port`."""

    bin: Path
    root: Path
    port: int
    user: str = "polkuopas"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    database: str = "rasa"
    as_user: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @classmethod
    def start(cls, parent: Path | None = None, **fields) -> Postgres:
        """A new cluster in a new folder in `parent` (a temporary folder by
        default); `fields` (user, database) as the dataclass takes them."""
        bindir = postgres_bin()
        as_user: list[str] = []
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise Missing(
                    "running as root, and there is no `postgres` system user to "
                    "run PostgreSQL as: " + INSTALL_HINT.format(package="postgresql")
                ) from exc
            as_user = ["runuser", "-u", "postgres", "--"]
        # As root, in /tmp itself: the postgres user must reach the folder (a
        # TMPDIR inside root's own 0700 folders would not do).
        tmp = "/tmp" if owner is not None else None
        root = Path(tempfile.mkdtemp(prefix="polkuopas-pg-", dir=parent or tmp))
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        server = cls(bindir, root, free_port(), as_user=as_user, **fields)
        try:
            server._init_and_start(owner)
        except BaseException:
            server.stop()
            raise
        return server

    def _pg(self, tool: str, *args: str, what: str) -> str:
        return _run([*self.as_user, str(self.bin / tool), *args], what, cwd=self.root)

    def _init_and_start(self, owner: pwd.struct_passwd | None) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if owner is not None:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        self._pg(
            "initdb",
            "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
            # Over TCP a password is required (as in deploy/); the socket in
            # the private folder is for the set-up.
            "--auth-host=scram-sha-256", "--auth-local=trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            what="initdb",
        )  # fmt: skip
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        self._pg(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "60", "start",
            what=f"starting PostgreSQL (log: {self.log})",
        )  # fmt: skip
        self._pg(
            "createdb", "-h", str(self.root), "-p", str(self.port), "-U", self.user,
            self.database,
            what="createdb",
        )  # fmt: skip

    def psql(self, *args: str, stdin: str | None = None) -> str:
        """psql over TCP with the password, as Rasa connects."""
        return _run(
            [
                str(self.bin / "psql"), "-X", "-q", "-A", "-t",
                "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                "-d", self.database, *args,
            ],
            "psql",
            input=stdin,
            env={**os.environ, "PGPASSWORD": self.password},
        )  # fmt: skip

    def url(self, database: str | None = None) -> str:
        """The postgresql:// URL of a database (over TCP, with the password)."""
        return (
            f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/"
            f"{database or self.database}"
        )

    def version(self) -> str:
        return self.psql("-c", "SHOW server_version").strip()

    def pids(self) -> list[int]:
        """The postmaster and its children (a backend per connection, the
        writer, the checkpointer...)."""
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return []
        return family_pids(int(first)) if first.strip().isdigit() else []

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg(
                    "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop",
                    what="stopping PostgreSQL",
                )  # fmt: skip
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Redis:
    """A redis-server on 127.0.0.1:`port`, with a password, saving nothing."""

    root: Path
    port: int
    process: subprocess.Popen
    password: str

    @classmethod
    def start(cls, parent: Path | None = None) -> Redis:
        if not REDIS_SERVER.exists():
            raise Missing(
                f"{REDIS_SERVER} is missing: "
                + INSTALL_HINT.format(package="redis-server")
            )
        root = Path(tempfile.mkdtemp(prefix="polkuopas-redis-", dir=parent))
        port = free_port()
        password = secrets.token_urlsafe(18)
        # The password in a config file in the private folder, never in argv.
        config = (
            f"port {port}\nbind 127.0.0.1\nrequirepass {password}\n"
            f'save ""\nappendonly no\ndir {root}\nlogfile {root / "redis.log"}\n'
        )
        (root / "redis.conf").write_text(config)
        process = subprocess.Popen(
            [str(REDIS_SERVER), str(root / "redis.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = cls(root, port, process, password)
        try:
            server._wait()
        except BaseException:
            server.stop()
            raise
        return server

    def _wait(self, limit: float = 20) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as sock:
                    sock.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                    if b"+PONG" in sock.recv(100):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        log = self.root / "redis.log"
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"redis-server did not start:\n{tail}")

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process.poll() is None else []

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
