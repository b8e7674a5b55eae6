"""The chat widget's sources and bundle, and the path picture's model."""

from __future__ import annotations

import json
import re

import pytest

from polkuopas.answers import path_payload
from polkuopas.settings import PROJECT_ROOT
from polkuopas.web.bundle import CSS_NAME, JS_NAME, build, main
from polkuopas.web.pathview import finnish_date, fmt, matches, path_model

SRC = PROJECT_ROOT / "web-widget" / "src"
TEMPLATES = PROJECT_ROOT / "actions" / "polkuopas" / "web" / "templates"
STATIC = PROJECT_ROOT / "actions" / "polkuopas" / "web" / "static"
SCRIPTS = [SRC / "path-picture.js", SRC / "widget.js", STATIC / "site.js"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_parse_html(script):
    source = script.read_text(encoding="utf-8")
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setAttribute("on',
        ".srcdoc",
    ):
        assert sink not in source, f"{script.name} uses {sink}"


def test_widget_takes_no_third_party_resources():
    bundle = build(SRC)
    for asset in bundle.values():
        assert not re.search(rb"https?://(?!www\.w3\.org/2000/svg)", asset.body)
        assert b"@import" not in asset.body


def test_widget_is_small():
    bundle = build(SRC)
    assert len(bundle[JS_NAME].body) < 60_000
    assert len(bundle[CSS_NAME].body) < 25_000


def test_every_string_the_widget_and_pages_use_is_defined():
    strings = json.loads((SRC / "strings.fi.json").read_text(encoding="utf-8"))
    used = set()
    for script in (SRC / "path-picture.js", SRC / "widget.js"):
        used |= set(re.findall(r"\bt\.(\w+)", script.read_text(encoding="utf-8")))
    used |= set(re.findall(r"\bt\.(\w+)", (TEMPLATES / "_path.html").read_text()))
    assert used - strings.keys() == set()
    assert strings.keys() - used - {"lang", "title"} == set(), "unused strings"


def test_bundle_command_writes_the_files(tmp_path, capsys):
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / JS_NAME).read_bytes() == build(SRC)[JS_NAME].body
    assert (tmp_path / CSS_NAME).exists()


def _model(catalog, path_id):
    payload = path_payload(catalog, catalog.path(path_id), None)
    return {item["step"]["id"]: item for item in path_model(payload)}


def test_optional_detour_is_an_alternative_and_the_merge_point_is_not(catalog):
    model = _model(catalog, "kuntouttava-tyotoiminta")
    assert model["tyohonvalmennus"]["alternative"] is True
    assert model["paattyminen"]["alternative"] is False
    assert [o["number"] for o in model["valiarviointi"]["branch"]] == [6, 7]


def test_branch_that_ends_the_path_says_so(catalog):
    model = _model(catalog, "tyohonvalmennus-vammaispalvelut")
    assert model["muu_palvelu"]["ends_here"] is True
    assert model["paattyminen"]["ends_here"] is False  # the last step
    assert model["paatos"]["next_far"] == {"number": 5, "title": "Aloitustapaaminen"}


def test_parallel_options_point_to_the_step_they_join(catalog):
    model = _model(catalog, "tyokykytiimi-asiakasvastaava")
    assert model["pari_sosiaaliohjaus"]["alternative"] is True
    assert model["pari_sosiaaliohjaus"]["next_far"]["number"] == 4
    assert model["pari_terveys"]["next_far"] is None  # step 4 is drawn right below


def test_fmt_fills_known_names_and_leaves_others():
    assert fmt("vaihe {number}, {title} {x}", number=3, title="A") == "vaihe 3, A {x}"


def test_finnish_date():
    assert finnish_date("2026-03-05") == "5.3.2026"
    assert finnish_date(None) == ""


def test_search_matches_every_word_in_any_order():
    assert matches("työhönvalmentaja job coach", "coach TYÖHÖN")
    assert not matches("työhönvalmentaja", "työhön lääkäri")
