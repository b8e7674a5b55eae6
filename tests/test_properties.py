"""Property-based tests: the path loader and the token check never crash."""

from __future__ import annotations

import copy
import string
from datetime import date, timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MINI_PATH, write_catalog
from polkuopas.catalog import PathFileError, load_catalog
from polkuopas.store import now_utc, open_store

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def mutate(data, path, value):
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


FIELDS = [
    ("id",), ("name",), ("start",), ("follow_up",), ("follow_up", "role"),
    ("follow_up", "earliest_months"), ("steps",), ("steps", 0), ("steps", 0, "id"),
    ("steps", 0, "next"), ("steps", 1, "responsible"), ("steps", 1, "pilot"),
    ("steps", 2, "next"), ("sources",), ("assumptions",), ("sources", 1),
    ("follow_up", "sources"), ("questions",), ("questions", 0),
    ("questions", 0, "ask"), ("questions", 0, "sources"), ("questions", 1, "role"),
]  # fmt: skip


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_loader_accepts_or_names_the_problem(tmp_path_factory, field, value):
    data = mutate(copy.deepcopy(MINI_PATH), field, value)
    directory = tmp_path_factory.mktemp("p")
    write_catalog(directory, paths=[])
    (directory / "mini.yml").write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        load_catalog(directory)
    except PathFileError as error:
        assert str(error).startswith(str(directory / "mini.yml"))
        assert error.message


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(text=st.text(max_size=300))
def test_arbitrary_yaml_text_never_crashes_the_loader(tmp_path_factory, text):
    directory = tmp_path_factory.mktemp("p")
    write_catalog(directory, paths=[])
    (directory / "mini.yml").write_text(text)
    try:
        load_catalog(directory)
    except PathFileError as error:
        assert "mini.yml" in str(error)


TOKEN_CHARS = string.ascii_letters + string.digits + "-_"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(guess=st.text(max_size=80) | st.text(alphabet=TOKEN_CHARS, min_size=43,
                                              max_size=43))  # fmt: skip
def test_no_guess_resolves_to_a_client(tmp_path_factory, guess):
    store = open_store(tmp_path_factory.mktemp("t") / "s.db")

    with store.transaction():
        store.add_client("c1", "mini", "alku", date(2026, 1, 1), "t")
        store.add_token("c1", "the-real-token-" + "x" * 28, now_utc() + timedelta(1))
    check = store.check_token(guess)
    assert (check.status, check.client_id) == ("none", None)
    assert store.check_token("the-real-token-" + "x" * 28).client_id == "c1"
    store.db.close()
