"""A broken path or role file gives one message naming the file and the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from conftest import write_catalog
from polkuopas.catalog import PathFileError, load_catalog


def error_for(tmp_path: Path, roles=None, paths=None) -> str:
    directory = write_catalog(tmp_path / "broken", roles, paths)
    with pytest.raises(PathFileError) as caught:
        load_catalog(directory)
    return str(caught.value).replace(str(directory) + "/", "")


def test_mini_catalog_loads(mini_dir):
    catalog = load_catalog(mini_dir)
    assert list(catalog.paths) == ["mini"]
    assert [s.id for s in catalog.path("mini").ordered_steps()] == [
        "alku",
        "tyo",
        "loppu",
    ]


def test_missing_step_field_names_file_and_field(tmp_path, mini_path):
    del mini_path["steps"][1]["title"]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[1].title: required field is missing"
    )


def test_unknown_field_is_refused(tmp_path, mini_path):
    mini_path["steps"][0]["owner"] = "x"
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[0].owner: unknown field (not in the schema)"
    )


def test_empty_text_is_refused(tmp_path, mini_path):
    mini_path["summary"] = "   "
    assert error_for(tmp_path, paths=[mini_path]).startswith("mini.yml: summary: ")


def test_wrong_type_names_expected_type(tmp_path, mini_path):
    mini_path["follow_up"]["earliest_months"] = "pian"
    message = error_for(tmp_path, paths=[mini_path])
    assert message.startswith("mini.yml: follow_up.earliest_months: ")
    assert "integer" in message


def test_bad_step_id_shows_pattern(tmp_path, mini_path):
    mini_path["steps"][2]["id"] = "Loppu vaihe"
    message = error_for(tmp_path, paths=[mini_path])
    assert message.startswith("mini.yml: steps[2].id: expected an id matching")
    assert "'Loppu vaihe'" in message


def test_unknown_role_in_step(tmp_path, mini_path):
    mini_path["steps"][1]["participants"] = ["omatyontekija", "velho"]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[1].participants[1]: unknown role id 'velho' (not in roles.yml)"
    )


def test_unknown_follow_up_role(tmp_path, mini_path):
    mini_path["follow_up"]["role"] = "velho"
    assert "follow_up.role: unknown role id 'velho'" in error_for(
        tmp_path, paths=[mini_path]
    )


def test_unknown_next_step_lists_steps(tmp_path, mini_path):
    mini_path["steps"][1]["next"] = [{"step": "kuu"}]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[1].next[0].step: unknown step 'kuu' (steps: alku, tyo, loppu)"
    )


def test_unknown_start(tmp_path, mini_path):
    mini_path["start"] = "kuu"
    assert error_for(tmp_path, paths=[mini_path]).startswith(
        "mini.yml: start: unknown step 'kuu'"
    )


def test_cycle_is_refused(tmp_path, mini_path):
    mini_path["steps"][2]["next"] = [{"step": "alku"}]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[2].next: step 'loppu' leads back to 'alku': a path must "
        "not loop (describe repetition in the text)"
    )


def test_unreachable_step_is_refused(tmp_path, mini_path):
    mini_path["steps"][0]["next"] = [{"step": "loppu"}]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[1].id: step 'tyo' cannot be reached from start 'alku'"
    )


def test_duplicate_step_id(tmp_path, mini_path):
    mini_path["steps"][1]["id"] = "alku"
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[1].id: duplicate id 'alku'"
    )


def test_branch_needs_conditions(tmp_path, mini_path):
    del mini_path["steps"][0]["next"][1]["when"]
    message = error_for(tmp_path, paths=[mini_path])
    assert message.startswith("mini.yml: steps[0]: ")
    assert "every next step of a branch needs 'when'" in message


def test_pilot_needs_a_note(tmp_path, mini_path):
    del mini_path["steps"][1]["pilot_note"]
    assert "steps[1]: " in error_for(tmp_path, paths=[mini_path])


def test_follow_up_window_must_be_ordered(tmp_path, mini_path):
    mini_path["follow_up"]["earliest_months"] = 4
    message = error_for(tmp_path, paths=[mini_path])
    assert message.startswith("mini.yml: follow_up: ")
    assert "earliest_months must not be after latest_months" in message


def test_id_must_match_file_name(tmp_path, mini_dir):
    (mini_dir / "mini.yml").rename(mini_dir / "toinen.yml")
    with pytest.raises(PathFileError) as caught:
        load_catalog(mini_dir)
    assert str(caught.value).endswith(
        "toinen.yml: id: must equal the file name 'toinen', got 'mini'"
    )


def test_duplicate_yaml_key(tmp_path, mini_dir):
    file = mini_dir / "mini.yml"
    file.write_text(file.read_text() + "name: Toinen nimi\n")
    with pytest.raises(PathFileError, match=r"mini.yml: line \d+: invalid YAML: "):
        load_catalog(mini_dir)


def test_broken_yaml_syntax(tmp_path, mini_dir):
    (mini_dir / "mini.yml").write_text("id: mini\nsteps: [\n")
    with pytest.raises(PathFileError, match=r"mini.yml: line \d+: invalid YAML"):
        load_catalog(mini_dir)


def test_top_level_must_be_a_mapping(tmp_path, mini_dir):
    (mini_dir / "mini.yml").write_text("- just\n- a list\n")
    with pytest.raises(PathFileError, match="expected a mapping of fields"):
        load_catalog(mini_dir)


def test_not_utf8(tmp_path, mini_dir):
    (mini_dir / "mini.yml").write_bytes(b"name: \xe4\xe4\n")
    with pytest.raises(PathFileError, match=r"mini\.yml: the file is not UTF-8"):
        load_catalog(mini_dir)


def test_missing_roles_file(tmp_path, mini_dir):
    (mini_dir / "roles.yml").unlink()
    with pytest.raises(PathFileError, match=r"roles\.yml: the role catalogue is"):
        load_catalog(mini_dir)


def test_no_path_files(tmp_path):
    with pytest.raises(PathFileError, match="no service path files"):
        load_catalog(write_catalog(tmp_path / "empty", paths=[]))


def test_duplicate_role_id(tmp_path, mini_roles):
    mini_roles["roles"][1]["id"] = "ohjaaja"
    assert error_for(tmp_path, roles=mini_roles) == (
        "roles.yml: roles[1].id: duplicate id 'ohjaaja'"
    )


def test_word_in_two_roles(tmp_path, mini_roles):
    mini_roles["roles"][1]["words"].append("Ohjaajani")
    assert error_for(tmp_path, roles=mini_roles) == (
        "roles.yml: roles[1].words (omatyontekija): word 'Ohjaajani' is already "
        "listed under roles[0].words (ohjaaja)"
    )


def test_ambiguous_form_also_a_role_word(tmp_path, mini_roles):
    mini_roles["ambiguous"][0]["forms"].append("ohjaaja")
    assert "ambiguous[0].forms (sossu): word 'ohjaaja' is already listed" in (
        error_for(tmp_path, roles=mini_roles)
    )


def test_ambiguous_word_must_not_be_a_role_id(tmp_path, mini_roles):
    mini_roles["ambiguous"][0]["word"] = "ohjaaja"
    assert error_for(tmp_path, roles=mini_roles) == (
        "roles.yml: ambiguous[0].word: 'ohjaaja' is also a role id"
    )


def test_ambiguous_unknown_role(tmp_path, mini_roles):
    mini_roles["ambiguous"][0]["roles"] = ["ohjaaja", "velho"]
    assert error_for(tmp_path, roles=mini_roles) == (
        "roles.yml: ambiguous[0].roles: unknown role id 'velho'"
    )


def test_confused_with_unknown_role(tmp_path, mini_roles):
    mini_roles["roles"][1]["confused_with"][0]["role"] = "velho"
    assert error_for(tmp_path, roles=mini_roles) == (
        "roles.yml: roles[1].confused_with[0].role: unknown role id 'velho'"
    )


# --- sources, assumptions and questions (issues 10 and 11) -----------------


def test_mini_questions_load_with_their_sources(mini_dir):
    path = load_catalog(mini_dir).path("mini")
    raha = path.question("raha")
    assert raha is not None and raha.role == "ohjaaja"
    assert [s.id for s in path.cited(raha.sources)] == ["laki-1-2000", "a-oletus"]
    assert path.question("valitus") is None


def test_source_as_plain_text_is_refused(tmp_path, mini_path):
    mini_path["sources"][0] = "Testilähde"
    assert error_for(tmp_path, paths=[mini_path]).startswith("mini.yml: sources[0]: ")


def test_source_id_shows_pattern(tmp_path, mini_path):
    mini_path["sources"][0]["id"] = "Laki 189"
    message = error_for(tmp_path, paths=[mini_path])
    assert message.startswith("mini.yml: sources[0].id: expected an id matching")


def test_unknown_field_in_a_source(tmp_path, mini_path):
    mini_path["sources"][0]["author"] = "x"
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: sources[0].author: unknown field (not in the schema)"
    )


def test_unknown_field_in_a_question(tmp_path, mini_path):
    mini_path["questions"][0]["vastaus"] = "x"
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: questions[0].vastaus: unknown field (not in the schema)"
    )


def test_source_url_needs_the_day_it_was_checked(tmp_path, mini_path):
    del mini_path["sources"][1]["checked"]
    message = error_for(tmp_path, paths=[mini_path])
    assert message.startswith("mini.yml: sources[1]: ")
    assert "a source with a url needs 'checked'" in message


def test_source_and_assumption_ids_share_one_list(tmp_path, mini_path):
    mini_path["assumptions"][0]["id"] = "testi"
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: assumptions[0].id: duplicate id 'testi' "
        "(source and assumption ids share one list)"
    )


def test_dangling_source_id_in_a_step(tmp_path, mini_path):
    mini_path["steps"][1]["sources"] = ["testi", "kela"]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[1].sources[1]: unknown source id 'kela' "
        "(sources and assumptions: testi, laki-1-2000, a-oletus)"
    )


def test_dangling_source_id_in_the_follow_up(tmp_path, mini_path):
    mini_path["follow_up"]["sources"] = ["kela"]
    assert error_for(tmp_path, paths=[mini_path]).startswith(
        "mini.yml: follow_up.sources[0]: unknown source id 'kela'"
    )


def test_dangling_source_id_in_a_question(tmp_path, mini_path):
    mini_path["questions"][1]["sources"] = ["kela"]
    assert error_for(tmp_path, paths=[mini_path]).startswith(
        "mini.yml: questions[1].sources[0]: unknown source id 'kela'"
    )


def test_question_needs_a_source(tmp_path, mini_path):
    mini_path["questions"][1]["sources"] = []
    assert error_for(tmp_path, paths=[mini_path]).startswith(
        "mini.yml: questions[1].sources: "
    )


def test_question_needs_an_answer(tmp_path, mini_path):
    del mini_path["questions"][0]["answer"]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: questions[0].answer: required field is missing"
    )


def test_question_needs_four_phrasings(tmp_path, mini_path):
    mini_path["questions"][0]["ask"] = ["Saanko rahaa?"]
    assert error_for(tmp_path, paths=[mini_path]).startswith(
        "mini.yml: questions[0].ask: "
    )


def test_question_with_unknown_step(tmp_path, mini_path):
    mini_path["questions"][0]["steps"] = ["kuu"]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: questions[0].steps[0]: unknown step 'kuu' (steps: alku, tyo, loppu)"
    )


def test_question_with_unknown_role(tmp_path, mini_path):
    mini_path["questions"][0]["role"] = "velho"
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: questions[0].role: unknown role id 'velho' (not in roles.yml)"
    )


def test_duplicate_question_id(tmp_path, mini_path):
    mini_path["questions"][1]["id"] = "raha"
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: questions[1].id: duplicate id 'raha'"
    )


def test_same_phrasing_twice_in_a_question(tmp_path, mini_path):
    mini_path["questions"][0]["ask"][3] = "saanko tasta rahaa"
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: questions[0].ask[3]: the same phrasing twice: 'saanko tasta rahaa'"
    )


def test_one_phrasing_cannot_ask_two_topics(tmp_path, mini_path):
    other = copy.deepcopy(mini_path)
    other["id"] = "toinen"
    other["questions"][1]["ask"][0] = "Saanko tästä rahaa"
    assert error_for(tmp_path, paths=[mini_path, other]) == (
        "toinen.yml: questions[1].ask[0]: 'Saanko tästä rahaa' is already a "
        "phrasing of topic 'raha' in mini.yml: one phrasing, one topic"
    )


def test_same_topic_on_two_paths_may_share_a_phrasing(tmp_path, mini_path):
    other = copy.deepcopy(mini_path)
    other["id"] = "toinen"
    directory = write_catalog(tmp_path / "two", paths=[mini_path, other])
    assert sorted(load_catalog(directory).paths) == ["mini", "toinen"]


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("Saat 9,50 € päivässä.", "money amount", "€"),
        ("Saat 9 euroa päivässä.", "money amount", "euroa"),
        ("Laki 189/2001 sanoo näin.", "law number", "189/2001"),
        ("Tee valitus 30 päivän kuluessa.", "deadline", "30 päivän"),
        ("Vastaa 2 viikon sisällä.", "deadline", "2 viikon sisällä"),
    ],
)
def test_fact_in_a_question_needs_a_real_source(tmp_path, mini_path, text, kind, found):
    mini_path["questions"][1]["answer"] = text
    assert error_for(tmp_path, paths=[mini_path]) == (
        f"mini.yml: questions[1].answer: states a {kind} ({found!r}), so "
        "questions[1].sources must name a source (an assumption alone is not enough)"
    )


def test_fact_with_a_real_source_is_accepted(tmp_path, mini_path):
    mini_path["questions"][1]["answer"] = "Tee valitus 30 päivän kuluessa."
    mini_path["questions"][1]["sources"] = ["a-oletus", "testi"]
    directory = write_catalog(tmp_path / "ok", paths=[mini_path])
    assert load_catalog(directory).path("mini").question("kesto")


def test_days_a_week_is_not_a_deadline(tmp_path, mini_path):
    mini_path["questions"][1]["answer"] = "Olet pajalla 1–4 päivänä viikossa."
    directory = write_catalog(tmp_path / "ok", paths=[mini_path])
    assert load_catalog(directory).path("mini").question("kesto")


def test_fact_in_a_step_needs_a_source(tmp_path, mini_path):
    mini_path["steps"][1]["pilot_note"] = "Pilotti perustuu lakiin 1/2000."
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: steps[1].pilot_note: states a law number ('1/2000'), so "
        "steps[1].sources must name a source (an assumption alone is not enough)"
    )


def test_fact_in_a_branch_condition_needs_a_source(tmp_path, mini_path):
    mini_path["steps"][0]["next"][1]["when"] = "Jos et vastaa 14 päivän aikana."
    assert error_for(tmp_path, paths=[mini_path]).startswith(
        "mini.yml: steps[0].next[1].when: states a deadline ('14 päivän')"
    )


def test_fact_in_the_follow_up_needs_a_source(tmp_path, mini_path):
    mini_path["follow_up"]["description"] = "Voit saada 5 euroa."
    assert error_for(tmp_path, paths=[mini_path]).startswith(
        "mini.yml: follow_up.description: states a money amount ('euroa')"
    )


def test_fact_in_an_assumption_is_refused(tmp_path, mini_path):
    mini_path["assumptions"][0]["text"] = "Laki 2189/2001 sanoo näin."
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: assumptions[0].text: states a law number ('2189/2001'), which "
        "must come from a source: say it in a step, follow_up or question that "
        "cites one"
    )


def test_fact_in_the_summary_is_refused(tmp_path, mini_path):
    mini_path["summary"] = "Saat 9 € päivässä."
    assert error_for(tmp_path, paths=[mini_path]).startswith(
        "mini.yml: summary: states a money amount ('€') that cannot cite a source"
    )


CERTAIN = (
    "mini.yml: follow_up.description: tells the contact as certain (no 'voi' or "
    "'saattaa'), so the follow-up needs pilot: false and a source in "
    "follow_up.sources; or say that it may happen ('voi ottaa yhteyttä')"
)


def test_certain_follow_up_cannot_be_a_pilot(tmp_path, mini_path):
    mini_path["follow_up"]["description"] = "Omatyöntekijä soittaa sinulle."
    mini_path["follow_up"]["sources"] = ["testi"]
    assert error_for(tmp_path, paths=[mini_path]) == CERTAIN


def test_certain_follow_up_needs_a_real_source(tmp_path, mini_path):
    mini_path["follow_up"].update(
        description="Omatyöntekijä soittaa sinulle.", pilot=False, sources=["a-oletus"]
    )
    assert error_for(tmp_path, paths=[mini_path]) == CERTAIN


def test_certain_follow_up_with_source_and_no_pilot_is_accepted(tmp_path, mini_path):
    mini_path["follow_up"].update(
        description="Omatyöntekijä soittaa sinulle.", pilot=False, sources=["testi"]
    )
    directory = write_catalog(tmp_path / "ok", paths=[mini_path])
    assert not load_catalog(directory).path("mini").follow_up.pilot


def test_follow_up_that_may_happen_needs_no_source(tmp_path, mini_path):
    mini_path["follow_up"].update(
        description="Omatyöntekijä saattaa soittaa sinulle.", sources=[]
    )
    directory = write_catalog(tmp_path / "ok", paths=[mini_path])
    assert load_catalog(directory).path("mini").follow_up.pilot


def test_follow_up_after_an_unknown_step_names_the_field(tmp_path, mini_path):
    mini_path["follow_up"]["after_steps"] = ["loppu", "ei_ole"]
    assert error_for(tmp_path, paths=[mini_path]) == (
        "mini.yml: follow_up.after_steps[1]: unknown step id 'ei_ole'"
    )
