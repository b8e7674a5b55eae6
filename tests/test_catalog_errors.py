"""A broken path or role file gives one message naming the file and the field."""

from __future__ import annotations

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
