"""Rasa's FallbackClassifier with its own floor for "I cannot answer that":
`Fallback`.

Rasa's FallbackClassifier asks what was meant when the best intent is below
`threshold`, or within `ambiguity_threshold` of the second. That is right for
an answer that says something about the client (their step, their worker)
or records something. It is not needed when the best guess is
`out_of_scope`: that answer says "En osaa vastata tähän" and offers what the
assistant can tell, which is as honest as the clarifying question, and for a
question about another service it is the better answer (the clarifying
question would offer two of the service's own topics as buttons).

So, when the best intent is `out_of_scope`, the message falls back below
`out_of_scope_threshold` instead of `threshold`. The ambiguity check stays:
a greeting tied with out_of_scope ("iltapäivää") is still asked about rather
than answered "En osaa vastata tähän". Every other intent falls back as in
Rasa. Without `out_of_scope_threshold` (null) it is Rasa's FallbackClassifier.
The value was chosen by measurement on the development set and eval.yml
(benchmarks/calibrate_fallback.py, docs/performance-and-evaluation.md).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

OUT_OF_SCOPE = "out_of_scope"
OUT_OF_SCOPE_THRESHOLD = "out_of_scope_threshold"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class Fallback(FallbackClassifier):
    """FallbackClassifier with a separate floor when the best guess is
    `out_of_scope`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**FallbackClassifier.get_default_config(), OUT_OF_SCOPE_THRESHOLD: None}

    def __init__(self, config: dict[str, Any]) -> None:
        floor = config.get(OUT_OF_SCOPE_THRESHOLD)
        if floor is not None and not 0.0 <= float(floor) <= 1.0:
            raise ValueError(
                f"Fallback: `{OUT_OF_SCOPE_THRESHOLD}` must be between 0 and 1 "
                f"(or null), not {floor}"
            )
        super().__init__(config)

    def _nlu_confidence_below_threshold(self, message: Message) -> tuple[bool, float]:
        floor = self.component_config.get(OUT_OF_SCOPE_THRESHOLD)
        intent = message.data.get(INTENT) or {}
        if floor is None or intent.get(INTENT_NAME_KEY) != OUT_OF_SCOPE:
            return super()._nlu_confidence_below_threshold(message)
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        return confidence < float(floor), confidence
