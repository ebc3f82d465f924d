"""The prompt wording shared by every engine that puts passages in front of a question.

One wording for all of them keeps comparisons fair: in-context, the retrieval engines and ACE
differ in *which* passages they show, never in how they ask.
"""

from __future__ import annotations

from collections.abc import Sequence


def passages_prompt(passages: Sequence[str], question: str) -> str:
    """The user message: numbered passages, then the question. No passages: the question alone."""
    if not passages:
        return question
    listing = "\n\n".join(f"Document {n}:\n{text}" for n, text in enumerate(passages, 1))
    return f"Use these documents to answer.\n\n{listing}\n\nQuestion: {question}"
