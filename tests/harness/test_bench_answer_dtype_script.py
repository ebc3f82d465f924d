"""``scripts/bench_answer_dtype.py`` as a user runs it, on the tiny model (plumbing: the figures
are the real script's, on the real model, in docs/speed.md)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_script, save_tiny_model


def test_every_setting_answers_every_question_and_the_json_says_what_changed(
    tmp_path: Path,
) -> None:
    model = save_tiny_model(tmp_path / "tiny-model")
    output = tmp_path / "answer-dtype.json"
    result = run_script(
        "bench_answer_dtype.py",
        *("--engines", "closed-book,in-context", "--settings", "weights:2,bfloat16:4"),
        *("--json", str(output)),
        env={"CL__MODEL__NAME": str(model), "CL__GENERATION__MAX_NEW_TOKENS": "3"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(output.read_text())
    assert data["settings"] == ["weights b2", "bfloat16 b4"]
    for engine in data["engines"]:
        first, second = engine["settings"]
        assert first["differ"] == 0  # the reference against itself
        assert len(first["answers"]) == len(second["answers"]) == 48
        assert 0 <= second["differ"] <= 48 and second["tokens_per_second"] > 0
    assert "contains / F1" in result.stdout
