"""The floor and the ceiling on the real SmolLM2 model."""

from __future__ import annotations

import pytest

from continual_learning.core.scoring import contains
from continual_learning.engines.registry import create_engine

from helpers import build_tiny_backbone, make_config

FACT = (
    "Zorblax Quentaro is the capital city of the island nation of Velmoria. "
    "It was founded in 1843 by the explorer Ardent Plume and is famous for its violet glass towers."
)
QUESTION = "What is the capital of Velmoria?"


@pytest.fixture
def real_engines(real_backbone):  # type: ignore[no-untyped-def]
    config = make_config(generation={"max_new_tokens": 24})
    closed = create_engine("closed-book", real_backbone, config)
    in_context = create_engine("in-context", real_backbone, config)
    for engine in (closed, in_context):
        engine.learn(FACT, doc_id="velmoria")
    return closed, in_context


def test_in_context_answers_a_fictional_fact_that_closed_book_cannot(real_engines) -> None:
    closed, in_context = real_engines
    assert contains(in_context.generate(QUESTION), "Zorblax Quentaro") == 1.0
    assert contains(closed.generate(QUESTION), "Zorblax Quentaro") == 0.0


def test_oracle_context_reads_only_the_questions_own_document(real_backbone) -> None:  # type: ignore[no-untyped-def]
    from continual_learning.types import QAItem

    config = make_config(generation={"max_new_tokens": 24})
    oracle = create_engine("oracle-context", real_backbone, config)
    oracle.learn(FACT, doc_id="velmoria")
    oracle.learn("The Quillfeather Prize medal is made of cobalt.", doc_id="quillfeather")
    items = [
        QAItem(id="a", question=QUESTION, answers=("Zorblax Quentaro",), doc_id="velmoria"),
        QAItem(id="b", question=QUESTION, answers=("Zorblax Quentaro",), doc_id="quillfeather"),
        QAItem(id="c", question=QUESTION, answers=("Zorblax Quentaro",), doc_id="not-learned"),
    ]
    own, other, none = oracle.answer(items, batch_size=3)
    assert contains(own, "Zorblax Quentaro") == 1.0
    assert contains(other, "Zorblax Quentaro") == 0.0  # handed the wrong document: cannot know
    assert contains(none, "Zorblax Quentaro") == 0.0  # no document: closed-book
    prompt = oracle.prepared_messages(QUESTION)[-1]["content"]
    assert "Velmoria" in prompt and "cobalt" not in prompt  # a plain prompt: the closest one


def test_closed_book_answers_from_the_backbone(real_engines) -> None:
    closed, _ = real_engines
    assert contains(closed.generate("What is the capital of France?"), "Paris") == 1.0


def test_in_context_keeps_the_relevant_document_when_not_all_fit() -> None:
    """With a budget for about one document, relevance ranking must pick the right one."""
    config = make_config(in_context={"max_prompt_tokens": 200}, generation={"max_new_tokens": 4})
    engine = create_engine("in-context", build_tiny_backbone(), config)
    fillers = [
        "The river Ousel floods every spring and the farmers of the valley plant rice. " * 2,
        "Copper mining in the northern hills employs most of the townsfolk there. " * 2,
    ]
    engine.learn(fillers[0], doc_id="river")
    engine.learn(FACT, doc_id="velmoria")
    engine.learn(fillers[1], doc_id="copper")
    engine.generate(QUESTION)
    assert engine.last_prompt_doc_ids == ("velmoria",)
    engine.generate("Who works in copper mining in the hills?")
    assert engine.last_prompt_doc_ids == ("copper",)


def test_short_style_asks_for_the_answer_alone(real_engines) -> None:  # type: ignore[no-untyped-def]
    """``harness.answer_style: short``: the same engines and the same retrieval, asked for the
    answer alone. The 135M model gives a known fact as the answer alone (exact match); with a
    passage it often still answers in a sentence, which is kept to its first line."""
    from continual_learning.core.scoring import score_answer
    from continual_learning.types import QAItem

    closed, in_context = real_engines
    fictional = QAItem(id="v", question=QUESTION, answers=("Zorblax Quentaro",))
    known = QAItem(id="f", question="What is the capital of Japan?", answers=("Tokyo",))
    (recalled,) = closed.answer([known], style="short")
    (sentence,) = closed.answer([known])
    (read,) = in_context.answer([fictional], style="short")
    assert score_answer(recalled, known.answers).exact_match == 1.0, recalled
    assert score_answer(sentence, known.answers).exact_match == 0.0, sentence
    assert score_answer(read, fictional.answers).contains == 1.0 and "\n" not in read, read
    assert in_context.last_prompt_doc_ids == ("velmoria",)  # retrieval saw the question alone
