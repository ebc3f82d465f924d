"""How likely the backbone, as it currently is (with whatever an engine changed), finds text:
perplexity over plain text, and the loss of an answer after a chat prompt."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager, nullcontext

import torch

from continual_learning.core.backbone import Backbone, ChatMessage

PERPLEXITY_TOKENS = 512
"""Each text is cut to this many tokens before its perplexity is taken."""

BATCH_TOKENS = 2048
"""Tokens (rows x the longest row) per forward pass when a perplexity is taken in batches."""


def perplexity(
    backbone: Backbone,
    texts: Sequence[str],
    *,
    max_tokens: int = PERPLEXITY_TOKENS,
    applied: Callable[[Hashable], AbstractContextManager[object]] | None = None,
    routes: Sequence[Hashable] | None = None,
) -> float:
    """exp(mean next-token loss) over all tokens of ``texts`` (each cut to ``max_tokens``).

    With ``routes`` (one per text), the texts of each route are computed inside
    ``applied(route)`` (for an engine: ``applied_for``, so what it learned applies as when it
    answers). Texts are computed in batches, right-padded: a padded position comes after every
    real token of its row, so no real token sees one, and each token's loss is what it is alone
    (up to float rounding).
    """
    groups: dict[Hashable, list[str]] = {}
    for i, text in enumerate(texts):
        groups.setdefault(routes[i] if routes is not None else None, []).append(text)
    total_loss, total_tokens = 0.0, 0
    for route, group in groups.items():
        with applied(route) if applied is not None else nullcontext():
            loss, tokens = _summed_loss(backbone, group, max_tokens=max_tokens)
        total_loss, total_tokens = total_loss + loss, total_tokens + tokens
    if total_tokens == 0:
        raise ValueError("perplexity needs at least one text of two or more tokens")
    return math.exp(total_loss / total_tokens)


def _summed_loss(
    backbone: Backbone, texts: Sequence[str], *, max_tokens: int = PERPLEXITY_TOKENS
) -> tuple[float, int]:
    """The next-token loss summed over every predicted token of ``texts``, and how many."""
    encoded = [
        ids
        for text in texts
        if (ids := backbone.tokenizer(text)["input_ids"][:max_tokens]) and len(ids) >= 2
    ]
    encoded.sort(key=len)
    total_loss, total_tokens = 0.0, 0
    with torch.inference_mode():
        for batch in _batches(encoded):
            padded = backbone.tokenizer.pad(
                {"input_ids": batch}, padding_side="right", return_tensors="pt"
            ).to(backbone.device)
            labels = padded["input_ids"].masked_fill(padded["attention_mask"] == 0, -100)
            counted = sum(len(row) - 1 for row in batch)
            loss = backbone.model(**padded, labels=labels).loss  # mean over ``counted``
            total_loss += float(loss) * counted
            total_tokens += counted
    return total_loss, total_tokens


def _batches(encoded: Sequence[list[int]]) -> list[list[list[int]]]:
    """Consecutive rows (sorted by length) while rows x the longest stays in ``BATCH_TOKENS``."""
    batches: list[list[list[int]]] = []
    for row in encoded:
        if batches and (len(batches[-1]) + 1) * len(row) <= BATCH_TOKENS:
            batches[-1].append(row)
        else:
            batches.append([row])
    return batches


def chat_with_answer(
    backbone: Backbone, messages: Sequence[ChatMessage], answer: str
) -> tuple[torch.Tensor, int]:
    """``messages`` as a chat prompt followed by ``answer``'s tokens (1 x T, on the backbone's
    device), and how many of the T are the answer's."""
    prompt = backbone.encode_chat(messages)
    answer_ids = backbone.tokenizer(answer, add_special_tokens=False, return_tensors="pt")
    answer_ids = answer_ids["input_ids"].to(prompt.device)
    return torch.cat([prompt, answer_ids], dim=1), answer_ids.shape[1]


def answer_nll(backbone: Backbone, messages: Sequence[ChatMessage], answer: str) -> float:
    """Mean negative log-likelihood of ``answer``'s tokens as the reply to ``messages``."""
    ids, answer_tokens = chat_with_answer(backbone, messages, answer)
    labels = ids.clone()
    labels[:, : ids.shape[1] - answer_tokens] = -100
    with torch.no_grad():
        return float(backbone.model(input_ids=ids, labels=labels).loss)
