"""The vote's arithmetic, without Rasa: DIET's ranking softened by a
temperature and averaged with the regression's probabilities.

`polkuopas_rasa.intent_vote.IntentVote` calls it for every message;
benchmarks/calibrate_fallback.py replays it on recorded rankings to choose
the weight and the temperature.
"""

from __future__ import annotations

from typing import Any


def soften(
    earlier: list[dict[str, Any]], temperature: float
) -> list[tuple[str, float]]:
    """The earlier ranking as (intent, confidence), each confidence raised to
    1/`temperature` and summed to one over the intents it lists.

    At 1 the confidences stay as they are. Above 1 a sure answer becomes less
    sure (at 2, 0.99 against 0.01 becomes 0.91 against 0.09), so that the
    regression can outvote a DIET model that is sure of the opposite. The
    order of the intents does not change.
    """
    named = [
        (str(item["name"]), max(float(item.get("confidence") or 0.0), 0.0))
        for item in earlier
        if item.get("name")
    ]
    if temperature == 1.0:
        return named
    raised = [(name, c ** (1.0 / temperature)) for name, c in named]
    total = sum(c for _, c in raised)
    if total <= 0.0:
        return named
    return [(name, c / total) for name, c in raised]


def combine(
    earlier: list[dict[str, Any]],
    own: dict[str, float],
    weight: float,
    length: int,
    temperature: float = 1.0,
) -> list[dict[str, Any]]:
    """The averaged ranking, best first, at most `length` long (0: all).

    `earlier` is the ranking the classifier before left on the message (DIET
    lists its best ten; an intent it does not list counts as 0), softened by
    `temperature` (`soften`); `own` has a probability for every intent.
    Without an earlier ranking, `own` alone.
    """
    if not earlier:
        weight = 1.0
    scores = {name: weight * p for name, p in own.items()}
    for name, confidence in soften(earlier, temperature):
        scores[name] = scores.get(name, 0.0) + (1.0 - weight) * confidence
    ranking = [
        {"name": name, "confidence": score}
        for name, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return ranking[:length] if length > 0 else ranking
