"""The three service paths and the role catalogue in `paths/`: consistent data."""

from __future__ import annotations

import re

import pytest

from polkuopas.catalog import Catalog

PATH_IDS = {
    "tyohonvalmennus-vammaispalvelut",
    "kuntouttava-tyotoiminta",
    "tyokykytiimi-asiakasvastaava",
}
REQUIRED_ROLES = {
    "tyohonvalmentaja",
    "tyovalmentaja",
    "ohjaaja",
    "sosiaaliohjaaja",
    "omatyontekija",
    "te_asiantuntija",
    "asiakasvastaava",
    "palvelukoordinaattori",
    "asiakasohjaaja",
    "terveydenhoitaja",
    "fysioterapeutti",
    "laakari",
}
# Selkokieli: short sentences. The longest sentence in client-facing text.
MAX_WORDS_PER_SENTENCE = 15


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def test_the_three_paths_from_the_seeds(catalog: Catalog):
    assert set(catalog.paths) == PATH_IDS
    assert catalog.path("tyohonvalmennus-vammaispalvelut").short_name == (
        "Valtterin polku"
    )
    assert catalog.path("kuntouttava-tyotoiminta").short_name == "Suvin polku"


def test_required_roles_exist(catalog: Catalog):
    assert set(catalog.roles) >= REQUIRED_ROLES


def test_every_role_is_used_by_a_path(catalog: Catalog):
    used = set().union(*(p.roles_used() for p in catalog.paths.values()))
    assert set(catalog.roles) - used == set()


@pytest.mark.parametrize("path_id", sorted(PATH_IDS))
def test_every_step_is_in_reading_order_once(catalog: Catalog, path_id):
    path = catalog.path(path_id)
    assert sorted(s.id for s in path.ordered_steps()) == sorted(
        s.id for s in path.steps
    )
    assert path.ordered_steps()[0].id == path.start


@pytest.mark.parametrize("path_id", sorted(PATH_IDS))
def test_each_path_has_a_branch_and_an_end(catalog: Catalog, path_id):
    path = catalog.path(path_id)
    assert any(len(s.next) > 1 for s in path.steps)
    assert any(not s.next for s in path.steps)


@pytest.mark.parametrize("path_id", sorted(PATH_IDS))
def test_each_path_says_what_it_assumed(catalog: Catalog, path_id):
    assert catalog.path(path_id).assumptions


def test_suvi_pilots_and_follow_up(catalog: Catalog):
    path = catalog.path("kuntouttava-tyotoiminta")
    rule = path.follow_up
    assert (rule.role, rule.earliest_months, rule.latest_months, rule.pilot) == (
        "omatyontekija",
        1,
        3,
        True,
    )
    coaching = [s for s in path.steps if "tyohonvalmentaja" in s.responsible]
    assert coaching
    assert all(s.pilot for s in coaching)


def test_team_path_has_the_coordinator_pair_branches(catalog: Catalog):
    path = catalog.path("tyokykytiimi-asiakasvastaava")
    first = path.step(path.start)
    assert len(first.next) == 2
    for step in path.next_steps(path.start):
        assert "asiakasvastaava" in step.responsible


@pytest.mark.parametrize("path_id", sorted(PATH_IDS))
def test_client_texts_use_short_sentences(catalog: Catalog, path_id):
    path = catalog.path(path_id)
    texts = [path.summary, path.follow_up.description]
    for step in path.steps:
        texts += [step.title, step.description, step.client_does]
        texts += [n.when for n in step.next if n.when]
    texts += [question.answer for question in path.questions]
    long = [
        s
        for t in texts
        for s in sentences(t)
        if len(s.split()) > MAX_WORDS_PER_SENTENCE
    ]
    assert long == []


def test_role_texts_use_short_sentences(catalog: Catalog):
    long = [
        (role.id, s)
        for role in catalog.roles.values()
        for text in [role.definition, *role.does, *role.does_not]
        for s in sentences(text)
        if len(s.split()) > MAX_WORDS_PER_SENTENCE + 5
    ]
    assert long == []


def test_confused_titles_explain_each_other(catalog: Catalog):
    coach = catalog.role("tyohonvalmentaja")
    assert "tyovalmentaja" in [c.role for c in coach.confused_with]
    work_coach = catalog.role("tyovalmentaja")
    assert "tyohonvalmentaja" in [c.role for c in work_coach.confused_with]


def test_each_role_lists_its_own_title_as_a_word(catalog: Catalog):
    missing = [r.id for r in catalog.roles.values() if r.title.lower() not in r.words]
    assert missing == []


def test_ambiguous_words_point_at_known_roles(catalog: Catalog):
    assert set(catalog.ambiguous) >= {"valmentaja", "sossu"}
    assert set(catalog.ambiguous["valmentaja"].roles) == {
        "tyohonvalmentaja",
        "tyovalmentaja",
    }
