from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from continual_learning.core.scoring import score_answer, wilson_interval
from continual_learning.harness import ComparisonInputs, EngineRun, compare
from continual_learning.harness.outputs import write_json, write_plot, write_predictions
from continual_learning.harness.runner import contains_by_position, with_locality
from continual_learning.types import AnswerRecord, Document, EngineResult, QAItem

from helpers import build_tiny_backbone, make_config

DOCS = (
    Document(id="v", text="Zorblax Quentaro is the capital of Velmoria."),
    Document(id="k", text="The Kestrel-9 airship was captained by Ingrid Solvay."),
)
QUESTIONS = (
    QAItem(
        id="q1",
        question="What is the capital of Velmoria?",
        answers=("Zorblax Quentaro",),
        doc_id="v",
    ),
    QAItem(
        id="q2", question="Who captained the Kestrel-9?", answers=("Ingrid Solvay",), doc_id="k"
    ),
    QAItem(id="q3", question="Who rules Velmoria?", answers=(), doc_id="v"),
)
INPUTS = ComparisonInputs(
    dataset="tiny",
    documents=DOCS,
    questions=QUESTIONS,
    heldout_questions=(
        QAItem(id="h1", question="What is the capital of France?", answers=("Paris",)),
    ),
    heldout_texts=("Paris is the capital and largest city of France.",),
)


def _report(runs):  # type: ignore[no-untyped-def]
    config = make_config(generation={"max_new_tokens": 4})
    return compare(runs, INPUTS, build_tiny_backbone(), config)


def test_every_engine_runs_with_the_baselines_and_a_failure_is_reported() -> None:
    runs = [
        EngineRun(engine="jitrl-mvp"),
        EngineRun(engine="jitrl-mvp", label="broken", overrides={"chunk_overlap": 999}),
        EngineRun(engine="jitrl-full"),
    ]
    report = _report(runs)
    labels = [r.label for r in report.engines]
    expected = ["closed-book", "in-context", "oracle-context", "jitrl-mvp", "broken", "jitrl-full"]
    assert labels == expected
    (broken,) = [r for r in report.engines if r.label == "broken"]
    assert broken.failed and "chunk_overlap" in broken.error
    for row in (r for r in report.engines if not r.failed):
        assert len(row.answers) == 3
        assert row.tokens_learned > 0
        assert row.forgetting is not None and row.forgetting.heldout_questions == 1
        assert (
            row.forgetting.perplexity_before == row.forgetting.perplexity_after
        )  # no weights changed
        assert row.abstain_accuracy is not None
    # The held-out question is decoded once: closed-book's own request after learning nothing,
    # and every engine's before it learned, are the untouched backbone's same request.
    reused = {r.label: r.reused_answers for r in report.engines}
    assert reused["closed-book"] == 1
    assert reused["in-context"] == reused["jitrl-mvp"] == reused["jitrl-full"] == 1


def test_outputs_agree_with_the_scores(tmp_path: Path) -> None:
    report = _report([EngineRun(engine="jitrl-mvp")])
    write_json(report, tmp_path / "report.json")
    data = json.loads((tmp_path / "report.json").read_text())
    assert {"model", "created", "dataset", "engines"} <= set(data)
    assert {
        "exact_match",
        "f1",
        "contains",
        "abstain_accuracy",
        "recovery",
        "learn_seconds",
        "eval_seconds",
        "tokens_learned",
        "forgetting",
        "answers",
    } <= set(next(row for row in data["engines"] if row["label"] == "jitrl-mvp"))
    files = write_predictions(report, tmp_path / "predictions")
    assert len(files) == 4
    for result, path in zip(report.engines, files, strict=True):
        predictions = json.loads(path.read_text())
        rescored = [score_answer(predictions[q.id], q.answers) for q in QUESTIONS]
        assert sum(s.exact_match for s in rescored) / 3 == result.exact_match
        assert sum(s.f1 for s in rescored) / 3 == result.f1
    write_plot(report, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_contains_by_position_follows_the_learning_order_within_each_episode() -> None:
    documents = tuple(Document(id=f"d{n}", text=f"Document {n}.") for n in range(6))
    questions = tuple(
        QAItem(id=f"q{n}", question=f"Question {n}?", answers=("yes",), doc_id=f"d{n}")
        for n in range(6)
    )
    right = {"q0", "q4"}

    def record(question: QAItem) -> AnswerRecord:
        answer = "yes" if question.id in right else "no"
        score = score_answer(answer, question.answers)
        return AnswerRecord(
            question_id=question.id,
            question=question.question,
            answer=answer,
            gold=question.answers,
            score=score,
            seconds=0.0,
        )

    records = [record(q) for q in questions]
    inputs = ComparisonInputs(dataset="six", documents=documents, questions=questions)
    # One episode of six: d0 d1 | d2 d3 | d4 d5.
    assert contains_by_position(inputs, records) == (0.5, 0.0, 0.5)
    # Two episodes of three, each learned from scratch: d0 d3 | d1 d4 | d2 d5.
    episodic = dataclasses.replace(inputs, episode_size=3)
    assert contains_by_position(episodic, records) == (0.5, 0.5, 0.0)


def test_episodes_clear_the_engine_between_groups() -> None:
    episodic = ComparisonInputs(dataset="tiny", documents=DOCS, questions=QUESTIONS, episode_size=1)
    groups = episodic.episodes()
    assert [[d.id for d in docs] for docs, _ in groups] == [["v"], ["k"]]
    assert [[q.id for q in qs] for _, qs in groups] == [["q1", "q3"], ["q2"]]


def test_ace_with_no_server_is_reported_as_failed_with_its_reason() -> None:
    dead = {"backend": "ollama", "base_url": "http" + "://127.0.0.1:9", "max_retries": 0}
    report = _report([EngineRun(engine="ace", overrides=dead), EngineRun(engine="jitrl-mvp")])
    rows = {r.label: r for r in report.engines}
    assert rows["ace"].failed and "Ollama at" in rows["ace"].error
    assert "ollama serve" in rows["ace"].error
    assert not rows["jitrl-mvp"].failed  # the others still ran


def test_without_squad_the_forgetting_columns_use_the_shipped_heldout_paragraphs() -> None:
    from continual_learning.harness import fictional_fact_inputs
    from continual_learning.ui.render import comparison_table, forgetting_table

    shipped = fictional_fact_inputs()  # no SQuAD file: what a fresh clone offline gets
    assert len(shipped.heldout_texts) == 10 and not shipped.heldout_questions
    assert "shipped held-out paragraphs" in shipped.heldout_source
    inputs = ComparisonInputs(
        dataset="tiny",
        documents=DOCS,
        questions=QUESTIONS,
        heldout_texts=shipped.heldout_texts[:2],
        heldout_source=shipped.heldout_source,
    )
    config = make_config(generation={"max_new_tokens": 4})
    report = compare([EngineRun(engine="jitrl-mvp")], inputs, build_tiny_backbone(), config)
    assert report.heldout_source == shipped.heldout_source
    for row in report.engines:
        f = row.forgetting
        assert f is not None and f.heldout_texts == 2 and f.qa_before is None and f.bwt is None
        assert f.perplexity_before == pytest.approx(f.perplexity_after)  # retrieval forgets nothing
        assert 0.0 <= row.repeating <= 1.0
    for table in (comparison_table(report), forgetting_table(report)):
        assert table.row_count == 4
    # Two documents: the first in the first third, the second in the middle one, none last.
    (by_position,) = [c for c in comparison_table(report).columns if "third" in str(c.header)]
    assert all(str(cell).endswith("/-") for cell in by_position.cells)
    assert all(len(row.contains_by_position) == 3 for row in report.engines)


def _row(label: str, neighbours_right: set[str]) -> EngineResult:
    answers = tuple(
        AnswerRecord(
            question_id=f"n{n}",
            question="?",
            answer="right" if f"n{n}" in neighbours_right else "wrong",
            gold=("right",),
            score=score_answer("right" if f"n{n}" in neighbours_right else "wrong", ("right",)),
            seconds=0.0,
            kind="neighbour",
        )
        for n in range(5)
    )
    return EngineResult(engine=label, label=label, contains=0.0, answers=answers)


def test_locality_is_over_the_neighbours_closed_book_answers() -> None:
    closed = _row("closed-book", {"n0", "n1", "n2", "n3"})  # n4: the model never knew it
    engine = _row("ttt-e2e", {"n0", "n1", "n4"})  # broke n2 and n3; n4 does not count
    rows = {r.label: r for r in with_locality([closed, engine])}
    assert rows["closed-book"].locality == 1.0
    assert rows["ttt-e2e"].locality == 0.5 and rows["ttt-e2e"].locality_neighbours == 4
    low, high = rows["ttt-e2e"].locality_interval
    assert low < 0.5 < high and (low, high) == wilson_interval(2, 4)
    assert rows["ttt-e2e"].locality_text() == f"0.50 [{low:.2f}, {high:.2f}]"
    # Without a closed-book row (or neighbours it answers) there is nothing to keep.
    assert with_locality([engine])[0].locality is None


def test_the_wilson_interval_stays_inside_zero_and_one() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and 0.7 < low < 0.73
    assert wilson_interval(0, 10)[0] == 0.0
