"""Which language a client wrote in: Finnish, Swedish or English.

The assistant speaks Finnish. A message in Swedish or English gets an honest
answer in that language (the service speaks Finnish for now, and who can help
in the client's language), so the channel asks `detect()` first.

Chosen by measurement (`python -m benchmarks.language_id`, reports/language-id.md):
lingua limited to the three languages, and a message counts as Swedish or
English only when it has at least MIN_WORDS words and that language's
confidence is at least THRESHOLD. On every Finnish sentence of the training
data and the evaluation sets (spoken Finnish, typos, no ä/ö) this keeps
Finnish. Anything short or unsure stays Finnish: a Finnish client must never
be answered in another language because of a typo or a slang word.
py3langid 0.4 measured as well as lingua but needs NumPy 2, which Rasa 3.6's
TensorFlow cannot run with; its older releases called short Finnish phrases
English.
"""

from __future__ import annotations

import re
from functools import lru_cache

FINNISH, SWEDISH, ENGLISH = "fi", "sv", "en"
LANGUAGES = (FINNISH, SWEDISH, ENGLISH)
THRESHOLD = 0.7
# One word says too little ("terkan", "hej", "moro"): Finnish.
MIN_WORDS = 2
_WORD = re.compile(r"[^\W\d_]{2,}")


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    codes = {Language.FINNISH: FINNISH, Language.SWEDISH: SWEDISH}
    codes[Language.ENGLISH] = ENGLISH
    detector = (
        LanguageDetectorBuilder.from_languages(*codes)
        .with_preloaded_language_models()
        .build()
    )
    return detector, codes


def load() -> None:
    """Load the language models now (about 130 MB), not on the first message."""
    _detector()


def classify(text: str) -> tuple[str, float]:
    """The most likely of fi/sv/en and its confidence (0–1)."""
    detector, codes = _detector()
    values = detector.compute_language_confidence_values(text)
    if not values:
        return FINNISH, 0.0
    return codes[values[0].language], float(values[0].value)


def detect(text: str) -> str:
    """ "fi", "sv" or "en": Finnish unless another language is clear."""
    if len(_WORD.findall(text)) < MIN_WORDS:
        return FINNISH
    language, confidence = classify(text)
    if language != FINNISH and confidence >= THRESHOLD:
        return language
    return FINNISH
