"""Language identification measured: Finnish must stay Finnish, Swedish and
English must be told apart, on sentences nobody here wrote for this.

    .venv-rasa/bin/python -m benchmarks.language_id --out reports/language-id.md

Finnish: every sentence of data/nlu/ (the training data, written with typos
and without ä/ö on purpose), tests/nlu/eval.yml and tests/nlu/realworld.yml
(copied from public pages), less the intent other_language (Swedish and
English on purpose) and the few others listed in tests/nlu/languages.yml.
Swedish and English: tests/nlu/languages.yml (copied from public pages).
Measured: the shipped detector
(bot/polkuopas_rasa/language.py) and, when they are importable in the same
environment, the other candidates (py3langid 0.4, which needs NumPy 2, and
pycld2), each at
several thresholds. Standard library and PyYAML besides the detectors.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE_SET = ROOT / "tests" / "nlu" / "languages.yml"
FINNISH_SETS = {
    "data/nlu (training)": sorted((ROOT / "data" / "nlu").glob("**/*.yml")),
    "tests/nlu/eval.yml": [ROOT / "tests" / "nlu" / "eval.yml"],
    "tests/nlu/realworld.yml": [ROOT / "tests" / "nlu" / "realworld.yml"],
}
THRESHOLDS = (0.5, 0.7, 0.9)
ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def rasa_examples(file: Path) -> list[str]:
    """The example texts of a Rasa NLU file, entity annotations removed."""
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    texts: list[str] = []
    for item in data.get("nlu", []) or []:
        if item.get("intent") == "other_language":
            continue  # Swedish and English on purpose
        for line in (item.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                texts.append(ANNOTATION.sub(r"\1", line[2:]).strip())
    return texts


def realworld_texts(file: Path) -> list[str]:
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    items = data.get("questions", data) if isinstance(data, dict) else data
    return [item["text"] for item in items or [] if isinstance(item, dict)]


def finnish_sets() -> dict[str, list[str]]:
    not_finnish = set(yaml.safe_load(LANGUAGE_SET.read_text())["not_finnish"])
    sets: dict[str, list[str]] = {}
    for name, files in FINNISH_SETS.items():
        texts: list[str] = []
        for file in files:
            if not file.exists():
                continue
            texts += (
                rasa_examples(file)
                if "nlu:" in file.read_text()
                else (realworld_texts(file))
            )
        if texts:
            sets[name] = [t for t in texts if t not in not_finnish]
    return sets


def other_sets() -> dict[str, list[str]]:
    sentences = yaml.safe_load(LANGUAGE_SET.read_text())["sentences"]
    return {
        lang: [s["text"] for s in sentences if s["language"] == lang]
        for lang in ("sv", "en")
    }


Classifier = Callable[[str], tuple[str, float]]


def candidates() -> dict[str, Classifier]:
    from polkuopas_rasa import language

    found: dict[str, Classifier] = {"lingua (shipped)": language.classify}
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        identifier.set_languages(["fi", "sv", "en"])

        def py3langid(text: str) -> tuple[str, float]:
            lang, probability = identifier.classify(text)
            return str(lang), float(probability)

        found["py3langid"] = py3langid
    except (ImportError, AttributeError):
        pass
    try:
        import pycld2

        def cld2(text: str) -> tuple[str, float]:
            _, _, details = pycld2.detect(text)
            return details[0][1], details[0][2] / 100

        found["pycld2"] = cld2
    except ImportError:
        pass
    return found


def decide(classify: Classifier, text: str, threshold: float) -> str:
    from polkuopas_rasa import language

    if len(language._WORD.findall(text)) < language.MIN_WORDS:
        return "fi"
    lang, probability = classify(text)
    return lang if lang in ("sv", "en") and probability >= threshold else "fi"


def measure() -> tuple[list[str], list[list[str]], dict[str, list[str]]]:
    fi_sets = finnish_sets()
    others = other_sets()
    header = ["detector", "threshold"]
    header += [f"{name}: stays Finnish" for name in fi_sets]
    header += ["Swedish found", "English found", "ms / message"]
    rows: list[list[str]] = []
    misses: dict[str, list[str]] = {}
    for name, classify in candidates().items():
        for threshold in THRESHOLDS:
            row = [name, f"{threshold:.1f}"]
            started, count = time.perf_counter(), 0
            for set_name, texts in fi_sets.items():
                wrong = [t for t in texts if decide(classify, t, threshold) != "fi"]
                count += len(texts)
                row.append(f"{len(texts) - len(wrong)}/{len(texts)}")
                misses[f"{name} {threshold:.1f} {set_name}"] = wrong
            for lang in ("sv", "en"):
                texts = others[lang]
                right = sum(decide(classify, t, threshold) == lang for t in texts)
                count += len(texts)
                row.append(f"{right}/{len(texts)}")
            row.append(f"{(time.perf_counter() - started) / count * 1000:.2f}")
            rows.append(row)
    return header, rows, misses


def report(header: list[str], rows: list[list[str]], misses) -> str:
    lines = [
        "# Language identification",
        "",
        f"From `python -m benchmarks.language_id` on {date.today().isoformat()} "
        "with a Python 3.10 environment holding the bot's packages and the "
        "other candidates (`pip install lingua-language-detector==2.1.1 "
        "py3langid==0.4.0 pycld2`; py3langid 0.4 needs NumPy 2, which Rasa's "
        "TensorFlow cannot use, so the project installs only lingua). "
        "The shipped detector is `bot/polkuopas_rasa/language.py`: at its "
        "threshold (0.7) and with at least two words. What is measured is in "
        "the module docstring of `benchmarks/language_id.py`.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    wrong = {k: v for k, v in misses.items() if v}
    lines += ["", "## Finnish sentences taken for another language", ""]
    if not wrong:
        lines.append("None.")
    for key, texts in wrong.items():
        lines.append(f"- {key}: " + "; ".join(f"«{t}»" for t in texts[:8]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    text = report(*measure())
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
