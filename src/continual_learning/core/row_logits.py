"""Logits processors that differ per row of a batch: each prompt keeps its own.

An engine prepares one prompt at a time (its retrieved chunks, its token bias, its memory for
reward modulation). Batched answering decodes many such prompts in one ``generate`` call, where
transformers hands every processor the scores of the whole batch, (B, V). :class:`RowwiseLogits`
gives each row's processors only that row, (1, V), so a processor written for one prompt is
correct in a batch unchanged.

A processor that also reads model state captured for the whole batch (JitRL Full reads the
memory layer's hidden states, (B, T, H)) must know which row is its own: it implements
:class:`RowAware`, and :class:`RowwiseLogits` tells it the row before decoding starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from transformers import LogitsProcessor


@runtime_checkable
class RowAware(Protocol):
    """A processor that reads per-batch state (hidden states) and must select its own row."""

    def bind_row(self, row: int) -> None: ...


class RowwiseLogits(LogitsProcessor):
    """Row ``b`` of the scores goes through ``processors[b]`` only, in order."""

    def __init__(self, processors: Sequence[Sequence[Any]]) -> None:
        self.processors = [tuple(row) for row in processors]
        for row, chain in enumerate(self.processors):
            for processor in chain:
                if isinstance(processor, RowAware):
                    processor.bind_row(row)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row, chain in enumerate(self.processors):
            if not chain:
                continue
            row_scores = scores[row : row + 1]  # (1, V), a view of the batch's scores
            for processor in chain:
                row_scores = processor(input_ids[row : row + 1], row_scores)
            scores[row : row + 1] = row_scores
        return scores

    def __bool__(self) -> bool:
        return any(self.processors)
