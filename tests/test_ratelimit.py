"""Rate limits: the token bucket (polkuopas_contract.ratelimit) and the web API's 429.

The chat channel's limit is tested in tests/test_channel_ratelimit.py (it runs
inside Rasa's environment).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.settings import PROJECT_ROOT, Settings
from polkuopas.store import open_store
from polkuopas.web import create_app
from polkuopas.web.config import WebSettings
from polkuopas_contract.ratelimit import ClientLimits, RateLimiter, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def take(limiter: RateLimiter, key: str, times: int) -> list[Verdict]:
    return [limiter.acquire(key) for _ in range(times)]


# --- the bucket -------------------------------------------------------------


def test_burst_is_allowed_then_refused_with_the_wait(clock):
    limiter = RateLimiter(30, 10, clock=clock)
    assert all(v.allowed for v in take(limiter, "a", 10))
    refused = limiter.acquire("a")
    assert not refused.allowed
    assert refused.wait == pytest.approx(2.0)  # 30 a minute: one every 2 s
    assert refused.retry_after == 2
    assert refused.refused_in_row == 1
    assert limiter.acquire("a").refused_in_row == 2


def test_the_bucket_refills_at_the_rate(clock):
    limiter = RateLimiter(30, 10, clock=clock)
    take(limiter, "a", 10)
    clock.now += 1.9
    assert not limiter.acquire("a").allowed
    clock.now += 0.1
    assert limiter.acquire("a").allowed
    assert not limiter.acquire("a").allowed
    clock.now += 60
    assert all(v.allowed for v in take(limiter, "a", 10))  # never above the burst
    assert not limiter.acquire("a").allowed


def test_a_steady_client_below_the_rate_is_never_refused(clock):
    limiter = RateLimiter(30, 10, clock=clock)
    for _ in range(1000):
        assert limiter.acquire("a").allowed
        clock.now += 2.0


def test_a_flood_gets_the_rate_and_no_more(clock):
    limiter = RateLimiter(30, 10, clock=clock)
    allowed = 0
    for _ in range(241):  # four requests a second for a minute (0-60 s)
        allowed += limiter.acquire("a").allowed
        clock.now += 0.25
    assert allowed == 10 + 30  # the burst, then 30 a minute


def test_keys_are_independent(clock):
    limiter = RateLimiter(30, 2, clock=clock)
    take(limiter, "a", 2)
    assert not limiter.acquire("a").allowed
    assert limiter.acquire("b").allowed


def test_refusals_in_a_row_start_again_after_an_allowed_request(clock):
    limiter = RateLimiter(60, 1, clock=clock)
    limiter.acquire("a")
    assert limiter.acquire("a").refused_in_row == 1
    clock.now += 1
    assert limiter.acquire("a").allowed
    assert limiter.acquire("a").refused_in_row == 1


def test_zero_per_minute_is_no_limit(clock):
    limiter = RateLimiter(0, 1, clock=clock)
    assert not limiter.enabled
    assert all(v.allowed for v in take(limiter, "a", 1000))
    assert len(limiter) == 0


@pytest.mark.parametrize(
    ("per_minute", "burst", "max_keys"),
    [(-1, 10, 5), (math.nan, 10, 5), (30, 0, 5), (30, 10, 0)],
)
def test_bad_limits_are_refused(per_minute, burst, max_keys):
    with pytest.raises(ValueError):
        RateLimiter(per_minute, burst, max_keys=max_keys)


def test_keys_whose_bucket_is_full_again_are_forgotten(clock):
    limiter = RateLimiter(60, 5, clock=clock)
    for key in range(100):
        limiter.acquire(f"k{key}")
    assert len(limiter) == 100
    clock.now += 1  # one second: each bucket has 4 + 1 = 5 again
    limiter.acquire("new")
    assert len(limiter) == 1


def test_memory_is_capped_under_a_flood_of_keys(clock):
    limiter = RateLimiter(1, 5, max_keys=50, clock=clock)
    for key in range(10_000):
        limiter.acquire(f"addr-{key}")
    assert len(limiter) == 50


def test_retry_after_is_whole_seconds_and_at_least_one():
    assert Verdict(0.2, 1).retry_after == 1
    assert Verdict(2.01, 1).retry_after == 3
    assert Verdict().allowed and Verdict(0.5).allowed is False


def test_client_limits_count_a_valid_token_by_its_hash_and_others_by_address(
    clock,
):
    limits = ClientLimits.from_settings(30, 2, 60, 3, clock=clock)
    token = "t" * 43
    assert all(limits.check(token, "10.0.0.1").allowed for _ in range(2))
    assert not limits.check(token, "10.0.0.2").allowed  # the token, wherever from
    assert all(limits.check(None, "10.0.0.1").allowed for _ in range(3))
    assert not limits.check(None, "10.0.0.1").allowed
    assert limits.check(None, "10.0.0.2").allowed
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert list(limits.per_token._buckets) == [digest]  # never the raw token


def test_the_settings_defaults_let_a_person_chat_and_limit_a_flood():
    settings = Settings()
    limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    assert limiter.per_minute == 30 and limiter.burst == 10
    assert settings.rate_limit_address_per_minute > settings.rate_limit_per_minute


# --- the web API ------------------------------------------------------------


def make_app(tmp_path: Path, **limits) -> tuple[TestClient, Admin]:
    db = tmp_path / "api.db"
    store = open_store(db)
    admin = Admin(store, load_catalog(PROJECT_ROOT / "paths"), "test")
    list(seed_demo(admin))
    settings = WebSettings(db=db, paths_dir=PROJECT_ROOT / "paths", demo=True, **limits)
    return TestClient(create_app(settings)), admin


def test_web_api_answers_429_with_retry_after_and_a_json_error(tmp_path):
    client, admin = make_app(tmp_path, rate_limit_per_minute=6, rate_limit_burst=3)
    headers = {"Authorization": f"Bearer {admin.issue_token('demo-suvi', 1)}"}
    with client:
        for _ in range(3):
            assert client.get("/api/identity", headers=headers).status_code == 200
        response = client.get("/api/identity", headers=headers)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "10"
        assert response.json() == {"error": "too many requests: try again in 10 s"}
        assert response.headers["cache-control"] == "no-store"
        # Every API call counts, whatever its body; another token is not limited.
        assert client.post("/api/feedback", json={}, headers=headers).status_code == (
            429
        )
        other = {"Authorization": f"Bearer {admin.issue_token('demo-mika', 1)}"}
        assert client.get("/api/identity", headers=other).status_code == 200
        # Pages are not API calls.
        assert client.get("/roolit").status_code == 200


def test_web_api_counts_callers_without_a_valid_token_by_address(tmp_path):
    client, admin = make_app(
        tmp_path, rate_limit_address_per_minute=6, rate_limit_address_burst=2
    )
    made_up = {"Authorization": "Bearer " + "A" * 43}
    with client:
        assert client.get("/api/identity").status_code == 200
        assert client.get("/api/polut/kuntouttava-tyotoiminta").status_code == 200
        # A made-up token does not open a fresh bucket.
        response = client.get("/api/identity", headers=made_up)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "10"
        token = {"Authorization": f"Bearer {admin.issue_token('demo-suvi', 1)}"}
        assert client.get("/api/identity", headers=token).status_code == 200


def test_web_api_429_can_be_read_by_the_widget_on_another_origin(tmp_path):
    client, _ = make_app(
        tmp_path,
        rate_limit_address_per_minute=1,
        rate_limit_address_burst=1,
        cors_origins="http://intra.example.fi",
    )
    origin = {"Origin": "http://intra.example.fi"}
    with client:
        client.get("/api/identity", headers=origin)
        response = client.get("/api/identity", headers=origin)
    assert response.status_code == 429
    assert response.headers["access-control-allow-origin"] == origin["Origin"]
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()


def test_web_api_limit_off(tmp_path):
    client, _ = make_app(
        tmp_path, rate_limit_per_minute=0, rate_limit_address_per_minute=0
    )
    with client:
        assert all(client.get("/api/identity").status_code == 200 for _ in range(100))
