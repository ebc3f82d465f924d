"""``compare`` and ``bench`` as a user runs them (on the tiny model: this tests the plumbing)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_cli, save_tiny_model


def test_compare_writes_json_plot_and_predictions(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "tiny-model")
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        json.dumps({"id": "v", "text": "Zorblax Quentaro is the capital of Velmoria."})
        + "\n"
        + json.dumps({"id": "k", "text": "The Kestrel-9 was captained by Ingrid Solvay."})
        + "\n"
    )
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "q1",
                "doc_id": "v",
                "question": "Capital of Velmoria?",
                "answers": ["Zorblax Quentaro"],
            }
        )
        + "\n"
        + json.dumps({"id": "q2", "doc_id": "k", "question": "Who rules Velmoria?", "answers": []})
        + "\n"
    )
    result = run_cli(
        "--model",
        str(model),
        "compare",
        "--engines",
        "jitrl-mvp",
        "--documents",
        str(docs),
        "--questions",
        str(questions),
        "--heldout",
        "0",
        "--max-new-tokens",
        "4",
        "--json",
        str(tmp_path / "r.json"),
        "--plot",
        str(tmp_path / "r.png"),
        "--predictions",
        str(tmp_path / "pred"),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [e["label"] for e in report["engines"]] == ["closed-book", "in-context", "jitrl-mvp"]
    assert (tmp_path / "r.png").stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == [
        "closed-book.json",
        "in-context.json",
        "jitrl-mvp.json",
    ]


def test_questions_about_unknown_documents_are_refused(tmp_path: Path) -> None:
    docs = tmp_path / "d.txt"
    docs.write_text("Some text.")
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"doc_id": "nope", "question": "?", "answers": ["x"]}) + "\n")
    result = run_cli("compare", "--documents", str(docs), "--questions", str(questions))
    assert result.returncode != 0
    assert "unknown documents: nope" in result.stderr
