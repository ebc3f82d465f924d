"""Which stored documents to show when they do not all fit a prompt budget.

The in-context ceiling and ACE's Generator share this, so the two differ only in what else they
put in the prompt (a playbook), never in how they pick documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SEPARATOR_TOKENS = 8
"""What the "Document N:" header and blank lines cost per document, roughly."""


def rank_by_relevance(texts: Sequence[str], query: str) -> list[int]:
    """Indices of ``texts``, most TF-IDF-similar to ``query`` first (later texts win ties)."""
    if not texts:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    vectorizer = TfidfVectorizer(stop_words="english")
    try:
        matrix = vectorizer.fit_transform([*texts, query])
    except ValueError:  # only stop words everywhere: no signal, fall back to recency
        return list(reversed(range(len(texts))))
    scores = linear_kernel(matrix[-1], matrix[:-1]).ravel()
    return sorted(range(len(texts)), key=lambda i: (-scores[i], -i))


def fit_budget(ranked: Sequence[int], token_counts: Sequence[int], budget: int) -> list[int]:
    """The ranked documents that fit ``budget`` tokens together, in their original order.

    When nothing fits whole, the best one alone (the caller cuts it to the budget) rather than
    nothing at all.
    """
    if not ranked or budget <= 0:
        return []
    if sum(token_counts) + SEPARATOR_TOKENS * len(token_counts) <= budget:
        return sorted(ranked)
    chosen, used = [], 0
    for index in ranked:
        cost = token_counts[index] + SEPARATOR_TOKENS
        if used + cost <= budget:
            chosen.append(index)
            used += cost
    return sorted(chosen) if chosen else list(ranked[:1])


def cut_to_tokens(tokenizer: PreTrainedTokenizerBase, text: str, budget: int) -> str:
    """``text`` itself if it fits ``budget`` tokens, else its first ``budget`` tokens."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= budget:
        return text
    return str(tokenizer.decode(ids[: max(budget, 0)]))
