"""The admin CLI: every command, with the bad-input cases, on a small path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import BACKENDS
from polkuopas.cli import main
from polkuopas.settings import get_settings
from polkuopas.store import open_store

# Every command on both stores (tests/conftest.py); the `paths` commands, which
# open no store, and SQLite's own files on SQLite only.
STORE_BACKENDS = BACKENDS


@pytest.fixture
def run(env, mini_dir, monkeypatch, capsys):
    """Run `polkuopas ARGS` in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("POLKUOPAS_PATHS_DIR", str(mini_dir))
    get_settings.cache_clear()

    def _run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run


@pytest.fixture
def client(run):
    """A client `c1` on the mini path with two professionals added."""
    assert run("pro", "add", "--id", "oo", "--name", "Olli Ohjaaja", "--role",
               "ohjaaja", "--phone", "044 000 0001", "--email", "olli@esimerkki.fi",
               "--hours", "ma–pe 9–11")[0] == 0  # fmt: skip
    assert run("pro", "add", "--id", "aa", "--name", "Anna Oma", "--role",
               "omatyontekija")[0] == 0  # fmt: skip
    assert run("client", "add", "--id", "c1", "--path", "mini", "--start",
               "2026-01-05")[0] == 0  # fmt: skip
    return "c1"


def stored(env):
    return open_store(env)


# --- paths -----------------------------------------------------------------


@pytest.mark.sqlite_only
def test_paths_list(run):
    assert run("paths", "list") == (0, "mini\tMinin polku\tPieni polku (3 steps)\n", "")


@pytest.mark.sqlite_only
def test_paths_show(run):
    code, out, _ = run("paths", "show", "mini")
    assert code == 0
    assert "2. Työ [tyo] [pilotti]" in out
    assert "   → loppu — Jos et jatka." in out
    assert "Jälkikontakti [pilotti]: 1–3 kk päättymisen jälkeen, omatyöntekijä" in out


@pytest.mark.sqlite_only
def test_paths_show_json(run):
    code, out, _ = run("paths", "show", "mini", "--json")
    assert code == 0
    assert json.loads(out)["start"] == "alku"


@pytest.mark.sqlite_only
def test_paths_show_unknown(run):
    assert run("paths", "show", "maxi") == (
        2,
        "",
        "polkuopas: error: unknown path 'maxi' (paths: mini)\n",
    )


@pytest.mark.sqlite_only
def test_paths_check_ok(run, mini_dir):
    code, out, _ = run("paths", "check")
    assert code == 0
    assert out == f"ok: 2 roles and 1 paths (3 steps) in {mini_dir}\n"


@pytest.mark.sqlite_only
def test_paths_check_broken_file(run, mini_dir):
    file = mini_dir / "mini.yml"
    file.write_text(file.read_text().replace("  title: Työ\n", ""))
    assert run("paths", "check") == (
        2,
        "",
        f"polkuopas: error: {file}: steps[1].title: required field is missing\n",
    )


@pytest.mark.sqlite_only
def test_paths_check_needs_no_database(run, env):
    run("paths", "check")
    assert not env.exists()


# --- professionals ----------------------------------------------------------


def test_pro_add_and_list(run, client):
    code, out, _ = run("pro", "list")
    assert code == 0
    assert out == "oo\tohjaaja\tOlli Ohjaaja\t\naa\tomatyontekija\tAnna Oma\t\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "velho"], "unknown role 'velho' (roles: ohjaaja, omatyontekija)"),
        (["--role", "ohjaaja", "--phone", "soita"], "invalid phone number 'soita'"),
        (["--role", "ohjaaja", "--email", "ei-osoite"], "invalid email address"),
    ],
)
def test_pro_add_bad_values(run, args, message):
    code, out, err = run("pro", "add", "--id", "x1", "--name", "X", *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"polkuopas: error: {message}")
    assert err.count("\n") == 1


def test_pro_add_bad_id(run):
    code, _, err = run("pro", "add", "--id", "has space", "--name", "X", "--role",
                       "ohjaaja")  # fmt: skip
    assert code == 2
    assert "invalid professional id 'has space'" in err


def test_pro_add_twice(run, client):
    code, _, err = run("pro", "add", "--id", "oo", "--name", "X", "--role", "ohjaaja")
    assert (code, err) == (2, "polkuopas: error: professional 'oo' already exists\n")


def test_duplicated_option_is_refused(run):
    code, _, err = run("pro", "add", "--id", "a", "--id", "b", "--name", "X",
                       "--role", "ohjaaja")  # fmt: skip
    assert code == 2
    assert "--id given more than once" in err


def test_unknown_option_is_refused(run):
    code, _, err = run("pro", "add", "--id", "a", "--name", "X", "--role",
                       "ohjaaja", "--salary", "1")  # fmt: skip
    assert code == 2
    assert "unrecognized arguments: --salary 1" in err


def test_missing_required_option(run):
    code, _, err = run("pro", "add", "--id", "a")
    assert code == 2
    assert "the following arguments are required: --name, --role" in err


def test_unknown_command(run):
    code, _, err = run("client", "delete", "c1")
    assert code == 2
    assert "invalid choice: 'delete'" in err


# --- clients ----------------------------------------------------------------


def test_client_add_defaults_to_first_step(run, client, env):
    assert stored(env).get_client("c1").current_step == "alku"


def test_client_add_at_step_and_start(run, env):
    code, out, _ = run("client", "add", "--id", "c2", "--path", "mini", "--step",
                       "tyo", "--start", "2026-02-01")  # fmt: skip
    assert (code, out) == (0, "added client c2 on mini at step tyo\n")
    assert stored(env).get_client("c2").started_on == "2026-02-01"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--path", "maxi"], "unknown path 'maxi' (paths: mini)"),
        (["--path", "mini", "--step", "kuu"], "unknown step 'kuu' in mini"),
    ],
)
def test_client_add_unknown_ids(run, env, args, message):
    code, out, err = run("client", "add", "--id", "c9", *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"polkuopas: error: {message}")
    assert stored(env).find_client("c9") is None


def test_client_add_bad_date(run):
    code, _, err = run("client", "add", "--id", "c9", "--path", "mini", "--start",
                       "1.2.2026")  # fmt: skip
    assert code == 2
    assert "invalid date '1.2.2026': use YYYY-MM-DD" in err


def test_client_add_twice(run, client):
    code, _, err = run("client", "add", "--id", "c1", "--path", "mini")
    assert (code, err) == (2, "polkuopas: error: client 'c1' already exists\n")


def test_assign_in_another_role_and_show(run, client):
    assert run("client", "assign", "c1", "--role", "ohjaaja", "--pro", "oo")[0] == 0
    # A professional can serve in a role other than their title.
    assert (
        run("client", "assign", "c1", "--role", "omatyontekija", "--pro", "oo")[0] == 0
    )
    code, out, _ = run("client", "show", "c1")
    assert code == 0
    assert out.splitlines() == [
        "client:    c1",
        "path:      mini (Minin polku)",
        "step:      alku — Alku (1/3)",
        "started:   2026-01-05",
        "ended:     -",
        "professionals:",
        "  ohjaaja: Olli Ohjaaja [oo]  044 000 0001, olli@esimerkki.fi, ma–pe 9–11",
        "  omatyontekija: Olli Ohjaaja [oo]  044 000 0001, olli@esimerkki.fi, "
        "ma–pe 9–11",
    ]


def test_show_json(run, client):
    run("client", "assign", "c1", "--role", "omatyontekija", "--pro", "aa")
    code, out, _ = run("client", "show", "c1", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["step"] == {"id": "alku", "title": "Alku", "number": 1, "of": 3}
    assert [(p["role"], p["name"]) for p in data["professionals"]] == [
        ("omatyontekija", "Anna Oma")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--role", "ohjaaja", "--pro", "oo"], "unknown client 'nobody'"),
        (["c1", "--role", "velho", "--pro", "oo"], "unknown role 'velho'"),
        (["c1", "--role", "ohjaaja", "--pro", "zz"], "unknown professional 'zz'"),
    ],
)
def test_assign_unknown_ids(run, client, env, args, message):
    code, _, err = run("client", "assign", *args)
    assert code == 2
    assert err.startswith(f"polkuopas: error: {message}")
    assert stored(env).assignments("c1") == []


def test_unassign(run, client, env):
    run("client", "assign", "c1", "--role", "ohjaaja", "--pro", "oo")
    assert run("client", "unassign", "c1", "--role", "ohjaaja", "--pro", "oo")[0] == 0
    assert stored(env).assignments("c1") == []
    code, _, err = run("client", "unassign", "c1", "--role", "ohjaaja", "--pro", "oo")
    assert code == 2
    assert "is not assigned" in err


def test_advance_at_a_branch_needs_to(run, client):
    assert run("client", "advance", "c1") == (
        2,
        "",
        "polkuopas: error: 'alku' branches; choose one with --to: tyo, loppu\n",
    )


def test_advance_to_invalid_step_lists_valid_ones(run, client, env):
    assert run("client", "advance", "c1", "--to", "kuu") == (
        2,
        "",
        "polkuopas: error: cannot move 'c1' from 'alku' to 'kuu'; "
        "valid next steps: tyo, loppu\n",
    )
    assert stored(env).get_client("c1").current_step == "alku"


def test_advance_along_the_path(run, client, env):
    assert run("client", "advance", "c1", "--to", "tyo") == (
        0,
        "moved c1 to step tyo\n",
        "",
    )
    assert run("client", "advance", "c1")[1] == "moved c1 to step loppu\n"
    code, _, err = run("client", "advance", "c1")
    assert code == 2
    assert "'loppu' is the last step of mini; use 'polkuopas client end c1'" in err
    history = stored(env).step_history("c1")
    assert [(h["from_step"], h["to_step"], h["moved_by"]) for h in history] == [
        (None, "alku", "testaaja"),
        ("alku", "tyo", "testaaja"),
        ("tyo", "loppu", "testaaja"),
    ]


def test_end_schedules_follow_up_from_path_rule(run, client, env):
    run("client", "assign", "c1", "--role", "omatyontekija", "--pro", "aa")
    code, out, _ = run("client", "end", "c1", "--on", "2026-01-31")
    assert (code, out) == (
        0,
        "ended c1; follow-up contact by omatyontekija due 2026-02-28 "
        "(at the latest 2026-04-30)\n",
    )
    assert run("followups") == (
        0,
        "c1\tdue 2026-02-28–2026-04-30\tomatyontekija: Anna Oma [aa]\n",
        "",
    )
    assert run("followups", "--due-before", "2026-02-01")[1] == (
        "no open follow-up contacts due before 2026-02-01\n"
    )
    assert run("followups", "done", "c1")[0] == 0
    assert run("followups")[1] == "no open follow-up contacts\n"
    code, _, err = run("followups", "done", "c1")
    assert code == 2
    assert "already marked done" in err


def test_end_twice_and_advance_after_end(run, client):
    run("client", "end", "c1", "--on", "2026-05-01")
    code, _, err = run("client", "end", "c1")
    assert code == 2
    assert "already ended on 2026-05-01" in err
    code, _, err = run("client", "advance", "c1")
    assert (code, err) == (2, "polkuopas: error: client 'c1' has ended the service\n")


def test_end_before_start_is_refused(run, client):
    code, _, err = run("client", "end", "c1", "--on", "2000-01-01")
    assert code == 2
    assert "is before the start" in err


def test_followup_done_without_followup(run, client):
    code, _, err = run("followups", "done", "c1")
    assert (code, err) == (
        2,
        "polkuopas: error: client 'c1' has no follow-up contact\n",
    )


def test_client_list(run, client):
    run("client", "end", "c1", "--on", "2026-05-01")
    assert run("client", "list")[1] == "c1\tmini\talku\tended 2026-05-01\n"


# --- tokens -----------------------------------------------------------------


def test_token_is_printed_alone_on_last_line_and_works(run, client, env):
    code, out, err = run("client", "token", "c1", "--days", "7")
    token = out.splitlines()[-1]
    assert code == 0
    assert out == token + "\n"
    assert len(token) >= 43  # 256 bits in URL-safe base64
    assert "shown only once" in err
    check = stored(env).check_token(token)
    assert (check.status, check.client_id) == ("valid", "c1")


def test_token_link(run, client, monkeypatch):
    monkeypatch.setenv("POLKUOPAS_LINK_BASE", "https://chat.example.fi/polku")
    get_settings.cache_clear()
    code, out, _ = run("client", "token", "c1", "--link")
    assert code == 0
    assert out.startswith("https://chat.example.fi/polku#token=")


def test_token_revoke(run, client, env):
    token = run("client", "token", "c1")[1].strip()
    assert run("client", "token", "c1", "--revoke")[1] == "revoked 1 token(s) of c1\n"
    assert stored(env).check_token(token).status == "revoked"


@pytest.mark.parametrize("days", ["0", "366", "viikko"])
def test_token_bad_days(run, client, days):
    code, _, err = run("client", "token", "c1", "--days", days)
    assert code == 2
    assert "--days" in err or "number of days" in err


def test_token_unknown_client(run):
    assert run("client", "token", "nobody")[0] == 2


def test_token_is_not_in_the_audit_log(run, client, env):
    token = run("client", "token", "c1")[1].strip()
    entries = stored(env).audit_entries("c1")
    assert [e["action"] for e in entries] == ["add", "issue-token"]
    assert all(token not in json.dumps(e) for e in entries)


# --- audit, environment, entry point ----------------------------------------


def test_every_change_is_audited_with_actor(run, client, env):
    run("client", "assign", "c1", "--role", "ohjaaja", "--pro", "oo")
    run("--by", "anna", "client", "advance", "c1", "--to", "tyo")
    entries = [
        (e["actor"], e["action"], e["entity_id"]) for e in stored(env).audit_entries()
    ]
    assert entries == [
        ("testaaja", "add", "oo"),
        ("testaaja", "add", "aa"),
        ("testaaja", "add", "c1"),
        ("testaaja", "assign", "c1"),
        ("anna", "advance", "c1"),
    ]


@pytest.mark.sqlite_only
def test_db_option_overrides_environment(run, tmp_path):
    other = tmp_path / "other.db"
    assert (
        run("--db", str(other), "client", "add", "--id", "x", "--path", "mini")[0] == 0
    )
    assert open_store(other).find_client("x") is not None


@pytest.mark.sqlite_only
def test_invalid_environment_variable(run, monkeypatch):
    monkeypatch.setenv("POLKUOPAS_TOKEN_DAYS", "paljon")
    get_settings.cache_clear()
    code, _, err = run("client", "list")
    assert code == 2
    assert err.startswith("polkuopas: error: invalid environment variable "
                          "POLKUOPAS_TOKEN_DAYS")  # fmt: skip


@pytest.mark.sqlite_only
def test_not_a_database(run, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite" * 100)
    code, _, err = run("--db", str(junk), "client", "list")
    assert code == 2
    assert err.startswith(f"polkuopas: error: cannot use the database {junk}")


@pytest.mark.sqlite_only
def test_console_script_runs(env, mini_dir):
    result = subprocess.run(
        [sys.executable, "-m", "polkuopas.cli", "--paths-dir", str(mini_dir),
         "paths", "list"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (
        0,
        "mini\tMinin polku\tPieni polku (3 steps)\n",
    )


# --- feedback and contact requests ------------------------------------------


def test_feedback_report_by_topic_and_path(run, client, env):
    store = stored(env)
    with store.transaction():
        store.add_feedback("ask_responsible", True, None, "c1", "mini")
        store.add_feedback("ask_responsible", False, "  liian vaikea  ", "c1", "mini")
        store.add_feedback("path_overview", None, "x" * 5000)
    code, out, _ = run("feedback", "report", "--comments")
    lines = out.splitlines()
    assert code == 0
    assert lines[:3] == [
        "topic\tpath\thelpful\tnot helpful\tcomments",
        "ask_responsible\tmini\t1\t1\t1",
        "path_overview\t-\t0\t0\t1",
    ]
    assert lines[4].endswith("\task_responsible\tliian vaikea")
    assert lines[5].endswith("x" * 1000)  # comments are cut to 1000 characters


def test_feedback_report_empty(run):
    assert run("feedback", "report") == (0, "no feedback yet\n", "")


def test_contact_requests_list_and_done(run, client, env):
    store = stored(env)
    with store.transaction():
        request_id = store.add_contact_request("c1", "ohjaaja", "oo")
    code, out, _ = run("contacts")
    assert code == 0
    assert out.split("\t")[0] == str(request_id)
    assert out.rstrip().endswith("c1\tOlli Ohjaaja [oo]")
    assert run("contacts", "done", str(request_id))[0] == 0
    assert run("contacts")[1] == "no open contact requests\n"
    code, _, err = run("contacts", "done", str(request_id))
    assert (code, err) == (
        2,
        f"polkuopas: error: contact request {request_id} is already handled\n",
    )
    assert run("contacts", "done", "999")[0] == 2
