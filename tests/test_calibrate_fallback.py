"""The threshold choice of benchmarks/calibrate_fallback.py, without Rasa.

It replays the fallback decision on parsed rankings and picks a setting by a
fixed rule on the development set; what is tested here is that the replay
counts outcomes as `make eval-nlu` does and that the rule picks what it says.
"""

from __future__ import annotations

import importlib

import pytest

cf = importlib.import_module("benchmarks.calibrate_fallback")


def parsed(expected: str, *ranking: tuple[str, float]):
    return cf.Parsed("x", expected, tuple(ranking), "")


def test_the_replay_counts_like_eval_nlu():
    sentences = [
        parsed("greet", ("greet", 0.95), ("thank", 0.02)),  # right
        parsed("greet", ("thank", 0.55), ("greet", 0.40)),  # wrong at 0.5
        parsed("out_of_scope", ("ask_contact", 0.45), ("greet", 0.1)),  # unsure
        parsed("service_raha", ("out_of_scope", 0.9), ("x", 0.05)),  # wrong
    ]
    r = cf.rates(sentences, 0.5, 0.1)
    assert (r["right"], r["unsure"], r["wrong"]) == (0.25, 0.25, 0.5)
    r = cf.rates(sentences, 0.6, 0.1)
    assert (r["right"], r["unsure"], r["wrong"]) == (0.25, 0.5, 0.25)


def test_the_rule_keeps_the_evaluation_set_and_then_minimises_wrong():
    evaluation = [parsed("greet", ("greet", 0.75), ("thank", 0.1))] * 19 + [
        parsed("thank", ("thank", 0.65), ("greet", 0.2))
    ]
    dev = [
        parsed("out_of_scope", ("ask_contact", 0.62), ("greet", 0.2)),
        parsed("out_of_scope", ("out_of_scope", 0.85), ("greet", 0.05)),
    ]
    # Above 0.65 the evaluation set falls to 95 % (0.7) and then below (0.8):
    # 0.65 is the lowest threshold that makes the first dev question unsure
    # while keeping the evaluation set at 95 %. No floor changes anything
    # here, so Rasa's rule is kept.
    assert cf.choose({"eval": evaluation, "dev": dev}) == (0.65, 0.05, None)


def test_without_the_evaluation_target_the_safety_target_comes_first():
    # The evaluation set is never at 95 %; every threshold up to 0.7 answers
    # 90 % of it right and keeps the dev set at most 10 % wrong, and of those
    # 0.65 and 0.7 answer the fewest dev questions wrong: the lower is taken.
    evaluation = [parsed("greet", ("greet", 0.75), ("thank", 0.1))] * 9 + [
        parsed("thank", ("greet", 0.95), ("thank", 0.01))
    ]
    dev = [parsed("out_of_scope", ("ask_contact", 0.62), ("greet", 0.2))] + [
        parsed("out_of_scope", ("out_of_scope", 0.99), ("greet", 0.0))
    ] * 9
    assert cf.choose({"eval": evaluation, "dev": dev}) == (0.65, 0.05, None)
    # Nothing is safe either: the fewest dev questions answered wrong.
    unsafe = [parsed("out_of_scope", ("ask_contact", 0.99), ("greet", 0.0))]
    assert cf.choose({"eval": evaluation, "dev": unsafe}) == (0.3, 0.05, None)


def test_meeting_both_targets_the_rule_takes_the_most_right_minus_wrong():
    evaluation = [parsed("greet", ("greet", 0.95), ("thank", 0.01))] * 20
    # Ten dev questions: an out-of-scope one is answered wrong (0.55) up to the
    # threshold 0.5 and unsure above; three are right (0.52) up to 0.5 and
    # unsure above; six are always right.
    dev = (
        [parsed("out_of_scope", ("ask_contact", 0.55), ("greet", 0.1))]
        + [parsed("greet", ("greet", 0.52), ("thank", 0.1))] * 3
        + [parsed("greet", ("greet", 0.99), ("thank", 0.0))] * 6
    )
    # At 0.3-0.5 dev is 90 % right and 10 % wrong (right - wrong 0.8); at 0.6
    # it is 60 % right and 0 % wrong (0.6): both meet the targets, the rule
    # takes the lowest threshold with the most right minus wrong.
    assert cf.choose({"eval": evaluation, "dev": dev}) == (0.3, 0.05, None)


def test_with_several_models_the_figures_are_the_mean():
    one = [parsed("greet", ("greet", 0.95), ("thank", 0.01))]
    other = [parsed("greet", ("thank", 0.95), ("greet", 0.01))]
    r = cf.rates([one, other], 0.5, 0.1)
    assert (r["right"], r["unsure"], r["wrong"]) == (0.5, 0.0, 0.5)
    assert cf.accuracy([one, other]) == 0.5
    thirds = [[parsed("greet", ("thank", 0.95), ("x", 0.0))] + one * 9] * 3
    assert cf.rates(thirds, 0.5, 0.1)["wrong"] == 0.1  # not 0.10000000000000002


def test_an_out_of_scope_floor_lowers_only_the_threshold_of_out_of_scope():
    sentences = [
        parsed("out_of_scope", ("out_of_scope", 0.35), ("greet", 0.1)),
        parsed("greet", ("out_of_scope", 0.45), ("greet", 0.43)),  # a tie
        parsed("service_raha", ("out_of_scope", 0.4), ("service_raha", 0.2)),
        parsed("greet", ("greet", 0.35), ("thank", 0.1)),
    ]
    r = cf.rates(sentences, 0.5, 0.05)
    assert (r["right"], r["unsure"], r["wrong"]) == (0.0, 1.0, 0.0)
    # With a floor of 0.3 out_of_scope answers from 0.3 on; the tie is still
    # asked about and a greeting at 0.35 still falls back.
    r = cf.rates(sentences, 0.5, 0.05, 0.3)
    assert (r["right"], r["unsure"], r["wrong"]) == (0.25, 0.5, 0.25)
    assert cf.rates(sentences, 0.5, 0.05, 0.38)["right"] == 0.0


def test_the_rule_takes_a_floor_only_where_it_pays():
    evaluation = [parsed("greet", ("greet", 0.95), ("thank", 0.01))] * 20
    sure = [parsed("out_of_scope", ("out_of_scope", 0.99), ("greet", 0.0))] * 8
    # Two questions answered wrong up to the threshold 0.55 make the rule
    # take 0.6; two out-of-scope questions are then unsure without a floor. A
    # floor of 0.35 or lower answers both right, 0.4 one of them.
    dev = (
        sure
        + [parsed("out_of_scope", ("ask_contact", 0.55), ("greet", 0.1))] * 2
        + [
            parsed("out_of_scope", ("out_of_scope", 0.38), ("greet", 0.1)),
            parsed("out_of_scope", ("out_of_scope", 0.42), ("greet", 0.1)),
        ]
    )
    # The floors up to 0.35 tie; the higher (more cautious) one is taken.
    assert cf.choose({"eval": evaluation, "dev": dev}) == (0.6, 0.05, 0.35)
    # A floor that also answers an in-scope question wrong does not pay.
    dev[-2] = parsed("service_raha", ("out_of_scope", 0.38), ("greet", 0.1))
    assert cf.choose({"eval": evaluation, "dev": dev}) == (0.6, 0.05, 0.4)


def test_the_rule_keeps_the_conversation_tests_answered_first():
    evaluation = [parsed("greet", ("greet", 0.95), ("thank", 0.01))] * 20
    # One dev question is answered wrong up to 0.5, so dev alone takes 0.55.
    dev = [parsed("out_of_scope", ("ask_contact", 0.52), ("greet", 0.1))] + [
        parsed("out_of_scope", ("out_of_scope", 0.99), ("greet", 0.0))
    ] * 9
    assert cf.choose({"eval": evaluation, "dev": dev}) == (0.55, 0.05, None)
    # A conversation test's message at 0.54 would become a clarifying
    # question at 0.55: the settings that answer it come first.
    conversations = [parsed("ask_next_meeting", ("ask_next_meeting", 0.54), ("x", 0.4))]
    sets = {"eval": evaluation, "dev": dev, "conversations": conversations}
    assert cf.choose(sets) == (0.3, 0.05, None)
    # When no setting answers every message, the most answered are kept.
    conversations.append(parsed("greet", ("thank", 0.9), ("greet", 0.1)))
    assert cf.choose(sets) == (0.3, 0.05, None)


def test_the_conversation_tests_messages_are_read_as_the_client_types_them(tmp_path):
    (tmp_path / "one.yml").write_text(
        'version: "3.1"\n'
        "stories:\n"
        "  - story: s\n"
        "    steps:\n"
        "      - user: |\n"
        "          kuka on mun [valmentaja](role)\n"
        "        intent: ask_responsible\n"
        "      - action: action_who\n"
        "      - user: /affirm\n"
        "        intent: affirm\n"
        "      - intent: nlu_fallback\n"
        '      - user: "[työhönvalmentaja]{\\"entity\\": \\"role\\"} soittaa?"\n'
        "        intent: ask_contact\n",
        encoding="utf-8",
    )
    read = [(e.text, e.intent) for e in cf.load_conversations(tmp_path)]
    assert read == [
        ("kuka on mun valmentaja", "ask_responsible"),
        ("työhönvalmentaja soittaa?", "ask_contact"),
    ]


def test_the_shipped_conversation_tests_are_read():
    read = cf.load_conversations()
    assert len(read) >= 40
    assert ("voinko lopettaa kesken?", "service_lopettaminen") in {
        (e.text, e.intent) for e in read
    }
    assert not [e.text for e in read if e.text.startswith("/") or "](" in e.text]


def voted(expected: str, diet, own):
    """A parse whose vote was recorded; its ranking as the shipped vote
    (weight 0.5, DIET as it is) ranks it."""
    p = cf.Parsed("x", expected, (), "", (tuple(diet), tuple(own.items())))
    return cf.revote(p, 0.5, 1.0)


def test_the_vote_is_replayed_with_another_weight_and_temperature():
    # DIET is sure of out_of_scope, the regression of the right topic.
    p = voted(
        "service_raha",
        [("out_of_scope", 0.96), ("service_raha", 0.04)],
        {"service_raha": 0.95, "out_of_scope": 0.05},
    )
    assert p.ranking[0][0] == "out_of_scope"
    assert p.ranking[0][1] == pytest.approx(0.505)
    assert p.full == "out_of_scope"
    # softened at 2 (0.96 -> 0.83, 0.04 -> 0.17), the regression carries it
    soft = cf.revote(p, 0.5, 2.0)
    assert soft.ranking[0][0] == "service_raha"
    assert soft.ranking[0][1] == pytest.approx(0.5 * 0.95 + 0.5 * 0.1695, abs=1e-4)
    assert soft.full == "service_raha" and soft.voters == p.voters
    # a weight of 1 is the regression alone
    assert cf.revote(p, 1.0, 1.0).ranking[0] == ("service_raha", 0.95)
    # where the vote did not run (the channel's other_language), nothing moves
    other = cf.Parsed("hej", "other_language", (("other_language", 1.0),), "")
    assert cf.revote(other, 0.9, 4.0) is other


def test_the_vote_is_chosen_by_the_same_rule_and_ties_go_to_the_lower_settings():
    # eval: 20 sentences both voters get right; dev: one question DIET is
    # sure is out of scope and the regression knows, one real out of scope.
    sure = [("greet", 0.99), ("thank", 0.01)]
    evaluation = [voted("greet", sure, {"greet": 0.8, "thank": 0.2})] * 20
    dev = [
        voted(
            "service_raha",
            [("out_of_scope", 0.96), ("service_raha", 0.04)],
            {"service_raha": 0.95, "out_of_scope": 0.05},
        ),
        voted(
            "out_of_scope",
            [("out_of_scope", 0.99), ("greet", 0.01)],
            {"out_of_scope": 0.7, "greet": 0.3},
        ),
    ]
    sets = {"eval": evaluation, "dev": dev}
    rows = cf.vote_grid(sets, [0.5], [1.0, 2.0])
    assert [(r.temperature, r.weight) for r in rows] == [(1.0, 0.5), (2.0, 0.5)]
    # unsoftened, the first dev question is at best unsure; at 2 it is right
    assert rows[0].dev["right"] == 0.5 and rows[1].dev["right"] == 1.0
    chosen = cf.choose_vote(rows)
    assert (chosen.temperature, chosen.weight) == (2.0, 0.5)
    # the replayed sets the report then uses rank with the chosen vote
    assert cf.revoted(sets, 0.5, 2.0)["dev"][0][0].ranking[0][0] == "service_raha"
    # equal rows: the lower temperature, then the lower weight
    same = cf.vote_grid({"eval": evaluation, "dev": dev[1:]}, [0.6, 0.5], [2.0, 1.0])
    assert (cf.choose_vote(same).temperature, cf.choose_vote(same).weight) == (1.0, 0.5)


def test_a_bad_list_of_numbers_is_refused_with_an_example():
    import argparse

    assert cf._floats("1, 1.5,2") == [1.0, 1.5, 2.0]
    for bad in ("1,x", ""):
        with pytest.raises(
            argparse.ArgumentTypeError, match=r"e\.g\. 0\.4,0\.5|at least"
        ):
            cf._floats(bad)
