"""Staff accounts: the `polkuopas staff` commands, the password policy, and
what the store keeps (never a password, never a session id)."""

from __future__ import annotations

import io

import pytest

from conftest import BACKENDS
from polkuopas.cli import main
from polkuopas.passwords import password_problem, verify_password
from polkuopas.settings import get_settings
from polkuopas.store import open_store

STORE_BACKENDS = BACKENDS
GOOD = "kolme vihreää omenaa"


@pytest.fixture
def run(env, mini_dir, monkeypatch, capsys):
    monkeypatch.setenv("POLKUOPAS_PATHS_DIR", str(mini_dir))
    get_settings.cache_clear()

    def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert _run("pro", "add", "--id", "aa", "--name", "Anna Oma", "--role",
                "omatyontekija")[0] == 0  # fmt: skip
    return _run


def add_worker(run, staff_id: str = "anna") -> tuple[int, str, str]:
    return run("staff", "add", "--id", staff_id, "--name", "Anna Oma",
               "--email", "Anna.Oma@Esimerkki.fi", "--role", "tyontekija",
               "--pro", "aa")  # fmt: skip


def test_staff_add_and_list(run):
    assert add_worker(run)[0] == 0
    code, out, _ = run("staff", "list")
    assert code == 0
    assert out == (
        "anna\ttyontekija\tanna.oma@esimerkki.fi\taa\tAnna Oma (no password)\n"
    )


def test_staff_add_worker_needs_pro(run):
    code, _, err = run("staff", "add", "--id", "x", "--name", "X", "--email",
                       "x@esimerkki.fi", "--role", "tyontekija")  # fmt: skip
    assert code == 2
    assert "--pro" in err and err.count("\n") == 1


def test_staff_add_unknown_pro_fails_and_adds_nothing(run, env):
    code, _, err = run("staff", "add", "--id", "x", "--name", "X", "--email",
                       "x@esimerkki.fi", "--role", "admin",
                       "--pro", "nobody")  # fmt: skip
    assert (code, err) == (2, "polkuopas: error: unknown professional 'nobody'\n")
    assert run("staff", "list")[1] == ""


def test_staff_add_unknown_role_is_a_usage_error(run):
    code, _, err = run("staff", "add", "--id", "x", "--name", "X", "--email",
                       "x@esimerkki.fi", "--role", "pomo")  # fmt: skip
    assert code == 2 and "invalid choice" in err


def test_staff_add_same_email_twice_is_a_conflict(run):
    assert add_worker(run)[0] == 0
    code, _, err = add_worker(run, "anna2")
    assert code == 2 and "already in use" in err


def test_staff_password_from_stdin_is_hashed_with_argon2id(run, env):
    add_worker(run)
    code, out, _ = run("staff", "password", "anna", stdin=GOOD + "\n")
    assert (code, out) == (0, "set the password of anna; other sessions ended\n")
    store = open_store(env)
    try:
        stored = store.staff_password_hash("anna")
        assert stored.startswith("$argon2id$")
        assert GOOD not in stored
        assert verify_password(stored, GOOD)
        assert not verify_password(stored, GOOD + "x")
        entries = [e for e in store.audit_entries("anna")]
        assert [e["action"] for e in entries] == ["add", "set-password"]
        assert all(GOOD not in e["details"] for e in entries)
    finally:
        store.db.close()


@pytest.mark.parametrize(
    "password",
    ["lyhyt", "salasana1234", "Password123456!", "qwertyqwertyqwerty",
     "123456789012345", "anna.oma-on-paras"],
)  # fmt: skip
def test_staff_password_refuses_weak_ones(run, env, password):
    add_worker(run)
    code, _, err = run("staff", "password", "anna", stdin=password + "\n")
    assert code == 2 and err.startswith("polkuopas: error: the password")
    store = open_store(env)
    try:
        assert store.staff_password_hash("anna") is None
    finally:
        store.db.close()


def test_staff_password_unknown_id(run):
    code, _, err = run("staff", "password", "nobody", stdin=GOOD + "\n")
    assert (code, err) == (2, "polkuopas: error: unknown staff member 'nobody'\n")


def test_staff_password_empty_stdin(run):
    add_worker(run)
    code, _, err = run("staff", "password", "anna", stdin="")
    assert (code, err) == (2, "polkuopas: error: no password on standard input\n")


def test_staff_disable_twice(run):
    add_worker(run)
    assert run("staff", "disable", "anna")[:2] == (
        0,
        "disabled staff member anna; ended 0 session(s)\n",
    )
    assert "(disabled)" in run("staff", "list")[1]
    code, _, err = run("staff", "disable", "anna")
    assert code == 2 and "already disabled" in err


def test_store_keeps_only_the_session_ids_hash(store):
    with store.transaction():
        store.add_staff({"id": "m", "name": "M", "email": "m@esimerkki.fi",
                         "role": "admin", "professional_id": None})  # fmt: skip
        store.add_session("raw-session-id", "m", "csrf")
    rows = list(store.db.query("SELECT * FROM staff_sessions"))
    assert len(rows) == 1 and "raw-session-id" not in rows[0].values()
    assert store.find_session("raw-session-id").staff.id == "m"
    assert store.find_session("other") is None


@pytest.mark.sqlite_only
def test_password_problem_accepts_a_passphrase():
    assert password_problem(GOOD) is None
    assert password_problem("Talvi tulee taas 2026") is None


# --- what the workspace's admin pages also do (the CLI keeps parity) ----------


def test_pro_edit_changes_and_clears_contact_details(run, env):
    code, out, _ = run("pro", "edit", "aa", "--phone", "040 123 4567",
                       "--hours", "ma–to klo 9–11")  # fmt: skip
    assert (code, out) == (0, "changed hours, phone of professional aa\n")
    assert run("pro", "edit", "aa", "--phone", "")[0] == 0
    code, _, err = run("pro", "edit", "aa", "--phone", "soita")
    assert code == 2 and "invalid phone number" in err
    assert run("pro", "edit", "nobody", "--hours", "x")[0] == 2
    store = open_store(env)
    try:
        pro = store.get_professional("aa")
        assert (pro.phone, pro.hours) == (None, "ma–to klo 9–11")
        assert [e["action"] for e in store.audit_entries("aa")] == [
            "add", "edit", "edit"]  # fmt: skip
    finally:
        store.db.close()


def test_staff_paths_limit_a_path_owner(run):
    code, _, _ = run("staff", "add", "--id", "pia", "--name", "Pia Polku",
                     "--email", "pia@esimerkki.fi", "--role", "polun_omistaja",
                     "--path", "mini")  # fmt: skip
    assert code == 0
    assert run("staff", "paths", "pia")[1] == "pia: mini\n"
    assert "\tpaths: mini" in run("staff", "list")[1]
    code, _, err = run("staff", "paths", "pia", "--path", "eiole")
    assert code == 2 and "unknown path 'eiole'" in err
    assert run("staff", "paths", "pia", "--clear")[1] == "pia: no paths\n"
    add_worker(run)
    code, _, err = run("staff", "paths", "anna", "--path", "mini")
    assert code == 2 and "only a polun_omistaja" in err


def test_staff_change_role_and_professional(run):
    add_worker(run)
    code, _, err = run("staff", "change", "anna", "--pro", "")
    assert code == 2 and "--pro" in err
    code, out, _ = run("staff", "change", "anna", "--role", "admin", "--pro", "")
    assert (code, out) == (0, "changed staff member anna; ended 0 session(s)\n")
    assert "anna\tadmin\tanna.oma@esimerkki.fi\t-\t" in run("staff", "list")[1]
