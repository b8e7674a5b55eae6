"""The chat channel's rate limit (bot/polkuopas_rasa/channel.py), in Rasa's
environment.

The channel runs on Sanic in .venv-rasa, as Rasa runs it, with a stand-in for
Rasa's message handling that answers "vastaus" (no model is loaded: the limit
is the channel's own). Requests go over loopback as the widget's do.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import bot_pythonpath, require_bot_python
from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.settings import PROJECT_ROOT, Settings
from polkuopas.store import open_store

pytestmark = pytest.mark.rasa

SERVER = """
import sys
from sanic import Sanic
from polkuopas_rasa import channel as channel_module

async def on_new_message(message):
    await message.output_channel.send_text_message(message.sender_id, "vastaus")

channel = channel_module.TokenRestInput.from_credentials({})
app = Sanic("channel_ratelimit_test")
app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/rest")
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, motd=False)
"""
# What the channel uses when nothing is set: its settings and limits.
DEFAULTS = """
import json
from polkuopas_rasa.channel import TokenRestInput
channel = TokenRestInput.from_credentials({})
settings, limits = channel.settings, channel.limits
print(json.dumps({
    "POLKUOPAS_DB": str(channel.tokens.path),
    "POLKUOPAS_ACTION_URL": settings.action_url,
    "POLKUOPAS_REPLY_TIMEOUT": settings.reply_timeout,
    "POLKUOPAS_RATE_LIMIT_PER_MINUTE": limits.per_token.per_minute,
    "POLKUOPAS_RATE_LIMIT_BURST": limits.per_token.burst,
    "POLKUOPAS_RATE_LIMIT_ADDRESS_PER_MINUTE": limits.per_address.per_minute,
    "POLKUOPAS_RATE_LIMIT_ADDRESS_BURST": limits.per_address.burst,
}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLKUOPAS_")}
    env.update(PYTHONPATH=bot_pythonpath(), **extra)
    return env


class Channel:
    def __init__(self, root: Path):
        self.db = root / "store.db"
        store = open_store(self.db)
        admin = Admin(store, load_catalog(PROJECT_ROOT / "paths"), "test")
        list(seed_demo(admin))
        self.tokens = {c: admin.issue_token(c, 1) for c in ("demo-suvi", "demo-mika")}
        store.db.close()
        self.log = root / "channel.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = bot_env(
            POLKUOPAS_DB=str(self.db),
            POLKUOPAS_RATE_LIMIT_PER_MINUTE="6",
            POLKUOPAS_RATE_LIMIT_BURST="3",
            POLKUOPAS_RATE_LIMIT_ADDRESS_PER_MINUTE="12",
            POLKUOPAS_RATE_LIMIT_ADDRESS_BURST="2",
        )
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [require_bot_python(), "-c", SERVER, str(self.port)],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the channel stopped:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url[: -len("webhook")], timeout=2).is_success:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        pytest.fail(f"the channel did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def post(self, client: str | None, sender: str = "s1", token: str | None = None):
        headers = {}
        if client or token:
            headers["Authorization"] = f"Bearer {token or self.tokens[client]}"
        return httpx.post(
            self.url,
            json={"sender": sender, "message": "kuka on minun ohjaajani?"},
            headers=headers,
            timeout=10,
        )


@pytest.fixture(scope="module")
def channel(tmp_path_factory):
    channel = Channel(tmp_path_factory.mktemp("channel"))
    channel.start()
    try:
        yield channel
    finally:
        channel.stop()


def test_a_flood_from_one_token_gets_429_with_a_polite_finnish_answer(channel):
    answers = [channel.post("demo-suvi", sender=f"s{i}") for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == [{"recipient_id": "s0", "text": "vastaus"}]
    refused = channel.post("demo-suvi", sender="tulva")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"  # 6 a minute: one every 10 s
    [message] = refused.json()
    assert message["recipient_id"] == "tulva"
    assert message["text"].startswith(
        "Lähetit viestejä nopeammin kuin ehdin vastata. Odota hetki."
    )
    # Another client is not held back by the flood.
    assert channel.post("demo-mika").status_code == 200


def test_without_a_valid_token_the_address_is_counted(channel):
    made_up = "A" * 43
    statuses = [channel.post(None).status_code for _ in range(2)]
    assert statuses == [200, 200]
    # A made-up token is no way round the limit of the address.
    refused = channel.post(None, token=made_up)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    time.sleep(5.2)  # 12 a minute: one more after five seconds
    assert channel.post(None).status_code == 200


def test_the_limit_never_logs_a_token_or_a_message(channel):
    channel.post("demo-mika")
    for _ in range(5):
        channel.post("demo-mika")
    logged = channel.log.read_text()
    assert "rate limit reached (client=demo-mika)" in logged
    assert logged.count("rate limit reached (client=demo-mika)") == 1
    for token in channel.tokens.values():
        assert token not in logged
    assert "ohjaajani" not in logged


def test_the_channel_defaults_are_the_settings_defaults():
    result = subprocess.run(
        [require_bot_python(), "-c", DEFAULTS],
        env=bot_env(),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    defaults = json.loads(result.stdout.strip().splitlines()[-1])
    fields = Settings.model_fields
    assert defaults == {
        f"POLKUOPAS_{name.upper()}": fields[name].default
        for name in (
            "action_url",
            "reply_timeout",
            "rate_limit_per_minute",
            "rate_limit_burst",
            "rate_limit_address_per_minute",
            "rate_limit_address_burst",
        )
    } | {"POLKUOPAS_DB": str(fields["db"].default)}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("POLKUOPAS_RATE_LIMIT_BURST", "abc", "must be a whole number, 1 or more"),
        ("POLKUOPAS_RATE_LIMIT_BURST", "0", "must be a whole number, 1 or more"),
        ("POLKUOPAS_RATE_LIMIT_PER_MINUTE", "-5", "must be a number, 0 or more"),
        ("POLKUOPAS_RATE_LIMIT_ADDRESS_PER_MINUTE", "nan", "must be a number"),
    ],
)
def test_a_bad_setting_stops_the_channel_with_a_clear_message(name, value, message):
    script = (
        "from polkuopas_rasa import channel as c\n"
        "c.TokenRestInput.from_credentials({'db': '/nonexistent.db'})\n"
    )
    result = subprocess.run(
        [require_bot_python(), "-c", script],
        env=bot_env(**{name: value}),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert f"{name} {message}" in result.stderr
    assert f"(got {value!r})" in result.stderr
