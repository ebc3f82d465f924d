"""``scripts/bench_speed.py`` as a user runs it, on the tiny model (plumbing: the figures are the
real script's, on the real model, in docs/results.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_script, save_tiny_model


@pytest.mark.slow
def test_bench_speed_times_engines_and_the_harness_and_writes_json(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "tiny-model")
    output = tmp_path / "speed.json"
    result = run_script(
        "bench_speed.py",
        *("--engines", "closed-book,jitrl-mvp,ttt-e2e", "--documents", "1"),
        *("--questions", "3", "--tokens", "3", "--repeats", "1", "--sweep", "1,2", "--harness"),
        *("--harness-engines", "closed-book", "--work-dir", str(tmp_path / "work")),
        *("--json", str(output)),
        env={
            "CL__MODEL__NAME": str(model),
            "CL__HARNESS__BATCH_SIZE": "2",
            "CL__GENERATION__MAX_NEW_TOKENS": "3",
            "CL__TTT_E2E__EPOCHS": "1",
            "CL__TTT_E2E__CALIBRATION_SAMPLES": "8",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(output.read_text())
    assert [row["engine"] for row in data["engines"]] == ["closed-book", "jitrl-mvp", "ttt-e2e"]
    for row in data["engines"]:
        for size in ("batch_1", "batch_2"):
            assert row[size]["engine_ms_per_token"] > 0 and row[size]["ratio"] > 0
    sweep = {(r["prompt"], r["answer_dtype"], r["batch_size"]) for r in data["batch_size_sweep"]}
    prompts, dtypes = ("closed-book", "in-context"), ("float32", "bfloat16")
    assert sweep == {(p, d, b) for p in prompts for d in dtypes for b in (1, 2)}
    harness = data["harness"]
    assert [run["batch_size"] for run in harness["runs"]] == [1, 2]
    assert all(run["log_lines_while_running"] > 0 for run in harness["runs"])
    assert {row["engine"] for row in harness["engines"]} == {
        "closed-book",
        "in-context",
        "oracle-context",
    }
    assert all(row["answers"] == 48 for row in harness["engines"])
    settings = data["command"].split(".venv/bin/python")[0]
    assert "CL__GENERATION__MAX_NEW_TOKENS=3 " in settings
    assert "ms per generated token" in result.stdout
