"""Throwaway PostgreSQL and Redis servers from Debian's packages, for the tests.

`make test` installs Debian's `postgresql` and `redis-server` (the Makefile's
scaleout-deps). Each server here runs in its own temporary folder on a free
loopback port, with a random password, and is stopped and removed at the end;
the system's own clusters and services are never touched.

PostgreSQL refuses to run as root: as root the cluster belongs to the
`postgres` system user (its binaries run through `runuser`); as anyone else it
belongs to the current user.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

POSTGRES_ROOT = Path("/usr/lib/postgresql")
REDIS_SERVER = Path("/usr/bin/redis-server")
INSTALL_HINT = "`make test` installs it (Debian: apt-get install -y {package})"
T = TypeVar("T")


class Missing(Exception):
    """A server's binaries are not installed."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def start_or_skip(start: Callable[[], T], what: str) -> T:
    """Start a server; without its binaries skip the test with the reason,
    except in CI (CI=true), where it fails: there these tests must run."""
    import pytest

    try:
        return start()
    except Missing as missing:
        if in_ci():
            pytest.fail(f"{what}: {missing} (CI=true: these tests must run)")
        pytest.skip(f"{what}: {missing}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
            # the private folder is for the test's own set-up.
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
