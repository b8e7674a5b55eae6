"""The contract between Rasa's side and the app side (actions/contract).

Both sides read the same words from it: the identity metadata, the bearer
token, its hash and its query, the channel's settings. These tests hold it to
the client store (SQLite and PostgreSQL), to the app's settings, and to Rasa's
Python 3.10 with the standard library alone.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta, timezone

import pytest

from conftest import BACKENDS, require_bot_python
from polkuopas.settings import PROJECT_ROOT, Settings
from polkuopas.store import now_utc
from polkuopas_contract import (
    IDENTITY_KEY,
    NONE,
    STATUSES,
    TOKEN_QUERY,
    VALID,
    ChannelSettings,
    bearer_token,
    check_token,
    env_name,
    hash_token,
    identity,
    read_identity,
)

STORE_BACKENDS = BACKENDS
TOKEN = "A" * 43


def test_identity_keeps_a_client_id_only_when_valid():
    assert identity(VALID, "c1") == {"identity": "valid", "client_id": "c1"}
    assert identity("expired", "c1") == {"identity": "expired", "client_id": None}
    assert identity(NONE) == {"identity": "none", "client_id": None}
    with pytest.raises(ValueError, match="not an identity status"):
        identity("unknown")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs its client id"):
        identity(VALID)


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({IDENTITY_KEY: {"identity": "valid", "client_id": "c1"}}, ("valid", "c1")),
        ({IDENTITY_KEY: {"identity": "revoked", "client_id": "c1"}}, ("revoked", None)),
        ({IDENTITY_KEY: {"identity": "expired"}}, ("expired", None)),
        ({IDENTITY_KEY: {"identity": "valid", "client_id": ""}}, ("none", None)),
        ({IDENTITY_KEY: {"identity": "valid", "client_id": 7}}, ("none", None)),
        ({IDENTITY_KEY: {"identity": "admin", "client_id": "c1"}}, ("none", None)),
        ({IDENTITY_KEY: "valid"}, ("none", None)),
        ({"other": {"identity": "valid", "client_id": "c1"}}, ("none", None)),
        (None, ("none", None)),
        ("polkuopas", ("none", None)),
    ],
)
def test_read_identity_trusts_only_a_well_formed_entry(metadata, expected):
    read = read_identity(metadata)
    assert (read["identity"], read["client_id"]) == expected
    assert read["identity"] in STATUSES


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Bearer {TOKEN}", TOKEN),
        (f"  bearer   {TOKEN}  ", TOKEN),
        (f"Basic {TOKEN}", None),
        ("Bearer short", None),
        (f"Bearer {TOKEN}!", None),
        (f"Bearer {'x' * 257}", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token(header, expected):
    assert bearer_token(header) == expected


def seed(store) -> dict[str, str]:
    tokens = {
        "good": "good-token-" + "g" * 32,
        "expired": "expired-token-" + "e" * 29,
        "revoked": "revoked-token-" + "r" * 29,
    }
    with store.transaction():
        for client in ("c1", "c2"):
            store.add_client(client, "mini", "alku", date(2026, 1, 5), "t")
        store.add_token("c1", tokens["good"], now_utc() + timedelta(days=1))
        store.add_token("c1", tokens["expired"], now_utc() - timedelta(seconds=5))
        store.add_token("c2", tokens["revoked"], now_utc() + timedelta(days=1))
        store.revoke_tokens("c2")
    return tokens


def test_the_store_keeps_the_contracts_hash(store):
    tokens = seed(store)
    stored = {row[0] for row in store.db.execute("SELECT token_hash FROM tokens")}
    assert stored == {hash_token(raw) for raw in tokens.values()}
    assert hash_token("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_token_query_and_check_on_the_store(store):
    tokens = seed(store)

    def lookup(digest: str):
        return store.db.execute(TOKEN_QUERY, [digest]).fetchone()

    assert check_token(tokens["good"], lookup) == identity(VALID, "c1")
    assert check_token(tokens["expired"], lookup) == identity("expired")
    assert check_token(tokens["revoked"], lookup) == identity("revoked")
    assert check_token("made-up-token-" + "m" * 29, lookup) == identity(NONE)
    assert check_token("", lookup) == identity(NONE)
    assert check_token(None, lookup) == identity(NONE)
    # The store's own check agrees on who the token belongs to.
    for raw in tokens.values():
        check, verdict = store.check_token(raw), check_token(raw, lookup)
        assert check.client_id == verdict["client_id"]
        assert check.valid == (verdict["identity"] == VALID)


def test_check_token_expires_at_the_moment_given():
    expires = "2026-03-01T12:00:00+00:00"
    row = (hash_token(TOKEN), "c1", expires, None)
    at = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    before = at - timedelta(seconds=1)
    assert check_token(TOKEN, lambda _: row, before) == identity(VALID, "c1")
    assert check_token(TOKEN, lambda _: row, at) == identity("expired")
    # A row whose hash is not the token's is no match, whatever the query said.
    other = (hash_token("B" * 43), "c1", expires, None)
    assert check_token(TOKEN, lambda _: other, before) == identity(NONE)


def test_channel_settings_defaults_are_the_apps():
    defaults = ChannelSettings()
    fields = Settings.model_fields
    for name in (
        "action_url",
        "reply_timeout",
        "rate_limit_per_minute",
        "rate_limit_burst",
        "rate_limit_address_per_minute",
        "rate_limit_address_burst",
    ):
        assert fields[name].default == getattr(defaults, name), name
    assert fields["db"].default == PROJECT_ROOT / defaults.db


def test_channel_settings_from_the_environment():
    environ = {
        env_name("reply_timeout"): "2.5",
        env_name("rate_limit_burst"): " 3 ",
        env_name("rate_limit_per_minute"): "",
        env_name("db"): "postgresql://u@h/db",
    }
    settings = ChannelSettings.from_env(environ, db="ignored", action_url="http://a/")
    assert settings == ChannelSettings(
        db="postgresql://u@h/db",
        action_url="http://a/",
        reply_timeout=2.5,
        rate_limit_burst=3,
    )
    assert ChannelSettings.from_env({}, db=None) == ChannelSettings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("rate_limit_burst", "abc", "must be a whole number, 1 or more"),
        ("rate_limit_burst", "2.5", "must be a whole number, 1 or more"),
        ("rate_limit_address_per_minute", "nan", "must be a number, 0 or more"),
        ("rate_limit_per_minute", "-1", "must be a number, 0 or more"),
        ("reply_timeout", "0", "must be a number, more than 0"),
    ],
)
def test_a_bad_channel_setting_names_itself(name, value, message):
    with pytest.raises(ValueError) as raised:
        ChannelSettings.from_env({env_name(name): value})
    assert str(raised.value) == f"{env_name(name)} {message} (got {value!r})"


@pytest.mark.rasa
def test_the_contract_runs_on_rasas_python_with_the_standard_library_alone():
    """`-S`: no site-packages, so an import of anything but the standard
    library fails; the same verdicts and limits as here."""
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(PROJECT_ROOT / 'actions' / 'contract')!r})\n"
        "import polkuopas_contract as c\n"
        "from polkuopas_contract.ratelimit import ClientLimits\n"
        "row = (c.hash_token('t' * 20), 'c1', '2999-01-01T00:00:00+00:00', None)\n"
        "limits = ClientLimits.from_settings(60, 1, 60, 1)\n"
        "print(json.dumps({\n"
        "  'python': '%d.%d' % sys.version_info[:2],\n"
        "  'valid': c.check_token('t' * 20, lambda _: row),\n"
        "  'settings': c.ChannelSettings.from_env({}).__dict__,\n"
        "  'limited': [limits.check('t' * 20, None).allowed for _ in range(2)],\n"
        "}))\n"
    )
    result = subprocess.run(
        [require_bot_python(), "-S", "-c", script],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["python"] == "3.10"
    assert out["valid"] == identity(VALID, "c1")
    assert out["settings"] == ChannelSettings().__dict__
    assert out["limited"] == [True, False]
