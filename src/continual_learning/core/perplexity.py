"""Perplexity of the backbone, as it currently is (with whatever an engine changed), on text."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from continual_learning.core.backbone import Backbone


def perplexity(backbone: Backbone, texts: Sequence[str], *, max_tokens: int = 512) -> float:
    """exp(mean next-token loss) over all tokens of ``texts`` (each cut to ``max_tokens``)."""
    total_loss, total_tokens = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"][:, :max_tokens]
            if ids.shape[1] < 2:
                continue
            ids = ids.to(backbone.device)
            loss = backbone.model(input_ids=ids, labels=ids).loss  # mean over T-1 predictions
            total_loss += float(loss) * (ids.shape[1] - 1)
            total_tokens += ids.shape[1] - 1
    if total_tokens == 0:
        raise ValueError("perplexity needs at least one text of two or more tokens")
    return math.exp(total_loss / total_tokens)
