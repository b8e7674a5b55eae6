"""The throwaway servers: missing binaries skip outside CI and fail in CI;
a stopped server leaves nothing behind."""

from __future__ import annotations

import socket

import pytest

from deploy import servers

from .conftest import start_or_skip

MISSING = [
    ("PostgreSQL", "POSTGRES_ROOT", servers.Postgres.start),
    ("Redis", "REDIS_SERVER", servers.Redis.start),
]


@pytest.mark.parametrize(("what", "attribute", "start"), MISSING)
def test_missing_server_skips_outside_ci(monkeypatch, tmp_path, what, attribute, start):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(servers, attribute, tmp_path / "not-installed")
    with pytest.raises(pytest.skip.Exception, match="`make test` installs it"):
        start_or_skip(start, what)


@pytest.mark.parametrize(("what", "attribute", "start"), MISSING)
def test_missing_server_fails_in_ci(monkeypatch, tmp_path, what, attribute, start):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(servers, attribute, tmp_path / "not-installed")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        start_or_skip(start, what)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(("what", "start"), [(w, s) for w, _, s in MISSING])
def test_a_stopped_server_leaves_nothing_behind(what, start):
    server = start_or_skip(start, what)
    assert port_open(server.port)
    server.stop()
    assert not server.root.exists()
    assert not port_open(server.port)
