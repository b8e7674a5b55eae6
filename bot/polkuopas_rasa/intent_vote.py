"""A second intent classifier that votes with DIET: `IntentVote`.

One DIET model is one draw. Trained again on the same data with another seed,
it answers a tenth of the copied questions differently, and it is often sure
of a wrong answer (confidence 0.99). Logistic regression on the same sentence
features (Rasa's LogisticRegressionClassifier) makes other mistakes and is
less sure of them. `IntentVote` is that classifier, placed right after
DIETClassifier in bot/config.yml: it averages DIET's intent ranking with its
own probabilities, `weight` for its own share, after softening DIET's
confidences by `temperature` (`soften`): DIET is often sure (0.96 and more)
of an answer the regression gives little; softened at 2, its 0.96 counts as
0.83, and a regression sure of the other answer can carry the vote. Where
the two agree the answer stands; where they disagree, the best intent
scores lower and the FallbackClassifier after it asks what was meant
instead of answering.

Chosen by measurement on the development set tests/nlu/dev.yml and eval.yml
(docs/performance-and-evaluation.md, "Two classifiers that vote"). Entities
stay DIET's. On a message with no word or character n-gram it knows (an
emoji, another alphabet) the regression abstains: it gives every intent the
same share, so DIET alone cannot carry the message over the fallback
threshold unless it is sure. Training adds a few minutes to `make train` (a
second DIET would add a quarter of an hour).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import (
    LogisticRegressionClassifier,
)
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from polkuopas_rasa.voting import combine, soften

__all__ = ["IntentVote", "combine", "knows_a_word", "soften"]

WEIGHT = "weight"
TEMPERATURE = "temperature"


def _import_skops() -> None:
    """Import skops.io (which Rasa's logistic regression persists with) now,
    keeping the root logger's level: importing it pulls in numpy.distutils,
    whose setuptools log sets the root logger to WARNING, and every INFO line
    after the model loaded (the channel's, the gc.freeze line) would be lost."""
    root = logging.getLogger()
    level = root.level
    import skops.io  # noqa: F401

    root.setLevel(level)


_import_skops()


def knows_a_word(message: Message) -> bool:
    """Whether the message has a sparse sentence feature (a known word or
    character n-gram); the dense spaCy vector is there for any text."""
    sparse = message.get_sparse_features(TEXT)[1]
    return sparse is not None and sparse.features.nnz > 0


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class IntentVote(LogisticRegressionClassifier):
    """Logistic regression whose probabilities are averaged with the intent
    ranking of the classifier before it (DIET)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            WEIGHT: 0.5,
            TEMPERATURE: 1.0,
        }

    def __init__(self, config: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        weight = float(self.config[WEIGHT])
        if not 0.0 <= weight <= 1.0:
            raise ValueError(
                f"IntentVote: `weight` must be between 0 and 1, not {weight}"
            )
        self.weight = weight
        temperature = float(self.config[TEMPERATURE])
        if not temperature > 0.0:
            raise ValueError(
                f"IntentVote: `temperature` must be above 0, not {temperature}"
            )
        self.temperature = temperature

    def process(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        probabilities = self.clf.predict_proba(self._create_X(messages))
        classes = [str(name) for name in self.clf.classes_]
        length = int(self.config["ranking_length"])
        for message, row in zip(messages, probabilities, strict=True):
            if not knows_a_word(message):
                # No word or character n-gram of the message was in the
                # training data (an emoji, another alphabet): the regression
                # would answer from its intercepts and the spaCy vector
                # alone. It abstains: every intent alike.
                row = [1.0 / len(classes)] * len(classes)
            own = dict(zip(classes, (float(p) for p in row), strict=True))
            ranking = combine(
                message.get(INTENT_RANKING_KEY) or [],
                own,
                self.weight,
                length,
                self.temperature,
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
