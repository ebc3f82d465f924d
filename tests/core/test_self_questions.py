"""The question writer: sentences chosen, replies read, degenerate replies dropped."""

from __future__ import annotations

import pytest

from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.self_questions import (
    questions_about,
    read_question,
    spread,
)

SENTENCE = "Its capital is Zorblax Quentaro, founded in 1843 by the explorer Ardent Plume."


def test_spread_takes_first_last_and_evenly_between() -> None:
    items = [str(n) for n in range(9)]
    assert spread(items, 3) == ["0", "4", "8"]
    assert spread(items, 1) == ["0"]
    assert spread(items[:2], 4) == ["0", "1"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            "Q: Who founded Zorblax Quentaro?\nA: Ardent Plume",
            ("Who founded Zorblax Quentaro?", "Ardent Plume"),
        ),
        ("When was Zorblax Quentaro founded?", ("When was Zorblax Quentaro founded?", "")),
        (
            "Question: Who was the explorer?\nAnswer: The answer to this question is:",
            ("Who was the explorer?", ""),
        ),
        ("What is the answer to this question?\nA: yes", None),
        ("Zorblax Quentaro is the capital.", None),
    ],
)
def test_read_question(reply: str, expected: tuple[str, str] | None) -> None:
    assert read_question(reply, SENTENCE) == expected


def test_one_call_per_chosen_sentence_and_no_repeats() -> None:
    document = "Velmoria is an island republic. " + SENTENCE + " Its money is the drem."
    replies = iter(
        [
            "Q: What is Velmoria?\nA: an island republic",
            "Q: What is Velmoria?\nA: an island republic",  # asked again: dropped
            "Q: What is the money of Velmoria called?\nA: the drem",
        ]
    )
    prompts: list[str] = []

    def chat(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    items = questions_about(chat, document, doc_id="v", count=3)
    assert len(prompts) == 3 and prompts[1].endswith("Sentence: " + SENTENCE)
    assert [(i.id, i.question, i.answers) for i in items] == [
        ("v-q1", "What is Velmoria?", ("an island republic",)),
        ("v-q2", "What is the money of Velmoria called?", ("the drem",)),
    ]


@pytest.mark.real_model
def test_the_backbone_writes_questions_about_the_document(real_backbone: Backbone) -> None:
    document = fictional_fact_set()[0][0]  # Velmoria

    def chat(prompt: str) -> str:
        messages: list[ChatMessage] = [{"role": "user", "content": prompt}]
        return real_backbone.chat(messages, GenerationOptions(max_new_tokens=96))

    items = questions_about(chat, document.text, doc_id=document.id, count=4)
    assert len(items) >= 2  # greedy SmolLM2-135M writes 3 here, one per sentence but one
    assert len({i.question for i in items}) == len(items)
    assert all(i.question.endswith("?") and i.doc_id == document.id for i in items)


def test_a_question_without_an_answer_is_answered_from_its_sentence() -> None:
    replies = iter(["Who founded Zorblax Quentaro?", "Answer: Ardent Plume", "Q: Why?\nA: no"])
    prompts: list[str] = []

    def chat(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    items = questions_about(chat, SENTENCE, doc_id="z", count=1)
    assert prompts[1].startswith("Sentence: " + SENTENCE) and "Who founded" in prompts[1]
    assert [(i.question, i.answers) for i in items] == [
        ("Who founded Zorblax Quentaro?", ("Ardent Plume",))
    ]
