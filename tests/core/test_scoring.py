from __future__ import annotations

import pytest

from continual_learning.core.scoring import (
    contains,
    exact_match,
    is_abstention,
    normalize_answer,
    official_prediction,
    score_answer,
    summarize,
    token_f1,
)


def test_official_normalisation() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("An apple, a day") == "apple day"


def test_exact_match_and_f1_follow_the_official_script() -> None:
    assert exact_match("the Denver Broncos", "Denver Broncos") == 1.0
    assert exact_match("Broncos", "Denver Broncos") == 0.0
    # precision 1/1, recall 1/2 -> F1 = 2/3
    assert token_f1("Broncos", "Denver Broncos") == pytest.approx(2 / 3)
    assert token_f1("Carolina Panthers", "Denver Broncos") == 0.0


def test_contains_matches_whole_words_only() -> None:
    assert contains("The capital is Zorblax Quentaro.", "Zorblax Quentaro") == 1.0
    assert contains("It was 18430 people", "1843") == 0.0
    assert contains("anything", "") == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "I don't know.",
        "Unanswerable",
        "The passage does not mention it.",
        "This cannot be answered from the text.",
        "It is not mentioned in the document.",
    ],
)
def test_refusals_count_as_abstention(text: str) -> None:
    assert is_abstention(text)
    assert official_prediction(text) == ""


def test_an_answer_is_not_an_abstention() -> None:
    assert not is_abstention("Paris")
    assert not is_abstention("None of the above were French; it was Nonesuch.")


def test_scores_for_answerable_and_unanswerable_questions() -> None:
    answerable = score_answer("Denver Broncos won.", ["Denver Broncos", "Broncos"])
    assert answerable.exact_match == 0.0
    assert answerable.contains == 1.0
    assert answerable.f1 == pytest.approx(0.8)
    refusal_on_answerable = score_answer("I don't know", ["Paris"])
    assert (refusal_on_answerable.f1, refusal_on_answerable.abstained) == (0.0, True)
    assert score_answer("I don't know", []).exact_match == 1.0
    assert score_answer("Paris", []).f1 == 0.0
    summary = summarize([answerable, refusal_on_answerable])
    assert summary.count == 2
    assert summary.contains == 0.5
    assert summary.abstention_rate == 0.5


def test_an_answer_that_loops_repeats_itself() -> None:
    from continual_learning.core.scoring import repeats_itself

    loop = (
        "The Bridge in the town of Dask is painted lime green. Dask is painted lime green. "
        "Dask is painted lime green."
    )
    assert repeats_itself(loop)
    assert repeats_itself("lime green and lime green and lime green and lime green and more")
    assert not repeats_itself("The Quorvel Bridge is painted lime green.")
    assert not repeats_itself("It is green. It is in Dask. Painters chose green in 1901.")
