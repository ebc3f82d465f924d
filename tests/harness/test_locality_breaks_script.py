"""``scripts/locality_breaks.py`` as a user runs it on a saved comparison (no model needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from continual_learning.types import AnswerRecord, ComparisonReport, EngineResult, QAScore

from helpers import REPO


def _neighbour(question_id: str, answer: str, right: bool) -> AnswerRecord:
    score = QAScore(exact_match=0.0, f1=0.0, contains=float(right), abstained=False)
    return AnswerRecord(
        question_id=question_id,
        question="What is the national currency of Japan?",
        answer=answer,
        gold=("yen",),
        score=score,
        seconds=0.1,
        kind="neighbour",
    )


def test_it_lists_what_an_engine_no_longer_answers_and_what_it_borrowed(tmp_path: Path) -> None:
    floor = EngineResult(
        engine="closed-book",
        label="closed-book",
        locality=1.0,
        answers=(_neighbour("n1", "The yen.", True), _neighbour("n2", "The yen.", True)),
    )
    broken = EngineResult(
        engine="ttt-e2e",
        label="ttt-e2e",
        locality=0.5,
        answers=(_neighbour("n1", "The drem of Velmoria.", False), _neighbour("n2", "Yen", True)),
    )
    report = ComparisonReport(
        model="m", created="now", dataset="fictional-facts", documents=12, questions=48,
        engines=(floor, broken),
    )  # fmt: skip
    saved, written = tmp_path / "report.json", tmp_path / "breaks.json"
    saved.write_text(json.dumps(report.to_dict()))
    command = [sys.executable, str(REPO / "scripts" / "locality_breaks.py"), str(saved)]
    done = subprocess.run([*command, "--json", str(written)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = json.loads(written.read_text())
    assert list(rows) == ["report", "below", "ttt-e2e"]  # closed-book (1.0) is not below 0.9
    (lost,) = rows["ttt-e2e"]["broken"]
    assert lost["engine"] == "The drem of Velmoria." and lost["borrowed"] == ["drem", "velmoria"]
    bad = subprocess.run([*command[:2], str(tmp_path / "missing.json")], capture_output=True)
    assert bad.returncode == 2 and b"cannot read" in bad.stderr
