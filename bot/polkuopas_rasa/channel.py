"""Polkuopas's input channel for Rasa: the REST channel with personal tokens.

Same URL and body as Rasa's REST channel (`POST /webhooks/rest/webhook`,
`{"sender": ..., "message": ...}`), plus identity: the client's personal token
travels as `Authorization: Bearer <token>`. The channel checks its SHA-256 hash
against the client store (POLKUOPAS_DB: the SQLite file read-only, or a
postgresql:// URL through psycopg2) and passes on only the pseudonymous client
id, in the message metadata under "polkuopas". The raw token never reaches the
tracker store or the logs.

Isolation: the conversation id is derived from the checked identity, so a
`sender` value can never open another client's conversation:
`c:<client id>:<sender>` for an identified client, `anon:<sender>` otherwise.
Metadata and `input_channel` sent by the browser are ignored.

Personal data: before a message reaches Rasa (its NLU, the conversation store,
any log), personal identity codes, phone numbers, e-mail addresses, IBANs and
card numbers are replaced by placeholders (polkuopas_contract.personal_data);
the client is told once per conversation what was removed and why.

Other languages: a message clearly in Swedish or English
(polkuopas_rasa.language) reaches Rasa as the intent `other_language` with the
language, and is answered in that language.

Deleting: `POST /webhooks/rest/conversation/delete` with the same body's
`sender` (and the same token) deletes the conversation and all its events from
Rasa's conversation store (polkuopas_rasa.conversations).

Rate limit: each client (its token when valid, otherwise its address) may send
POLKUOPAS_RATE_LIMIT_PER_MINUTE messages a minute after a burst of
POLKUOPAS_RATE_LIMIT_BURST (the POLKUOPAS_RATE_LIMIT_ADDRESS_* pair without a
valid token); over it the answer is 429 with Retry-After and a polite message,
and Rasa never sees the message.

Runs inside Rasa (Python 3.10): standard library and Rasa's own Sanic only, and
the contract package (polkuopas_contract: settings and defaults, identity
words, token parsing, the rate limiter) that the app side reads too. The token
check is polkuopas_rasa.tokencheck; constructing the channel installs
polkuopas_rasa.speedups (Rasa builds its input channels before the model),
and once the server has started (the model loaded) the channel freezes what
is in memory (`speedups.freeze_loaded_model`, POLKUOPAS_GC_FREEZE).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import urllib.request
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from polkuopas_contract import (
    IDENTITY_KEY,
    VALID,
    ChannelSettings,
    IdentityMetadata,
    bearer_token,
)
from polkuopas_contract.personal_data import mask, notice_fi
from polkuopas_contract.ratelimit import ClientLimits
from polkuopas_rasa import language, speedups
from polkuopas_rasa.conversations import CannotDelete, delete_conversation
from polkuopas_rasa.tokencheck import TokenStore, token_store

log = logging.getLogger("polkuopas.channel")

SENDER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_MESSAGE_CHARS = 2000

TOO_LONG = (
    "Viestisi on liian pitkä. Kirjoita lyhyempi viesti, enintään "
    f"{MAX_MESSAGE_CHARS} merkkiä."
)
# When the action server is down or slow, the client still gets an answer
# within a few seconds, and the next message tries again.
UNAVAILABLE = (
    "En pysty juuri nyt hakemaan tietojasi. Yritä hetken päästä uudelleen. "
    "Jos asia on kiireellinen, soita omalle työntekijällesi tai hyvinvointialueesi "
    "sosiaalipalvelujen neuvontaan. Hätätilanteessa soita 112."
)
TOO_FAST = (
    "Lähetit viestejä nopeammin kuin ehdin vastata. Odota hetki. "
    "Lähetä viestisi sitten uudelleen."
)


# The intent a message in another language becomes (see the module docstring).
OTHER_LANGUAGE_INTENT = "other_language"
# Conversations already told about removed personal data (per process; with
# several Rasa servers a client may be told once by each).
TOLD_LIMIT = 10000


def other_language_message(lang: str) -> str:
    """What Rasa receives for a message in another language: the intent and
    the language, not the client's words."""
    return "/" + OTHER_LANGUAGE_INTENT + json.dumps({"language": lang})


def message_for_rasa(text: str) -> str:
    """What Rasa receives for a client's (masked) message: a message clearly
    in Swedish or English becomes the intent `other_language` with the
    language; a button payload ("/...") and everything else go as they are.
    `make eval-nlu` measures the models through this too."""
    if text.startswith("/"):
        return text
    lang = language.detect(text)
    return text if lang == language.FINNISH else other_language_message(lang)


def rate_limits(settings: ChannelSettings) -> ClientLimits:
    """The channel's `ClientLimits` from the POLKUOPAS_RATE_LIMIT_* settings."""
    return ClientLimits.from_settings(
        settings.rate_limit_per_minute,
        settings.rate_limit_burst,
        settings.rate_limit_address_per_minute,
        settings.rate_limit_address_burst,
    )


def action_server_up(action_url: str, timeout: float = 1.0) -> bool:
    """Does the action server answer its health check?"""
    health = action_url.rsplit("/", 1)[0] + "/health"
    try:
        with urllib.request.urlopen(health, timeout=timeout) as answer:
            return answer.status == 200
    except OSError:
        return False


class NamedCollectingOutputChannel(CollectingOutputChannel):
    """Rasa's collector, keeping the message name the actions attach
    ("polkuopas_message"): the widget sends it back as the feedback topic."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        name = message.get("polkuopas_message")
        before = len(self.messages)
        await super().send_response(recipient_id, message)
        if isinstance(name, str):
            for collected in self.messages[before:]:
                collected["polkuopas_message"] = name


def conversation_id(identity: IdentityMetadata, sender: str) -> str:
    if identity["identity"] == VALID:
        return f"c:{identity['client_id']}:{sender}"
    return f"anon:{sender}"


def _bad_request(message: str) -> HTTPResponse:
    return response.json({"error": message}, status=400)


def read_body(request: Request) -> tuple[dict[str, Any], str] | HTTPResponse:
    """The JSON body and its checked `sender`, or the 400 answer to give."""
    try:
        body = request.json
    except Exception:  # Sanic raises on a body that is not JSON
        return _bad_request("the body must be a JSON object")
    if not isinstance(body, dict):
        return _bad_request("the body must be a JSON object")
    sender = body.get("sender")
    if not isinstance(sender, str) or not SENDER_RE.match(sender):
        return _bad_request("'sender' must be 1-64 letters, digits, '.', '_' or '-'")
    return body, sender


class TokenRestInput(InputChannel):
    """Rasa's REST channel URL and body, with the personal token checked."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """POLKUOPAS_DB, else `db` in bot/credentials.yml, else the default."""
        settings = ChannelSettings.from_env(db=(credentials or {}).get("db"))
        return cls(token_store(settings.db), settings=settings)

    def __init__(
        self,
        tokens: TokenStore,
        limits: ClientLimits | None = None,
        settings: ChannelSettings | None = None,
    ):
        self.settings = settings or ChannelSettings.from_env()
        self.tokens = tokens
        self.limits = limits if limits is not None else rate_limits(self.settings)
        self._told: OrderedDict[str, None] = OrderedDict()
        # Before the first message: the language models take a second to load.
        language.load()
        # Rasa builds its input channels before it loads the model: the
        # speed-ups go in now (on another Rasa version they refuse, with a
        # warning); gc.freeze waits for the model (`blueprint`).
        self.gc_freeze = speedups.gc_freeze_wanted()
        speedups.install()

    def tell_once(self, conversation: str) -> bool:
        """True the first time a conversation has personal data removed."""
        if conversation in self._told:
            return False
        self._told[conversation] = None
        while len(self._told) > TOLD_LIMIT:
            self._told.popitem(last=False)
        return True

    def identify(self, request: Request) -> tuple[IdentityMetadata, Any]:
        """Who sends (the token checked) and the rate limit's verdict on it."""
        raw = bearer_token(request.headers.get("authorization"))
        identity = self.tokens.check(raw)
        verdict = self.limits.check(
            raw if identity["identity"] == VALID else None,
            request.remote_addr or request.ip,
        )
        return identity, verdict

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint("polkuopas_rest", __name__)

        @webhook.listener("after_server_start")
        async def model_loaded(app: Any, loop: Any) -> None:
            # Rasa loads the model in before_server_start.
            speedups.freeze_loaded_model(self.gc_freeze)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            checked = read_body(request)
            if isinstance(checked, HTTPResponse):
                return checked
            body, sender = checked
            text = body.get("message")
            if not isinstance(text, str):
                return _bad_request("'message' must be a string")
            identity, verdict = self.identify(request)
            client = identity.get("client_id") or "-"
            if not verdict.allowed:
                if verdict.refused_in_row == 1:  # once per flood, not per message
                    log.warning("rate limit reached (client=%s)", client)
                return response.json(
                    [{"recipient_id": sender, "text": TOO_FAST}],
                    status=429,
                    headers={"Retry-After": str(verdict.retry_after)},
                )
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json([{"recipient_id": sender, "text": TOO_LONG}])
            if not text.strip():
                return response.json([])
            conversation = conversation_id(identity, sender)
            masked = mask(text)
            text = masked.text
            notices = []
            if masked.changed and self.tell_once(conversation):
                notices.append(
                    {
                        "recipient_id": sender,
                        "text": notice_fi(masked.found),
                        "polkuopas_message": "personal_data_removed",
                    }
                )
            text = message_for_rasa(text)
            collector = NamedCollectingOutputChannel()
            try:
                await asyncio.wait_for(
                    on_new_message(
                        UserMessage(
                            text,
                            collector,
                            conversation,
                            input_channel=self.name(),
                            metadata={IDENTITY_KEY: identity},
                        )
                    ),
                    timeout=self.settings.reply_timeout,
                )
            except asyncio.TimeoutError:
                log.warning(
                    "no reply within %ss (client=%s)",
                    self.settings.reply_timeout,
                    client,
                )
                return response.json([{"recipient_id": sender, "text": UNAVAILABLE}])
            except Exception:
                # Never log the message text or the token.
                log.exception("message handling failed (client=%s)", client)
                return response.json(
                    {"error": "the assistant failed to answer"}, status=500
                )
            if not collector.messages:
                # Rasa answers nothing when a custom action could not be run.
                up = await asyncio.get_running_loop().run_in_executor(
                    None, action_server_up, self.settings.action_url
                )
                if not up:
                    log.warning("action server unreachable (client=%s)", client)
                    return response.json(
                        [{"recipient_id": sender, "text": UNAVAILABLE}]
                    )
            # The client sees their own `sender`, not the internal conversation id.
            for message in collector.messages:
                message["recipient_id"] = sender
            return response.json(notices + collector.messages)

        @webhook.route("/conversation/delete", methods=["POST"])
        async def delete(request: Request) -> HTTPResponse:
            checked = read_body(request)
            if isinstance(checked, HTTPResponse):
                return checked
            _, sender = checked
            identity, verdict = self.identify(request)
            client = identity.get("client_id") or "-"
            if not verdict.allowed:
                return response.json(
                    {"error": "too many requests"},
                    status=429,
                    headers={"Retry-After": str(verdict.retry_after)},
                )
            conversation = conversation_id(identity, sender)
            try:
                deleted = await delete_conversation(request.app.ctx.agent, conversation)
            except CannotDelete as error:
                log.error("conversation store %s cannot delete", error)
                return response.json(
                    {"error": "this conversation store cannot delete"}, status=501
                )
            self._told.pop(conversation, None)
            log.info("conversation deleted (client=%s, events=%d)", client, deleted)
            return response.json({"deleted": True, "events": deleted})

        return webhook
