"""Fixtures of the scale-out tests: a throwaway Redis server.

The throwaway PostgreSQL (`postgres`) is in tests/conftest.py, shared with the
client store's tests. Both come from Debian's packages, which `make test`
installs. Without them the tests skip with the reason, except in CI (CI=true),
where they fail: there the scale-out shape must be tested.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.servers import Redis

from .servers import in_ci, start_or_skip

__all__ = ["in_ci", "start_or_skip"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    server = start_or_skip(Redis.start, "Redis")
    try:
        yield server
    finally:
        server.stop()
