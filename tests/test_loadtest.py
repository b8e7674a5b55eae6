"""The load test's pure parts (benchmarks/load/): clients, conversations, checks.

The checks are tried on the answers the real custom actions give for what each
message means, so a check that the product's answer cannot pass (or that any
client's answer passes) fails here, not in a ten-minute load run.
"""

from __future__ import annotations

import math
import random
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from benchmarks.load import loadtest, results, scenario
from polkuopas.bot_actions import (
    ActionContact,
    ActionCurrentStep,
    ActionFollowUp,
    ActionGreet,
    ActionNextStep,
    ActionPathOverview,
    ActionResponsible,
    ActionRoleDefinition,
    Services,
)
from polkuopas.messages import Messages
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store

ACTIONS = {
    "greet": ActionGreet,
    "ask_responsible": ActionResponsible,
    "ask_contact": ActionContact,
    "ask_current_step": ActionCurrentStep,
    "ask_next_step": ActionNextStep,
    "ask_path_overview": ActionPathOverview,
    "ask_role_definition": ActionRoleDefinition,
    "ask_follow_up": ActionFollowUp,
}
DOMAIN = yaml.safe_load((PROJECT_ROOT / "bot" / "domain.yml").read_text())


class Always(random.Random):
    """Asks every question (random() is never above 0.85)."""

    def random(self) -> float:
        return 0.0


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    db = tmp_path_factory.mktemp("load") / "store.db"
    clients = scenario.seed(db, 6)
    store = open_store(db)
    yield clients, store
    store.db.close()


@pytest.fixture(scope="module")
def services(seeded, catalog) -> Services:
    return Services(seeded[1], catalog, Messages.load())


async def answer(services: Services, client: scenario.LoadClient, turn) -> list:
    """What the stack answers to `turn` when it is understood as it means."""
    intent, roles = turn.means
    if intent in ("thank", "goodbye"):
        return [{"text": t["text"]} for t in DOMAIN["responses"][f"utter_{intent}"]]
    tracker = Tracker.from_dict(
        {
            "sender_id": "load",
            "slots": {},
            "latest_message": {
                "intent": {"name": intent, "confidence": 0.9},
                "entities": [{"entity": "role", "value": r} for r in roles],
                "text": turn.message,
                "metadata": {
                    "polkuopas": {"identity": "valid", "client_id": client.id}
                },
            },
            "events": [],
        }
    )
    dispatcher = CollectingDispatcher()
    await ACTIONS[intent](services).run(dispatcher, tracker, {})
    return dispatcher.messages


async def whole_conversation(services, catalog, client, seed=0):
    """Every turn of one conversation with its answer, buttons clicked."""
    script = scenario.Script(client, catalog, Always(seed))
    done = []
    for turn in script.conversation():
        pending = turn
        while pending is not None:
            reply = await answer(services, client, pending)
            done.append((pending, reply))
            pending = pending.then(reply) if pending.then else None
    return done


# --- the clients ----------------------------------------------------------------


def test_professional_names_are_unique_and_none_holds_another():
    names = [scenario.professional(i).name for i in range(scenario.MAX_PROFESSIONALS)]
    assert len(set(names)) == len(names)
    # The foreign-name check looks for names as substrings of the answer.
    assert not [(a, b) for a, b in combinations(names, 2) if a in b or b in a]
    with pytest.raises(ValueError):
        scenario.professional(scenario.MAX_PROFESSIONALS)


def test_seed_adds_the_clients_and_the_warm_up_clients_with_tokens(seeded):
    clients, store = seeded
    assert len(clients) == 6 + scenario.WARM_UP_CLIENTS
    assert {c.path_id for c in clients[-scenario.WARM_UP_CLIENTS :]} == {
        p.path_id for p in scenario.PLANS
    }
    for client in clients:
        assert store.check_token(client.token).client_id == client.id
        stored = {(a.role, a.professional.name) for a in store.assignments(client.id)}
        assert stored == {(r, p.name) for r, ps in client.pros.items() for p in ps}
        assert store.get_client(client.id).current_step == client.step_id
    everyone = [n for c in clients for n in c.all_names()]
    assert len(everyone) == len(set(everyone))


def test_seed_refuses_too_many_clients(tmp_path):
    with pytest.raises(ValueError, match="number of clients"):
        scenario.seed(tmp_path / "x.db", scenario.MAX_CLIENTS + 1)


def test_clients_file_keeps_everything_and_only_the_owner_reads_it(seeded, tmp_path):
    clients, _ = seeded
    path = tmp_path / "clients.json"
    scenario.save_clients(clients, path)
    assert path.stat().st_mode & 0o077 == 0
    assert scenario.load_clients(path) == clients
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a token file"):
        scenario.load_clients(path)


# --- the conversations and their checks -------------------------------------------


@pytest.mark.parametrize("number", range(len(scenario.PLANS)))
async def test_every_check_accepts_what_the_actions_answer(
    seeded, services, catalog, number
):
    clients, _ = seeded
    client = clients[number]
    turns = await whole_conversation(services, catalog, client)
    assert [t.kind for t, _ in turns] == list(scenario.KINDS)
    everyone = set().union(*(c.all_names() for c in clients))
    for turn, reply in turns:
        assert scenario.judge(reply, turn, client, everyone) is None, (
            turn.kind,
            turn.message,
            scenario.texts(reply),
        )


@pytest.mark.parametrize("number", range(len(scenario.PLANS)))
async def test_another_clients_answer_fails_the_checks(
    seeded, services, catalog, number
):
    clients, _ = seeded
    client, other = clients[number], clients[number + len(scenario.PLANS)]
    assert client.path_id == other.path_id
    everyone = set().union(*(c.all_names() for c in clients))
    personal = {"who is my X", "how do I reach X", "role definition", "follow-up"}
    for turn, _ in await whole_conversation(services, catalog, client):
        if turn.kind not in personal:
            continue
        reply = await answer(services, other, turn)
        kind, detail = scenario.judge(reply, turn, client, everyone)
        assert kind == "another client's data", detail


def test_judge_names_what_went_wrong():
    client = scenario.LoadClient("load-0001", "p", "s", "t", {})
    turn = scenario.Turn("where am I", "missä oon", ("x", ()), scenario.expect_all("X"))
    cases = {
        "En pysty juuri nyt hakemaan tietojasi. Yritä": (
            "'cannot look up your details' answer"
        ),
        "En ole varma, mitä tarkoitat. Tarkoititko": "not understood (fallback)",
        "Hei hei!": "wrong answer",
    }
    for text, kind in cases.items():
        assert scenario.judge([{"text": text}], turn, client, set())[0] == kind
    assert scenario.judge([{"text": "X"}], turn, client, set()) is None
    assert scenario.judge({"error": "x"}, turn, client, set())[0] == "wrong answer"


def test_conversations_vary_but_always_greet_first_and_say_goodbye_last(
    seeded, catalog
):
    clients, _ = seeded
    script = scenario.Script(clients[0], catalog, random.Random(3))
    seen = [[t.message for t in script.conversation()] for _ in range(20)]
    assert len({tuple(s) for s in seen}) > 10
    kinds = [[t.kind for t in script.conversation()] for _ in range(20)]
    assert all(k[0] == "greet" and k[-2:] == ["thanks", "goodbye"] for k in kinds)


# --- the figures ----------------------------------------------------------------


def records(latencies_ms, error_every=0):
    return [
        results.Record(
            at=i * 0.5,
            kind="who is my X" if i % 3 else "web: identity",
            seconds=ms / 1000,
            error="wrong answer" if error_every and i % error_every == 0 else "",
            detail="'kuka' -> 'Hei'",
        )
        for i, ms in enumerate(latencies_ms)
    ]


def samples(seconds=30):
    return [
        results.Sample(
            at=float(t),
            rss={"Rasa": (1000 + t) * 2**20},
            cpu={"Rasa": t * 0.5},
            load1=1.0 + t / 100,
            machine_busy=t * 1.2,
            own_cpu=t * 0.02,
        )
        for t in range(seconds + 1)
    ]


def summary(recs, goal=500.0):
    return results.summarise(
        recs,
        samples(),
        duration=30,
        goal_ms=goal,
        server_names=["Rasa"],
        conversations=4,
        clients=2,
        cores=2,
        kinds=scenario.KINDS,
    )


def test_windows_that_stand_out_and_slow_requests_that_started_together():
    recs = records([100] * 60)
    # Requests from 10 s to 15 s wait for one long pause.
    recs = [
        results.Record(r.at, r.kind, 1.2 if 10 <= r.at < 15 else r.seconds)
        for r in recs
    ]
    done = summary(recs)
    assert [w.start for w in results.pauses(done)] == [10]
    assert results.pauses(summary(records([100] * 60))) == []
    assert results.together(done.slowest) == 4  # 10.0-11.5 s of the 8 slowest
    assert results.together(done.slowest, within=5) == 8


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert results.percentile(values, 50) == 50
    assert results.percentile(values, 95) == 95
    assert results.percentile(values, 100) == 100
    assert math.isnan(results.percentile([], 95))


def test_summary_meets_the_goal_without_errors_under_the_p95():
    done = summary(records([100] * 60))
    assert done.met and done.failures == []
    assert done.chat.count == 40 and done.web.count == 20
    assert done.rate == 2.0
    [rasa] = done.servers
    assert rasa.rss_start_mb == 1000 and rasa.rss_peak_mb == rasa.rss_end_mb == 1030
    assert rasa.cpu_percent == pytest.approx(50)
    assert done.machine_busy_percent == pytest.approx(60)
    assert done.own_cpu_percent == pytest.approx(2)
    assert [w.requests for w in done.windows] == [20, 20, 20]


def test_summary_misses_the_goal_on_errors_or_a_slow_p95():
    slow = summary(records([100] * 50 + [900] * 10))
    assert slow.failures == ["chat p95 900 ms is not under 500 ms"]
    wrong = summary(records([100] * 60, error_every=10))
    assert wrong.failures == ["6 errors (6 wrong answer)"]
    assert wrong.examples["wrong answer"][0] == "web: identity: 'kuka' -> 'Hei'"
    assert summary([]).failures == ["no chat message was answered"]


def test_report_and_stdout_say_the_verdict_and_the_figures():
    setup = {
        "date": "2026-11-23 12:00 UTC",
        "clients": 2,
        "duration": 30,
        "timeout": 10,
        "machine": {
            "cores": 2,
            "cpu": "x",
            "memory_gb": 1,
            "kernel": "k",
            "load_before": "1/1/1",
            "load_after": "1/1/1",
            "app": "a",
            "bot": "b",
        },
        "items": ["think time 2-6 s"],
    }
    met = summary(records([100] * 60))
    text = results.render(met, setup, ["- a note"])
    assert "**Goal met**" in text
    for heading in ("## Summary", "## Latency by question type", "## Errors"):
        assert heading in text
    assert "| Rasa | 1000 | 1030 | 1030 |" in text
    assert "- think time 2-6 s" in text and "## Reading" in text
    assert f"The {results.SLOWEST} slowest requests" in text
    missed = summary(records([100] * 60, error_every=10))
    text = results.render(missed, setup, [])
    assert "**Goal missed**" in text and "| wrong answer | 6 |" in text
    assert "GOAL MISSED: 6 errors" in results.stdout_summary(missed)


# --- the driver's options ---------------------------------------------------------


def test_endpoints_keep_the_shipped_action_endpoint_and_move_the_tracker_store(
    tmp_path,
):
    shipped = yaml.safe_load((PROJECT_ROOT / "bot" / "endpoints.yml").read_text())
    endpoints = loadtest.endpoints_for(tmp_path / "t.db")
    assert endpoints["action_endpoint"] == shipped["action_endpoint"]
    assert endpoints["tracker_store"]["db"] == str(tmp_path / "t.db")
    assert endpoints["tracker_store"]["type"] == shipped["tracker_store"]["type"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--clients", "0"], "--clients must be"),
        (["--duration", "0"], "--duration"),
        (["--think", "5", "2"], "--think"),
        (["--rasa-url", "http://127.0.0.1:5005"], "both --rasa-url and --clients-file"),
        (["--web-url", "http://127.0.0.1:8000"], "--web-url goes with"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(argv, message, capsys):
    assert loadtest.main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_running_stack_needs_enough_clients_in_the_file(seeded, tmp_path, capsys):
    clients, _ = seeded
    path = tmp_path / "clients.json"
    scenario.save_clients(clients[:4], path)
    argv = ["--rasa-url", "http://127.0.0.1:9", "--clients-file", str(path)]
    assert loadtest.main([*argv, "--clients", "2", "--out", str(tmp_path / "r")]) == 2
    assert "needs 5" in capsys.readouterr().err


def test_stdout_summary_lists_the_servers():
    text = results.stdout_summary(summary(records([100] * 60)))
    assert "Rasa: RSS 1000 -> peak 1030 -> 1030 MB" in text
    assert "GOAL MET" in text


def test_a_reply_is_read_from_rest_messages():
    reply: list[Any] = [
        {"text": "A", "buttons": [{"title": "t", "payload": "/x"}]},
        {"custom": {"type": "polkuopas.path"}},
        "junk",
    ]
    assert scenario.texts(reply) == "A"
    assert scenario.buttons(reply) == [{"title": "t", "payload": "/x"}]
    assert scenario.custom(reply) == [{"type": "polkuopas.path"}]
    assert scenario.texts({"not": "a list"}) == ""
    assert Path(loadtest.__file__).parent.name == "load"
