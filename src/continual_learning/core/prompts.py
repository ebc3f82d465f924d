"""The prompt wording shared by every engine that puts passages in front of a question.

One wording for all of them keeps comparisons fair: in-context, the retrieval engines and ACE
differ in *which* passages they show, never in how they ask.
"""

from __future__ import annotations

from collections.abc import Sequence

PASSAGES_HEADER = "Use these documents to answer."


def shows_passages(user_content: str) -> bool:
    """Whether a user message holds passages (:func:`passages_prompt`), not a bare question."""
    return PASSAGES_HEADER in user_content


def passages_prompt(passages: Sequence[str], question: str) -> str:
    """The user message: numbered passages, then the question. No passages: the question alone."""
    if not passages:
        return question
    listing = "\n\n".join(f"Document {n}:\n{text}" for n, text in enumerate(passages, 1))
    return f"{PASSAGES_HEADER}\n\n{listing}\n\nQuestion: {question}"
