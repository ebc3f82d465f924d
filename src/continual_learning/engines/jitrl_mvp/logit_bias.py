"""Logit bias toward the words of the retrieved chunks, as a transformers ``LogitsProcessor``.

Each of the ``bias_words`` highest TF-IDF words of the retrieved chunks is found in its original
spelling in those chunks, tokenized with and without a leading space (the two ways a word starts
in BPE vocabularies), and every token piece gets ``strength * weight / max_weight``. Stop words,
pieces with no letter or digit, and special tokens never get a bias: nudging "the" or "." would
only make answers longer, not more faithful.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from transformers import LogitsProcessor, PreTrainedTokenizerBase

_WORD = re.compile(r"\b\w\w+\b")


class TokenBias(LogitsProcessor):
    """Adds a fixed bias to a fixed set of token ids at every generation step."""

    def __init__(self, token_ids: torch.Tensor, values: torch.Tensor) -> None:
        self.token_ids = token_ids  # (n,)
        self.values = values  # (n,)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores[:, self.token_ids] += self.values.to(scores.dtype)  # scores: (B, V)
        return scores

    @property
    def size(self) -> int:
        return int(self.token_ids.numel())


def build_token_bias(
    tokenizer: PreTrainedTokenizerBase,
    passages: Sequence[str],
    word_weights: dict[str, float],
    *,
    strength: float,
    max_words: int,
    device: torch.device,
) -> TokenBias | None:
    """The bias for one question, or None when there is nothing to bias toward."""
    if strength <= 0 or not word_weights:
        return None
    top = dict(sorted(word_weights.items(), key=lambda kv: -kv[1])[:max_words])
    peak = max(top.values())
    special = set(tokenizer.all_special_ids)
    bias: dict[int, float] = {}
    for surface in {w for text in passages for w in _WORD.findall(text) if w.lower() in top}:
        value = strength * top[surface.lower()] / peak
        for variant in (surface, " " + surface):
            for token_id in tokenizer(variant, add_special_tokens=False)["input_ids"]:
                if token_id not in special and _biasable(str(tokenizer.decode([token_id]))):
                    bias[token_id] = max(bias.get(token_id, 0.0), value)
    if not bias:
        return None
    ids = torch.tensor(sorted(bias), dtype=torch.long, device=device)
    values = torch.tensor([bias[i] for i in sorted(bias)], dtype=torch.float32, device=device)
    return TokenBias(ids, values)


def _biasable(piece: str) -> bool:
    text = piece.strip().lower()
    return any(ch.isalnum() for ch in text) and text not in ENGLISH_STOP_WORDS
