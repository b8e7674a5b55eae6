"""Structured logs: one JSON object a line, with the client id, no message text."""

from __future__ import annotations

import json
import logging

from polkuopas import logs


def test_json_lines(capsys):
    logs.configure("info", "json")
    logging.getLogger("polkuopas.actions").info(
        "action %s client=%s", "action_greet", "demo-suvi"
    )
    entry = json.loads(capsys.readouterr().err.strip())
    assert entry["level"] == "INFO"
    assert entry["logger"] == "polkuopas.actions"
    assert entry["message"] == "action action_greet client=demo-suvi"


def test_errors_carry_the_traceback(capsys):
    logs.configure("info", "json")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("failed")
    entry = json.loads(capsys.readouterr().err.strip())
    assert entry["message"] == "failed"
    assert "ValueError: boom" in entry["error"]


def test_text_format_and_level(capsys):
    logs.configure("warning", "text")
    logging.getLogger("x").info("hidden")
    logging.getLogger("x").warning("shown")
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert err.rstrip().endswith("WARNING x: shown")
