"""Fixtures of the scale-out tests: throwaway PostgreSQL and Redis servers.

Both come from Debian's packages, which `make test` installs. Without them the
tests skip with the reason, except in CI (CI=true), where they fail: there the
scale-out shape must be tested.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from .servers import Missing, Postgres, Redis

T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def start_or_skip(start: Callable[[], T], what: str) -> T:
    try:
        return start()
    except Missing as missing:
        if in_ci():
            pytest.fail(f"{what}: {missing} (CI=true: these tests must run)")
        pytest.skip(f"{what}: {missing}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = start_or_skip(Postgres.start, "PostgreSQL")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    server = start_or_skip(Redis.start, "Redis")
    try:
        yield server
    finally:
        server.stop()
