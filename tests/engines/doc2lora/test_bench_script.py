"""``scripts/bench_doc2lora.py`` as a user runs it: a subprocess on the shipped hypernetwork."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, require_real_model, squad_article, write_squad

SCRIPT = REPO / "scripts" / "bench_doc2lora.py"


def _squad_file(folder: Path) -> Path:
    """Two articles: with ``--heldout-articles 1`` the first is trained on, the second held out."""
    trained = squad_article(
        "Drem",
        "The drem is the money of Velmoria. One drem buys a loaf of bread.",
        [("What is the money of Velmoria?", "the drem"), ("Who rules Mars?", None)],
    )
    held = squad_article(
        "Plume",
        "Ardent Plume founded Zorblax Quentaro in 1843.",
        [("Who founded Zorblax Quentaro?", "Ardent Plume"), ("When was it founded?", "1843")],
    )
    return write_squad(folder / "squad.json", [trained, held])


def _bench(squad: Path, output: Path, *args: str) -> dict:
    env = dict(os.environ, CL__MODEL__DEVICE="cpu", CL__GENERATION__MAX_NEW_TOKENS="8")
    command = [sys.executable, str(SCRIPT), "--squad", str(squad), "--heldout-articles", "1"]
    command += ["--no-facts", "--json", str(output), *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(output.read_text(encoding="utf-8"))


def _row(report: dict, engine: str) -> dict:
    """A report's row by engine name: rows are never read by position."""
    (row,) = [row for row in report["engines"] if row["engine"] == engine]
    return row


@pytest.mark.real_model
def test_held_out_paragraphs_floor_ceiling_likelihood_and_speed(tmp_path: Path) -> None:
    require_real_model()
    result = _bench(
        _squad_file(tmp_path), tmp_path / "bench.json", "--plot", str(tmp_path / "b.png")
    )

    assert list(result["reports"]) == ["held-out SQuAD"]  # --no-facts: no fictional-fact run
    report = result["reports"]["held-out SQuAD"]
    assert "held-out articles:1 paragraphs" in report["dataset"]
    assert [row["engine"] for row in report["engines"]] == [
        "closed-book",
        "in-context",
        "oracle-context",
        "doc2lora",
    ]
    doc2lora = _row(report, "doc2lora")
    assert doc2lora["error"] is None and doc2lora["tokens_learned"] > 0
    assert [a["question"] for a in doc2lora["answers"]] == [
        "Who founded Zorblax Quentaro?",
        "When was it founded?",
    ]
    likelihood = result["answer_nll"]
    assert likelihood["questions"] == 2
    assert likelihood["in_context_nll"] < likelihood["closed_book_nll"]  # the paragraph helps
    assert 0 <= likelihood["doc2lora_below_closed_book"] <= 2
    speed = result["speed"]
    assert speed["documents"] == 1 and speed["learn_over_forward_median"] > 0
    assert result["card"]["steps"] > 0  # the shipped, trained file: never random weights
    # The settings it ran with come first in the recorded command, so it reruns the same way.
    assert "CL__GENERATION__MAX_NEW_TOKENS=8 CL__MODEL__DEVICE=cpu " in result["command"]
    assert "--no-facts" in result["command"]
    assert (tmp_path / "b.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.real_model
def test_trained_split_asks_about_the_training_articles(tmp_path: Path) -> None:
    require_real_model()
    result = _bench(_squad_file(tmp_path), tmp_path / "bench.json", "--split", "trained")

    report = result["reports"]["SQuAD it trained on"]
    assert "training articles:1 paragraphs" in report["dataset"]
    questions = [a["question"] for a in _row(report, "doc2lora")["answers"]]
    assert questions == ["What is the money of Velmoria?"]  # answerable questions only
    assert result["answer_nll"]["questions"] == 1
