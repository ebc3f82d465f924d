"""``compare`` and ``bench`` as a user runs them (on the tiny model: this tests the plumbing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from helpers import cli, save_tiny_model


def _fact_files(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "v", "text": "Zorblax Quentaro is the capital of Velmoria."}))
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": f"q{n}", "doc_id": "v", "question": f"Capital of Velmoria, {n}?", "answers": ["Z"]}
        for n in range(6)
    ]
    questions.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return docs, questions


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
        + json.dumps(
            {"id": "p1", "doc_id": "v", "question": "Velmoria's capital is?", "answers": ["Z"]}
            | {"kind": "paraphrase"}
        )
        + "\n"
        + json.dumps(
            {"id": "n1", "doc_id": "v", "question": "Capital of France?", "answers": ["Paris"]}
            | {"kind": "neighbour"}
        )
        + "\n"
    )
    result = cli(
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
        "--report",
        str(tmp_path / "r.json"),
        "--json",
        "--plot",
        str(tmp_path / "r.png"),
        "--predictions",
        str(tmp_path / "pred"),
        "--answer-style",
        "short",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert json.loads(result.stdout) == report  # --json: the same report on stdout, for scripts
    assert report["answer_style"] == "short"
    assert [e["label"] for e in report["engines"]] == [
        "closed-book",
        "in-context",
        "oracle-context",
        "jitrl-mvp",
    ]
    assert (tmp_path / "r.png").stat().st_size > 0
    assert report["questions"] == 2  # the facts; the paraphrase and the neighbour are probes
    for row in report["engines"]:
        assert sorted(a["kind"] for a in row["answers"]) == [
            "fact",
            "fact",
            "neighbour",
            "paraphrase",
        ]
        assert row["paraphrase_contains"] is not None
        assert not any("\n" in a["answer"] for a in row["answers"])  # a short answer: one line
    predicted = json.loads((tmp_path / "pred" / "jitrl-mvp.json").read_text())
    assert sorted(predicted) == ["q1", "q2"]  # official SQuAD files hold the facts only
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == [
        "closed-book.json",
        "in-context.json",
        "jitrl-mvp.json",
        "oracle-context.json",
    ]


def test_compare_runs_a_stream_of_the_given_files(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "tiny-model")
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(json.dumps({"id": i, "text": f"{i} is a place."}) + "\n" for i in "abc")
    )
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "doc_id": i, "question": f"What is {i}?", "answers": [i]})
            + "\n"
            for i in "abc"
        )
    )
    result = cli(
        "--model", str(model), "compare", "--engines", "jitrl-mvp", "--documents", str(docs),
        "--questions", str(questions), "--stream", "3", "--heldout", "0", "--reading", "0",
        "--max-new-tokens", "2", "--report", str(tmp_path / "s.json"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["episodes"] == 3 and report["questions"] == 3
    (run,) = [r for r in report["runs"] if r["label"] == "jitrl-mvp"]
    assert run["episodes"] == [["a"], ["b"], ["c"]] and run["question_episode"] == [0, 1, 2]


def test_questions_about_unknown_documents_are_refused(tmp_path: Path) -> None:
    docs = tmp_path / "d.txt"
    docs.write_text("Some text.")
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"doc_id": "nope", "question": "?", "answers": ["x"]}) + "\n")
    result = cli("compare", "--documents", str(docs), "--questions", str(questions))
    assert result.returncode != 0
    assert "unknown documents: nope" in result.stderr


def test_a_comparison_redirected_to_a_file_writes_its_progress_there_while_it_runs(
    tmp_path: Path,
) -> None:
    model = save_tiny_model(tmp_path / "tiny-model")
    docs, questions = _fact_files(tmp_path)
    log = tmp_path / "run.log"
    command = [sys.executable, "-m", "continual_learning.cli.main", "--model", str(model)]
    command += ["compare", "--engines", "jitrl-full", "--documents", str(docs)]
    command += ["--questions", str(questions), "--heldout", "0", "--max-new-tokens", "48"]
    command += ["--batch-size", "2", "--report", str(tmp_path / "r.json")]
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=os.environ)
        seen_while_running = ""
        while process.poll() is None and "started" not in seen_while_running:
            time.sleep(0.05)
            seen_while_running = log.read_text()
        assert process.wait(timeout=600) == 0, log.read_text()
    assert "engines  0/4  started" in seen_while_running  # written before the run ended
    text = log.read_text()
    assert "answer jitrl_full  6/6" in text and "done in" in text
    assert text.index("learn jitrl_full  0/") < text.index("answer jitrl_full  0/")
    assert text.index("answer jitrl_full") < text.index("report: ")  # progress came first
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["batch_size"] == 2


def test_batch_size_must_be_a_positive_number(tmp_path: Path) -> None:
    docs, questions = _fact_files(tmp_path)
    for bad in ("0", "-3", "many"):
        result = cli(
            "compare", "--documents", str(docs), "--questions", str(questions), "--batch-size", bad
        )
        assert result.returncode == 2
        assert "--batch-size: must be a whole number of at least 1" in result.stderr


def test_bench_facts_on_the_test_half_with_no_squad_still_measures_forgetting(
    tmp_path: Path,
) -> None:
    model = save_tiny_model(tmp_path / "tiny-model")
    result = cli(
        "--model", str(model), "bench", "facts", "--fact-set", "test", "--engines", "jitrl-mvp",
        "--max-new-tokens", "2", "--report", str(tmp_path / "r.json"),
        env={"CL__SQUAD__PATH": "", "CL__SQUAD__URL": "http://127.0.0.1:9/dev-v2.0.json"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "perplexity on the shipped held-out paragraphs" in " ".join(result.stderr.split())
    report = json.loads((tmp_path / "r.json").read_text())
    assert "10 shipped held-out paragraphs" in report["heldout_source"]
    assert (report["dataset"], report["documents"], report["questions"]) == (
        "fictional-facts:test",
        23,
        92,
    )
    for row in report["engines"]:
        assert len(row["contains_by_position"]) == 3
        assert row["forgetting"]["perplexity_before"] > 0
        assert row["forgetting"]["perplexity_after"] > 0
