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
    if references:
        score = score_answer(answer, references)
        correct = score.contains >= 1.0 or score.f1 >= CORRECT_F1
        lesson = ""
        if not correct:
            prompt = LESSON_PROMPT.format(
                document=document,
                question=question,
                answer=answer or "(none)",
                reference=references[0],
            )
            lesson = first_sentence(
                llm.chat([{"role": "user", "content": prompt}], max_tokens=max_tokens)
            )
        judged_by = "reference"
    else:
        prompt = CHECK_PROMPT.format(document=document, question=question, answer=answer)
        reply = llm.chat([{"role": "user", "content": prompt}], max_tokens=max_tokens)
        verdict = _YES_NO.match(reply)
        correct = bool(verdict and verdict.group(1).lower() == "yes")
        lesson = first_sentence(reply[verdict.end() :] if verdict else reply)
        judged_by = "document"
    tag = "helpful" if correct else "harmful"
    tags = tuple(DeltaOp(op="tag", bullet_id=i, tag=tag) for i in used)
    return Reflection(correct=correct, judged_by=judged_by, lesson=lesson, tags=tags)


def first_sentence(text: str) -> str:
    """The first line's first sentence, without list markers or quotes; empty if none."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:[-*\u2022]|\d+[.)])\s*", "", line).strip(" \"'")
    match = re.match(r"(.+?[.!?])(?:\s|$)", line)
    sentence = match.group(1) if match else line
    return sentence if len(sentence.split()) >= 3 else ""
