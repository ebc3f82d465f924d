"""What `bench squad` learns and holds out, on the official dev set (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from continual_learning.core.squad import load_squad, split_by_article
from continual_learning.errors import DatasetError
from continual_learning.harness import squad_inputs


def test_every_article_by_default(squad_dev_path: Path) -> None:
    inputs = squad_inputs(squad_dev_path, n=50, heldout=10, episode_size=10)
    learned = {d.id for d in inputs.documents}
    heldout = set(inputs.heldout_texts)
    assert len(learned) == 50 and len(inputs.heldout_questions) == 10
    assert not heldout & {d.text for d in inputs.documents}
    assert {q.doc_id for q in inputs.questions} == learned
    assert len(inputs.episodes()) == 5
    assert inputs.dataset == "squad:dev-v2.0.json:n=50:seed=0"


def test_last_articles_keeps_learned_and_heldout_paragraphs_inside_them(
    squad_dev_path: Path,
) -> None:
    trained_on, last_five = split_by_article(load_squad(squad_dev_path), 5)
    assert len({p.title for p in last_five}) == 5
    inside = {p.context for p in last_five}

    inputs = squad_inputs(squad_dev_path, n=50, heldout=10, last_articles=5)

    assert {d.text for d in inputs.documents} <= inside
    assert set(inputs.heldout_texts) <= inside
    assert not set(inputs.heldout_texts) & {d.text for d in inputs.documents}
    assert not {d.text for d in inputs.documents} & {p.context for p in trained_on}
    assert inputs.dataset.endswith(":last-articles=5")
    # seeded: the same call draws the same paragraphs
    again = squad_inputs(squad_dev_path, n=50, heldout=10, last_articles=5)
    assert [d.id for d in again.documents] == [d.id for d in inputs.documents]


def test_more_articles_than_the_file_has_means_all_of_them(squad_dev_path: Path) -> None:
    paragraphs = load_squad(squad_dev_path)
    rest, held = split_by_article(paragraphs, 10_000)
    assert rest == [] and len(held) == len(paragraphs)
    assert split_by_article(paragraphs, 0) == (paragraphs, [])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 50, "last_articles": -1}, "last_articles must be 0"),
        ({"n": 1000, "last_articles": 5}, "only 217 are available"),
        ({"n": 210, "last_articles": 5}, "only 7 left after the 210 learned in the last 5"),
    ],
)
def test_impossible_draws_are_clear_errors(
    squad_dev_path: Path, kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(DatasetError, match=message):
        squad_inputs(squad_dev_path, heldout=10, **kwargs)


def test_held_out_questions_are_asked_without_and_with_their_paragraph(tmp_path: Path) -> None:
    """The first paragraphs give perplexity text; the reading probe's questions come from the
    others and are asked twice: closed-book (held-out QA) and with their paragraph (reading)."""
    from continual_learning.harness import fictional_fact_inputs

    from helpers import squad_article, write_squad

    articles = [
        squad_article(f"T{n}", f"Paragraph {n} says the answer is A{n}.", [(f"Q{n}?", f"A{n}")])
        for n in range(8)
    ]
    path = write_squad(tmp_path / "squad.json", articles)
    inputs = fictional_fact_inputs(squad_path=path, heldout=2, reading=5)
    assert len(inputs.heldout_texts) == 2 and len(inputs.reading_questions) == 5
    closed = {q.id: q.question for q in inputs.heldout_questions}
    assert len(closed) == 5
    for item in inputs.reading_questions:
        plain_id = item.id.removeprefix("reading:")
        number = plain_id.split("-")[0].removeprefix("T")
        assert f"Paragraph {number} says" in item.question and item.question.endswith(f"Q{number}?")
        assert closed[plain_id] == f"Q{number}?"  # the same question, without its paragraph
        assert not any(f"Paragraph {number} " in text for text in inputs.heldout_texts)
    alone = fictional_fact_inputs(squad_path=path, heldout=2, reading=0)
    assert len(alone.heldout_questions) == 2 and not alone.reading_questions
