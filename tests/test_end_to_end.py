"""The whole assistant: Rasa with the token channel, the action server, the store.

Starts both servers on free loopback ports with the trained model
(bot/models/polkuopas.tar.gz, made by `make train`) and talks to them through
the REST channel as the widget and curl do.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.servers import Processes, demo_admin, rasa_config, server_env
from deploy.servers import free_port, rasa_command, require_model
from polkuopas.answers import load_view
from polkuopas.catalog import load_catalog
from polkuopas.questions import personal_reply
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store

pytestmark = pytest.mark.rasa

CATALOG = load_catalog(PROJECT_ROOT / "paths")


class Stack:
    def __init__(self, root: Path):
        self.root = root
        self.db = root / "store.db"
        self.tracker_db = root / "tracker.db"
        self.tokens: dict[str, str] = {}
        self.processes = Processes(root)
        self.url = ""

    @property
    def logs(self) -> list[Path]:
        return list(self.processes.logs.values())

    def seed(self) -> None:
        with demo_admin(self.db) as admin:
            for client in ("demo-suvi", "demo-valtteri", "demo-paattynyt"):
                self.tokens[client] = admin.issue_token(client, 1)
            # A second link of Suvi's, for the tests below: the rate limit is
            # counted per token.
            self.tokens["suvi-2"] = admin.issue_token("demo-suvi", 1)
            self.tokens["revoked"] = admin.issue_token("demo-mika", 1)
            admin.revoke_tokens("demo-mika")

    def new_token(self, client: str) -> str:
        """One more link for a demo client: the rate limit counts per token."""
        with demo_admin(self.db) as admin:
            return admin.issue_token(client, 1)

    def start(self) -> None:
        self.action_port, rasa_port = free_port(), free_port()
        self.env = server_env(self.db, self.action_port, "end-to-end-secret")
        endpoints, credentials = rasa_config(self.root, self.db, self.tracker_db)
        self.start_action_server()
        self.processes.spawn(
            "rasa",
            rasa_command(endpoints, credentials, rasa_port),
            self.env,
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/",
            240,
        )
        self.url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"

    def start_action_server(self) -> None:
        self.processes.spawn(
            "action-server",
            [sys.executable, "-m", "polkuopas.action_server"],
            self.env,
            f"http://127.0.0.1:{self.action_port}/health",
            60,
        )

    def stop_action_server(self) -> None:
        self.processes.stop("action-server", timeout=20)

    def stop(self) -> None:
        self.processes.stop_all()

    def post(self, body, token: str | None = None, header: str | None = None):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if header is not None:
            headers["Authorization"] = header
        return httpx.post(self.url, json=body, headers=headers, timeout=30)

    def ask(self, message: str, token: str | None = None, sender: str = "s1", **kw):
        response = self.post({"sender": sender, "message": message}, token, **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def text(self, *args, **kwargs) -> str:
        return "\n".join(m.get("text") or "" for m in self.ask(*args, **kwargs))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_model()
    stack = Stack(tmp_path_factory.mktemp("stack"))
    stack.seed()
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def test_personal_answer_names_the_clients_own_professional(stack):
    text = stack.text("kuka on minun työvalmentajani?", stack.tokens["demo-suvi"])
    assert "Sari Lehtonen" in text


def test_ambiguous_word_resolved_by_own_assignment(stack):
    valtteri = stack.text("kuka on mun valmentaja", stack.tokens["demo-valtteri"])
    assert "Työhönvalmentajasi on Jenni Koskinen." in valtteri


def test_without_token_personal_question_explains_the_link(stack):
    text = stack.text("kuka on minun työvalmentajani?")
    assert "En tiedä, kuka olet." in text
    assert "Sari" not in text


def test_role_question_works_without_token(stack):
    text = stack.text("mitä työhönvalmentaja tekee?")
    assert text.startswith("Työhönvalmentaja: ")


@pytest.mark.parametrize(
    "header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer x", "token abc", "Bearer a b"]
)
def test_malformed_authorization_is_no_identity(stack, header):
    text = stack.text("kuka on minun työvalmentajani?", header=header)
    assert "En tiedä, kuka olet." in text


def test_made_up_token_is_no_identity(stack):
    text = stack.text("kuka on minun työvalmentajani?", "A" * 43)
    assert "En tiedä, kuka olet." in text


def test_revoked_token_says_the_link_expired(stack):
    text = stack.text("kuka on minun asiakasvastaavani?", stack.tokens["revoked"])
    assert "Linkkisi ei ole enää voimassa." in text
    assert "Laura" not in text


def test_same_sender_with_another_token_sees_only_its_own_data(stack):
    stack.ask("kuka on minun työvalmentajani?", stack.tokens["demo-suvi"], "shared")
    question = "kuka on minun työhönvalmentajani?"
    valtteri = stack.text(question, stack.tokens["demo-valtteri"], "shared")
    anonymous = stack.text(question, sender="shared")
    assert "Jenni Koskinen" in valtteri
    for other in ("Sari Lehtonen", "Anna Virtanen", "Mika Salonen"):
        assert other not in valtteri
        assert other not in anonymous


def test_path_overview_sends_the_timeline_payload(stack):
    messages = stack.ask("piirrä mun polku", stack.tokens["demo-suvi"])
    payloads = [m["custom"] for m in messages if "custom" in m]
    assert [p["current_step"] for p in payloads] == ["tyotehtavat"]
    assert all(m["recipient_id"] == "s1" for m in messages)


# The questions of the review that opened issue 11, as a new client asked them,
# with the topic whose answer each must get. Asked on each path by its demo
# client: the model, the dialogue and the action server together must give the
# client's own path's answer and name the client's own professional.
REVIEW_QUESTIONS = [
    ("mitä tää palvelu oikein on?", "mika_palvelu"),
    ("voinko lopettaa kesken?", "lopettaminen"),
    ("mitä teen jos sairastun?", "sairastuminen"),
    ("kuinka pitkiä päivät on?", "paivat_tunnit"),
    ("miten pitkä jakso on?", "kesto"),
    ("saanko tästä palkkaa?", "raha"),
    ("onko pakko osallistua?", "pakko"),
    ("minne voin tehdä valituksen?", "valitus"),
    ("voiko tätä tehdä kotoa", "etana"),
]


@pytest.mark.parametrize("client", ["demo-suvi", "demo-valtteri", "demo-mika"])
@pytest.mark.parametrize(("question", "topic"), REVIEW_QUESTIONS)
def test_a_question_about_the_service_gets_the_clients_own_answer(
    stack, client, question, topic
):
    store = open_store(stack.db)
    try:
        view = load_view(store, CATALOG, client)
        assert view is not None
        reply = personal_reply(CATALOG, view, topic)
    finally:
        store.db.close()
    assert reply is not None, f"{view.path.id} has no answer on {topic}"
    text = stack.text(question, stack.new_token(client), sender=f"{client}-{topic}")
    assert " ".join(reply.question.answer.split()) in text
    for contact in reply.contacts:
        assert contact.name is None or contact.name in text


def test_illness_names_suvis_own_instructor(stack):
    # The path's own words: tell the ohjaaja, not the omatyöntekijä.
    text = stack.text("mitä teen jos sairastun?", stack.new_token("demo-suvi"))
    assert "Ohjaajasi Mika Salonen kertoo lisää." in text
    assert "040 000 1006" in text


def test_i_cannot_answer_that_offers_topics_the_client_can_click(stack):
    # Another service's question: no answer is guessed, and the reply is not a
    # dead end. Each button is one the assistant answers (here: through Rasa).
    token = stack.new_token("demo-suvi")
    [reply] = stack.ask("paljonko asumistukea voi saada?", token, sender="oos")
    assert reply["text"].startswith("En osaa vastata tähän.")
    payloads = [b["payload"] for b in reply["buttons"]]
    assert len(set(payloads)) == len(payloads) >= 2
    assert "/ask_path_overview" in payloads  # the whole path is always offered
    for payload in payloads:
        answer = stack.ask(payload, token, sender="oos")
        assert answer and not answer[0]["text"].startswith("En osaa vastata")


def test_follow_up_after_the_end(stack):
    text = stack.text(
        "soittaako joku mulle kun tää loppuu", stack.tokens["demo-paattynyt"]
    )
    assert "Anna Virtanen ottaa sinuun yhteyttä" in text


@pytest.mark.parametrize(
    "body",
    [
        {"message": "moi"},
        {"sender": "s1"},
        {"sender": "", "message": "moi"},
        {"sender": "c:demo-suvi:x", "message": "moi"},
        {"sender": "s1", "message": 42},
        ["s1", "moi"],
    ],
)
def test_broken_bodies_get_400(stack, body):
    response = stack.post(body)
    assert response.status_code == 400
    assert "moi" not in response.text


def test_too_long_message_gets_a_clear_answer(stack):
    text = stack.text("a" * 10_000)
    assert "Viestisi on liian pitkä" in text


def test_empty_message_gets_no_answer(stack):
    assert stack.ask("   ") == []


def test_raw_tokens_and_message_texts_are_never_logged(stack):
    stack.ask("moi", stack.tokens["demo-suvi"], "audit")
    stack.ask("salainen kysymys numero 4711", stack.tokens["demo-suvi"], "audit")
    stored = b"".join(
        path.read_bytes()
        for base in (stack.tracker_db, stack.db)
        for path in (base, base.with_name(base.name + "-wal"))
        if path.exists()
    )
    assert b"salainen kysymys" in stored  # the check looks where Rasa writes
    logged = b"".join(log.read_bytes() for log in stack.logs)
    for token in stack.tokens.values():
        assert token.encode() not in stored
        assert token.encode() not in logged
    assert b"salainen kysymys" not in logged


def test_action_server_down_gets_a_polite_answer_and_recovers(stack):
    token = stack.tokens["demo-suvi"]
    stack.stop_action_server()
    try:
        started = time.monotonic()
        text = stack.text("kuka on minun työvalmentajani?", token, "outage")
        assert time.monotonic() - started < 8
        assert text.startswith("En pysty juuri nyt hakemaan tietojasi.")
    finally:
        stack.start_action_server()
    text = stack.text("kuka on minun työvalmentajani?", token, "outage")
    assert "Sari Lehtonen" in text


def test_conversations_are_keyed_by_checked_identity(stack):
    stack.ask("moi", stack.tokens["demo-suvi"], "keyed")
    stack.ask("moi", sender="keyed")
    import sqlite3

    with sqlite3.connect(stack.tracker_db) as conn:
        senders = {row[0] for row in conn.execute("SELECT sender_id FROM events")}
    assert {"c:demo-suvi:keyed", "anon:keyed"} <= senders
    assert all(s.startswith(("c:", "anon:")) for s in senders)


# --- personal data, other languages, deleting (the chat channel) ------------

HETU, PHONE = "010101-123A", "0401234567"


def tracker_rows(stack: Stack, conversation: str) -> list[str]:
    """The conversation's events as stored, decoded (Rasa escapes ä and ö)."""
    import json
    import sqlite3

    with sqlite3.connect(stack.tracker_db) as db:
        return [
            json.dumps(json.loads(row[0]), ensure_ascii=False)
            for row in db.execute(
                "SELECT data FROM events WHERE sender_id = ?", (conversation,)
            )
        ]


def delete_url(stack: Stack) -> str:
    return stack.url.rsplit("/", 1)[0] + "/conversation/delete"


def test_personal_data_is_removed_before_rasa_and_the_client_told_once(stack):
    token = stack.tokens["suvi-2"]
    first = stack.ask(
        f"mulla on hetu {HETU} ja puhelin {PHONE}, kuka on mun ohjaaja", token, "pii"
    )
    texts = [m.get("text") or "" for m in first]
    assert texts[0].startswith(
        "Poistin viestistäsi henkilötunnuksen ja puhelinnumeron."
    )
    # The rest of the message is answered as if the data had not been there.
    assert "Mika Salonen" in "\n".join(texts[1:])
    again = stack.text(f"soita mulle {PHONE}", token, sender="pii")
    assert "Poistin" not in again
    stored = "\n".join(tracker_rows(stack, "c:demo-suvi:pii"))
    assert stored
    assert "[henkilötunnus]" in stored
    for secret in (HETU, PHONE, "123A", "040 123"):
        assert secret not in stored
    for log in stack.logs:
        text = log.read_text(errors="replace")
        assert HETU not in text and PHONE not in text


def test_swedish_and_english_are_answered_in_their_language(stack):
    swedish = stack.text("jag vill prata svenska", sender="sv")
    assert "Polkuopas talar bara finska" in swedish
    english = stack.text("who is my job coach?", stack.tokens["suvi-2"], "en")
    assert "Polkuopas speaks only Finnish" in english
    # The client's own coordinator, by name and number.
    assert "Anna Virtanen" in english and "040 000 1004" in english
    # Finnish without ä and ö stays Finnish.
    finnish = stack.text("kuka on mun tyovalmentaja", stack.tokens["suvi-2"], "fi")
    assert "Sari Lehtonen" in finnish


def test_client_deletes_their_conversation_for_good(stack):
    token = stack.tokens["suvi-2"]
    stack.ask("missä vaiheessa olen?", token, "gone")
    stack.ask("kuka on minun työvalmentajani?", token, "kept")
    assert tracker_rows(stack, "c:demo-suvi:gone")
    url = delete_url(stack)
    response = httpx.post(
        url,
        json={"sender": "gone"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["deleted"] is True
    assert tracker_rows(stack, "c:demo-suvi:gone") == []
    assert tracker_rows(stack, "c:demo-suvi:kept")
    # Without the token the same sender is another (anonymous) conversation:
    # nothing of the client's is touched.
    httpx.post(url, json={"sender": "kept"}, timeout=30)
    assert tracker_rows(stack, "c:demo-suvi:kept")


def test_delete_refuses_a_bad_sender(stack):
    url = delete_url(stack)
    assert httpx.post(url, json={"sender": "../x"}, timeout=30).status_code == 400
    assert httpx.post(url, content=b"nope", timeout=30).status_code == 400
