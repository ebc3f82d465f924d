"""How a benchmark asks its questions: in the model's own sentences, or for the answer alone.

A 135M chat model answers in sentences, so exact match is 0 for every engine and only
``contains`` tells engines apart. The field's short-answer protocols (SQuAD's exact match and
F1, lm-evaluation-harness, the no-context SQuAD results of SEAL) ask for the answer alone. The
``short`` style does that at answering time only: the engine prepares its prompt from the
question as always (retrieval, routing and scopes see the question, nothing else), then worked
examples of short answers in the question's own form are put before it as earlier chat turns
(few-shot, as lm-evaluation-harness asks), each question asks for the answer alone, and the
reply's first line is the answer. Measured against the instruction alone in docs/results.md.

What an engine learns never depends on the style: study targets and training prompts are
written with the plain system prompt.
"""

from __future__ import annotations

from continual_learning.config.schema import AnswerStyle
from continual_learning.core.backbone import ChatMessage
from continual_learning.core.prompts import passages_prompt, shows_passages

__all__ = ["AnswerStyle", "styled_messages", "styled_reply"]


SHORT_INSTRUCTION = "Answer with the answer alone, in a few words."

# Worked examples for a question asked with passages (retrieval, in-context, ACE): short
# invented documents, so the turns teach the form of a reply and leak no answer.
EXAMPLES_WITH_PASSAGES: tuple[tuple[str, str, str], ...] = (
    (
        "The Larkspur Bridge over the Tamsin River was opened in 1902 by mayor Ilse Varga.",
        "Who opened the Larkspur Bridge?",
        "Ilse Varga",
    ),
    (
        "The Corvath Orchestra has 84 musicians and plays in the Meridian Hall of Solbury.",
        "How many musicians does the Corvath Orchestra have?",
        "84",
    ),
    (
        "Velden is an island whose main export is smoked eel, shipped from the port of Arnick.",
        "What is Velden's main export?",
        "smoked eel",
    ),
)

# Worked examples for a bare question (closed-book, the weight engines): real facts a small
# model knows, in the fact sets' question forms.
EXAMPLES_CLOSED_BOOK: tuple[tuple[str, str], ...] = (
    ("What is the capital of France?", "Paris"),
    ("In what year did the Second World War end?", "1945"),
    ("Who wrote Romeo and Juliet?", "William Shakespeare"),
)

SHORT_MAX_NEW_TOKENS = 24
"""A short answer is a few words; more tokens only decode what the first line drops."""


def styled_messages(messages: list[ChatMessage], style: AnswerStyle) -> list[ChatMessage]:
    """``messages`` (system prompt, earlier turns, the question last) asked in ``style``: for
    short answers, worked examples in the question's own form (with passages or without) as
    earlier turns, and the instruction after every question."""
    if style == "sentence":
        return messages
    *earlier, question = messages
    system = [m for m in earlier[:1] if m["role"] == "system"]
    examples: list[ChatMessage] = []
    for asked, answered in _worked_examples(shows_passages(question["content"])):
        examples += [_asked_short(asked), {"role": "assistant", "content": answered}]
    return [*system, *examples, *earlier[len(system) :], _asked_short(question["content"])]


def _worked_examples(with_passages: bool) -> list[tuple[str, str]]:
    if not with_passages:
        return list(EXAMPLES_CLOSED_BOOK)
    return [(passages_prompt([text], q), a) for text, q, a in EXAMPLES_WITH_PASSAGES]


def _asked_short(content: str) -> ChatMessage:
    return {"role": "user", "content": f"{content}\n{SHORT_INSTRUCTION}"}


def styled_reply(reply: str, style: AnswerStyle) -> str:
    """The answer a reply gives in ``style``: a short reply's first line, without the full stop
    a sentence would end with."""
    if style == "sentence":
        return reply
    first_line = reply.strip().split("\n", 1)[0].strip()
    return first_line.removesuffix(".").strip()
