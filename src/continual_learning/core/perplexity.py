"""How likely the backbone, as it currently is (with whatever an engine changed), finds text:
perplexity over plain text, and the loss of an answer after a chat prompt."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

import torch

from continual_learning.core.backbone import Backbone, ChatMessage

PERPLEXITY_TOKENS = 512
"""Each text is cut to this many tokens before its perplexity is taken."""


def perplexity(
    backbone: Backbone,
    texts: Sequence[str],
    *,
    max_tokens: int = PERPLEXITY_TOKENS,
    applied: Callable[[str], AbstractContextManager[None]] | None = None,
) -> float:
    """exp(mean next-token loss) over all tokens of ``texts`` (each cut to ``max_tokens``),
    each text computed inside ``applied(text)`` when given (for an engine:
    ``applied_for(route(text))``)."""
    total_loss, total_tokens = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"][:, :max_tokens]
            if ids.shape[1] < 2:
                continue
            ids = ids.to(backbone.device)
            with applied(text) if applied else nullcontext():
                loss = backbone.model(input_ids=ids, labels=ids).loss  # mean over T-1 tokens
            total_loss += float(loss) * (ids.shape[1] - 1)
            total_tokens += ids.shape[1] - 1
    if total_tokens == 0:
        raise ValueError("perplexity needs at least one text of two or more tokens")
    return math.exp(total_loss / total_tokens)


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
