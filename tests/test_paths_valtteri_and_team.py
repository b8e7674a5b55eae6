"""What Valtteri's path and the work-ability team's path tell a client to act on.

Clients act on these answers (whom to tell when ill, what money they get,
whether someone will call them), so the facts that matter are pinned here.
"""

from __future__ import annotations

import pytest

from polkuopas.catalog import TOPICS, Catalog, Source

VALTTERI = "tyohonvalmennus-vammaispalvelut"
TEAM = "tyokykytiimi-asiakasvastaava"


@pytest.mark.parametrize("path_id", [VALTTERI, TEAM])
def test_every_shared_topic_has_an_answer(catalog: Catalog, path_id):
    path = catalog.path(path_id)
    assert set(TOPICS) - {q.id for q in path.questions} == set()


@pytest.mark.parametrize("path_id", [VALTTERI, TEAM])
def test_follow_up_is_a_possibility_and_the_client_can_call(catalog: Catalog, path_id):
    # Neither source describes a call after these services: it is our reading,
    # so it is told as something that may happen, not as a promise.
    rule = catalog.path(path_id).follow_up
    cited = catalog.path(path_id).cited(rule.sources)
    assert " voi " in f" {rule.description} "
    assert "itse" in rule.description
    assert not rule.pilot
    assert cited and not any(isinstance(item, Source) for item in cited)


def test_valtteri_follow_up_is_only_for_those_who_were_coached(catalog: Catalog):
    path = catalog.path(VALTTERI)
    assert "työhönvalmennusta" in path.follow_up.description
    assert "työhönvalmennus ei ala" in path.step("muu_palvelu").description


@pytest.mark.parametrize(
    ("path_id", "role"), [(VALTTERI, "tyohonvalmentaja"), (TEAM, "asiakasvastaava")]
)
def test_illness_answer_names_whom_to_tell_and_the_numbers(
    catalog: Catalog, path_id, role
):
    question = catalog.path(path_id).question("sairastuminen")
    assert question.role == role
    title = catalog.role(role).title.lower()
    assert title in question.answer.lower()
    assert "112" in question.answer and "116117" in question.answer
    assert "euroa" in question.answer


def test_work_trial_money_says_what_and_who_pays(catalog: Catalog):
    answer = catalog.path(VALTTERI).question("raha").answer
    assert "ei makseta palkkaa" in answer
    assert "työttömyysetuutta" in answer
    assert "Kela" in answer and "9 euroa" in answer


@pytest.mark.parametrize("path_id", [VALTTERI, TEAM])
def test_request_for_review_deadline_is_thirty_days(catalog: Catalog, path_id):
    answer = catalog.path(path_id).question("valitus").answer
    assert "oikaisuvaatimuks" in answer
    assert "30 päivän kuluessa" in answer
    assert "muistutu" in answer


def test_consent_covers_named_data_and_no_does_not_stop_the_service(
    catalog: Catalog,
):
    path = catalog.path(TEAM)
    for text in (path.question("suostumus").answer, path.step("suostumus").description):
        assert "saat silti palvelusi" in text
        assert "lain perusteella" in text
    assert "perua" in path.question("suostumus").answer


def test_the_pair_is_usual_not_always(catalog: Catalog):
    path = catalog.path(TEAM)
    assert "yleensä" in path.summary
    assert "yleensä" in path.step("pari_sosiaaliohjaus").description
    assert "viedä aikaa" in path.step("pari_terveys").description
