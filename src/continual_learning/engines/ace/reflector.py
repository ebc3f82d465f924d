"""The Reflector: was the answer right, what is the lesson, which bullets helped or hurt.

With a reference answer the verdict is computed, not asked: the official SQuAD token F1 and the
``contains`` match of ``core/scoring.py`` judge it, because a small model grading itself is a
coin toss. The model is asked only for what a score cannot give, the lesson: one sentence from
the document that leads to the right answer. Without a reference the model checks the answer
against the document and writes the lesson in the same reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from continual_learning.core.scoring import score_answer
from continual_learning.engines.ace.llm import ChatModel
from continual_learning.engines.ace.playbook import DeltaOp

CORRECT_F1 = 0.5

LESSON_PROMPT = (
    "Passage:\n{document}\n\nQuestion: {question}\nWrong answer: {answer}\n"
    "Correct answer: {reference}\n\n"
    "Write one short sentence, using the passage, that states the fact giving the correct "
    "answer. Name the subject."
)
CHECK_PROMPT = (
    "Passage:\n{document}\n\nQuestion: {question}\nAnswer: {answer}\n\n"
    "Does the passage support this answer? Reply 'yes' or 'no' first. Then write one short "
    "sentence, using the passage, that states the fact answering the question."
)
_YES_NO = re.compile(r"^\W*(yes|no)\b[\s.,:;!-]*", re.I)


@dataclass(frozen=True, kw_only=True)
class Reflection:
    """The verdict on one answer, its lesson, and the counter updates it implies."""

    correct: bool
    judged_by: str
    """``"reference"`` (scored) or ``"document"`` (the model checked it)."""
    lesson: str
    tags: tuple[DeltaOp, ...]


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One answer to reflect on: the question, the answer, its references, the bullets used."""

    question: str
    answer: str
    references: tuple[str, ...]
    used: tuple[str, ...]


def reflect(
    llm: ChatModel,
    *,
    question: str,
    answer: str,
    references: Sequence[str],
    document: str,
    used: Sequence[str],
    max_tokens: int,
) -> Reflection:
    attempt = Attempt(
        question=question, answer=answer, references=tuple(references), used=tuple(used)
    )
    return reflect_all(llm, [attempt], document=document, max_tokens=max_tokens)[0]


def reflect_all(
    llm: ChatModel, attempts: Sequence[Attempt], *, document: str, max_tokens: int
) -> list[Reflection]:
    """Reflect on several answers about ``document``; the role calls go out as one batch."""
    verdicts = [_scored(a) for a in attempts]  # None: the model has to judge it
    prompts = [_prompt(a, document, v) for a, v in zip(attempts, verdicts, strict=True)]
    asked = [i for i, prompt in enumerate(prompts) if prompt]
    conversations = [[{"role": "user", "content": prompts[i]}] for i in asked]
    replies = dict(zip(asked, llm.chat_many(conversations, max_tokens=max_tokens), strict=True))
    return [
        _reflection(a, v, replies.get(i, ""))
        for i, (a, v) in enumerate(zip(attempts, verdicts, strict=True))
    ]


def _scored(attempt: Attempt) -> bool | None:
    if not attempt.references:
        return None
    score = score_answer(attempt.answer, attempt.references)
    return score.contains >= 1.0 or score.f1 >= CORRECT_F1


def _prompt(attempt: Attempt, document: str, verdict: bool | None) -> str:
    """What the model is asked: a lesson for a wrong scored answer, a check for an unscored one."""
    if verdict is None:
        return CHECK_PROMPT.format(
            document=document, question=attempt.question, answer=attempt.answer
        )
    if verdict:
        return ""
    return LESSON_PROMPT.format(
        document=document,
        question=attempt.question,
        answer=attempt.answer or "(none)",
        reference=attempt.references[0],
    )


def _reflection(attempt: Attempt, verdict: bool | None, reply: str) -> Reflection:
    if verdict is None:
        match = _YES_NO.match(reply)
        correct = bool(match and match.group(1).lower() == "yes")
        lesson = first_sentence(reply[match.end() :] if match else reply)
        judged_by = "document"
    else:
        correct, lesson, judged_by = verdict, first_sentence(reply) if reply else "", "reference"
    tag: Literal["helpful", "harmful"] = "helpful" if correct else "harmful"
    tags = tuple(DeltaOp(op="tag", bullet_id=i, tag=tag) for i in attempt.used)
    return Reflection(correct=correct, judged_by=judged_by, lesson=lesson, tags=tags)


def first_sentence(text: str) -> str:
    """The first line's first sentence, without list markers or quotes; empty if none."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:[-*\u2022]|\d+[.)])\s*", "", line).strip(" \"'")
    match = re.match(r"(.+?[.!?])(?:\s|$)", line)
    sentence = match.group(1) if match else line
    return sentence if len(sentence.split()) >= 3 else ""
