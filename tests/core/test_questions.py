"""The shipped fictional-fact sets: the 12 documents the defaults grew up on, and the 45-document
set split once into a tuning and a test half (``core/questions.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from continual_learning.core.questions import (
    fictional_fact_probes,
    fictional_fact_set,
    read_questions,
    split_halves,
)
from continual_learning.core.scoring import normalize_answer
from continual_learning.errors import DatasetError


def test_the_halves_split_the_45_documents_once_and_for_all() -> None:
    tuning, tuning_questions = fictional_fact_set("tuning")
    test, test_questions = fictional_fact_set("test")
    shipped, _ = fictional_fact_set("shipped")
    assert (len(tuning), len(test)) == (22, 23)
    assert not {d.id for d in tuning} & {d.id for d in test}
    assert not {d.id for d in tuning + test} & {d.id for d in shipped}
    # Pinned: a change of seed or of the documents' ids would quietly move documents between
    # the halves, and figures reported on "test" would no longer be on documents nobody tuned.
    assert [d.id for d in test][:4] == [
        "marrowcap_isle",
        "ilse_warrender",
        "lantern_tide",
        "ostra_river",
    ]
    assert {q.doc_id for q in tuning_questions} == {d.id for d in tuning}
    assert {q.doc_id for q in test_questions} == {d.id for d in test}


@pytest.mark.parametrize("part", ["shipped", "tuning", "test"])
def test_every_question_is_answered_by_its_own_document(part: str) -> None:
    documents, questions = fictional_fact_set(part)
    text = {d.id: normalize_answer(d.text) for d in documents}
    per_document = {d.id: 0 for d in documents}
    for question in questions:
        per_document[question.doc_id] += 1
        assert any(normalize_answer(a) in text[question.doc_id] for a in question.answers), (
            question.id
        )
    assert min(per_document.values()) >= 4
    assert len({q.id for q in questions}) == len(questions)


def test_the_split_is_a_function_of_the_ids_and_the_seed_only() -> None:
    ids = [f"d{n}" for n in range(9)]
    assert split_halves(ids) == split_halves(list(reversed(ids)))
    tuning, test = split_halves(ids)
    assert sorted(tuning + test) == sorted(ids) and len(test) == 5
    assert split_halves(ids, seed=1) != split_halves(ids)


def test_an_unknown_fact_set_is_a_clear_error() -> None:
    with pytest.raises(DatasetError, match="unknown fact set 'holdout': choose one of shipped"):
        fictional_fact_set("holdout")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "Who?", "answers": []}\n{not json}', "q.jsonl:2: invalid JSON"),
        ('{"answers": ["x"]}', 'q.jsonl:1: each line needs a "question" string'),
        ('{"question": "  ", "answers": ["x"]}', 'q.jsonl:1: the "question" is empty'),
        ('{"question": "Who?", "answers": "x"}', '"answers" must be a list of strings'),
        ("", "has no questions"),
    ],
)
def test_a_bad_questions_file_names_its_line(line: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DatasetError, match=re.escape(message)):
        read_questions(path)


def test_the_shipped_set_has_a_paraphrase_of_every_question_and_neighbours_per_document() -> None:
    documents, questions = fictional_fact_set()
    probes = fictional_fact_probes()
    paraphrases = {q.id.removesuffix("-p"): q for q in probes if q.kind == "paraphrase"}
    assert set(paraphrases) == {q.id for q in questions}
    for question in questions:
        twin = paraphrases[question.id]
        assert (twin.doc_id, twin.answers) == (question.doc_id, question.answers)
        assert twin.question != question.question
    neighbours = [q for q in probes if q.kind == "neighbour"]
    per_document = {d.id: sum(q.doc_id == d.id for q in neighbours) for d in documents}
    assert min(per_document.values()) >= 2, per_document
    assert len(probes) == len(paraphrases) + len(neighbours)


def test_a_question_of_an_unknown_kind_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "Who?", "answers": ["x"], "kind": "rumour"}\n')
    with pytest.raises(DatasetError, match='q.jsonl:1: "kind" is one of fact, paraphrase'):
        read_questions(path)
