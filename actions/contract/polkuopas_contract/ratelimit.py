"""Rate limits per client, in memory: a token bucket for each identity.

A client is known by its personal token when it presents a valid one (the
token's SHA-256 hash is the key), otherwise by its remote address. Each key has
a bucket of `burst` requests that refills at `per_minute` a minute; a request
takes one, or is refused with the seconds until one is back. Requests without a
valid token have their own, larger limit: many people can share one address (a
workplace, a school, a reverse proxy).

Memory stays bounded: a key whose bucket has filled up again is the same as an
unknown key and is forgotten, and at most `max_keys` keys are kept (the least
recently seen go first). The buckets belong to one process: with several
processes each has its own.

Standard library only, and Python 3.10 compatible: the web app and the chat
channel (bot/polkuopas_rasa/channel.py, inside Rasa's environment) import it from
the contract package, which both environments install.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from polkuopas_contract import hash_token

DEFAULT_MAX_KEYS = 100_000


@dataclass(frozen=True)
class Verdict:
    """The outcome of one request: allowed when `wait` is 0."""

    wait: float = 0.0  # seconds until the key may send again
    refused_in_row: int = 0  # refusals since the key's last allowed request

    @property
    def allowed(self) -> bool:
        return self.wait == 0.0

    @property
    def retry_after(self) -> int:
        """Whole seconds for the Retry-After header (at least 1)."""
        return max(1, math.ceil(self.wait))


ALLOWED = Verdict()


class RateLimiter:
    """One token bucket per key; `per_minute` 0 means no limit."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not per_minute >= 0:  # also refuses NaN
            raise ValueError(f"per_minute must be 0 (no limit) or more: {per_minute}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1: {burst}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1: {max_keys}")
        self.per_minute = per_minute
        self.burst = burst
        self.max_keys = max_keys
        self._rate = per_minute / 60.0  # requests a second
        self._clock = clock
        self._lock = threading.Lock()
        # key -> [tokens left, last seen, refusals in a row]; least recent first
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str) -> Verdict:
        """Count one request of `key`."""
        if not self.enabled:
            return ALLOWED
        with self._lock:
            now = self._clock()
            bucket = self._buckets.pop(key, None)
            if bucket is None:
                bucket = [float(self.burst), now, 0]
            tokens = min(float(self.burst), bucket[0] + (now - bucket[1]) * self._rate)
            if tokens >= 1.0:
                verdict = ALLOWED
                bucket[:] = [tokens - 1.0, now, 0]
            else:
                refused = int(bucket[2]) + 1
                verdict = Verdict((1.0 - tokens) / self._rate, refused)
                bucket[:] = [tokens, now, refused]
            self._buckets[key] = bucket  # now the most recent
            self._forget(now)
            return verdict

    def _forget(self, now: float) -> None:
        """Drop the least recent keys that are full again, and any over the cap."""
        buckets = self._buckets
        while buckets:
            key, (tokens, last, _) = next(iter(buckets.items()))
            full = tokens + (now - last) * self._rate >= self.burst
            if not full and len(buckets) <= self.max_keys:
                return
            del buckets[key]


class ClientLimits:
    """The two limits of a server: per valid token and per address."""

    def __init__(self, per_token: RateLimiter, per_address: RateLimiter):
        self.per_token = per_token
        self.per_address = per_address

    @classmethod
    def from_settings(
        cls,
        per_minute: float,
        burst: int,
        address_per_minute: float,
        address_burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> ClientLimits:
        return cls(
            RateLimiter(per_minute, burst, clock=clock),
            RateLimiter(address_per_minute, address_burst, clock=clock),
        )

    def check(self, valid_token: str | None, address: str | None) -> Verdict:
        """Count a request: by its token when the token is valid (pass None
        otherwise), else by the remote address."""
        if valid_token:
            return self.per_token.acquire(hash_token(valid_token))
        return self.per_address.acquire(address or "unknown")
