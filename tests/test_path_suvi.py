"""Suvi's path (rehabilitative work activity): the facts a client acts on.

Each test pins a fact that was once wrong or missing in the path file and that
a client may act on: whom to tell when ill, what money they get, the days and
hours the act allows, what follows a refusal, whether someone will call.
"""

from __future__ import annotations

from polkuopas.catalog import TOPICS, Catalog
from polkuopas.settings import PROJECT_ROOT

PATH_FILE = PROJECT_ROOT / "paths/kuntouttava-tyotoiminta.yml"


def suvi(catalog: Catalog):
    return catalog.path("kuntouttava-tyotoiminta")


def answer(catalog: Catalog, topic: str):
    question = suvi(catalog).question(topic)
    assert question is not None, topic
    return question


# The topics every path answers (issue 11); `suostumus` is the work-ability
# team's own topic, so it is not required here.
REQUIRED_TOPICS = set(TOPICS) - {"suostumus"}


def test_every_shared_topic_is_answered(catalog: Catalog):
    assert len(REQUIRED_TOPICS) == 15
    assert {q.id for q in suvi(catalog).questions} >= REQUIRED_TOPICS


def test_the_act_is_189_2001(catalog: Catalog):
    titles = {s.id: s.title for s in suvi(catalog).sources}
    assert "189/2001" in titles["laki-189-2001"]
    assert "2189/2001" not in PATH_FILE.read_text()


def test_days_hours_and_length_as_amended_in_2015(catalog: Catalog):
    days = answer(catalog, "paivat_tunnit")
    assert "1–4 päivänä viikossa" in days.answer
    assert "vähintään 4 tuntia" in days.answer
    assert "laki-142-2015" in days.sources
    length = answer(catalog, "kesto")
    assert "3–24 kuukautta" in length.answer
    assert "laki-142-2015" in length.sources


def test_money_says_how_much_and_who_pays(catalog: Catalog):
    money = answer(catalog, "raha")
    for words in ("palkkaa", "9 euroa", "Kela tai työttömyyskassa", "toimintarahan"):
        assert words in money.answer
    assert "thl-toimeentuloturva" in money.sources
    assert "ylläpitokorvaus" not in money.answer


def test_illness_is_told_to_the_ohjaaja(catalog: Catalog):
    ill = answer(catalog, "sairastuminen")
    assert ill.role == "ohjaaja"
    assert "ohjaajalle" in ill.answer
    assert "ohjaajalle" in suvi(catalog).step("tyotehtavat").client_does


def test_refusing_has_a_sourced_consequence(catalog: Catalog):
    refuse = answer(catalog, "pakko")
    assert "tukesi voi pienentyä" in refuse.answer
    assert "20 prosenttia" in refuse.answer
    assert "kela-perusosa" in refuse.sources


def test_complaints_name_muistutus_and_the_deadline(catalog: Catalog):
    complain = answer(catalog, "valitus")
    assert "muistutuksen" in complain.answer
    assert "30 päivän" in complain.answer
    assert {"muistutus-812-2000", "oikaisuvaatimus-30"} <= set(complain.sources)


def test_the_follow_up_is_a_possibility_not_a_promise(catalog: Catalog):
    rule = suvi(catalog).follow_up
    assert rule.pilot
    assert "voi ottaa sinuun yhteyttä" in rule.description
    assert "soita hänelle itse" in rule.description
    step = suvi(catalog).step("jalkikontakti")
    assert "voi ottaa sinuun yhteyttä" in step.description


def test_current_title_for_employment_services(catalog: Catalog):
    texts = [s.description for s in suvi(catalog).steps]
    texts += [q.answer for q in suvi(catalog).questions]
    assert not [t for t in texts if "TE-asiantuntija" in t]
    assert catalog.role("te_asiantuntija").title == "Työllisyysasiantuntija"
    assert "te-asiantuntija" in catalog.role("te_asiantuntija").words


def test_web_sources_say_when_they_were_read(catalog: Catalog):
    undated = [s.id for s in suvi(catalog).sources if s.url and not s.checked]
    assert undated == []
