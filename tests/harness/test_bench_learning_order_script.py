"""``scripts/bench_learning_order.py`` as a user runs it, on the tiny model (plumbing: the real
figures are in docs/results.md)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_script, save_tiny_model


def test_both_orders_are_scored_by_the_same_thirds_of_the_set(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "tiny-model")
    output = tmp_path / "order.json"
    result = run_script(
        "bench_learning_order.py",
        *("--engines", "jitrl-mvp", "--fact-set", "shipped", "--json", str(output)),
        env={"CL__MODEL__NAME": str(model), "CL__GENERATION__MAX_NEW_TOKENS": "3"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(output.read_text())["rows"]
    assert [row["order"] for row in rows] == ["as shipped", "reversed"]
    for row in rows:
        assert set(row["by_third_of_the_set"]) == {"first", "middle", "last"}
        assert 0.0 <= row["contains"] <= 1.0
