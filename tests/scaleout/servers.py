"""Throwaway PostgreSQL and Redis servers in the tests: started with
deploy/servers.py (Debian's packages, which `make test` installs); without
them a test skips with the reason, except in CI (CI=true), where it fails:
there these tests must run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from deploy.servers import Missing

T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def start_or_skip(start: Callable[[], T], what: str) -> T:
    """Start a server; without its binaries skip the test with the reason,
    except in CI (CI=true), where it fails."""
    import pytest

    try:
        return start()
    except Missing as missing:
        if in_ci():
            pytest.fail(f"{what}: {missing} (CI=true: these tests must run)")
        pytest.skip(f"{what}: {missing}")
