"""Per-row logits processors: each row of a batch sees only its own processors."""

from __future__ import annotations

import torch

from continual_learning.core.row_logits import RowwiseLogits
from continual_learning.engines.jitrl_mvp.logit_bias import TokenBias


class _RecordsRow:
    """Reads state captured for the whole batch, so it must learn its own row."""

    def __init__(self) -> None:
        self.row: int | None = None

    def bind_row(self, row: int) -> None:
        self.row = row

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return scores + 100.0 * (self.row + 1)


def test_each_row_gets_only_its_own_bias() -> None:
    first = TokenBias(torch.tensor([1]), torch.tensor([5.0]))
    third = TokenBias(torch.tensor([2, 3]), torch.tensor([1.0, 2.0]))
    processor = RowwiseLogits([[first], [], [third]])
    scores = processor(torch.zeros(3, 4, dtype=torch.long), torch.zeros(3, 5))
    assert scores.tolist() == [
        [0.0, 5.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 2.0, 0.0],
    ]


def test_row_aware_processors_are_told_their_row_and_may_return_new_tensors() -> None:
    late = _RecordsRow()
    processor = RowwiseLogits([[], [late]])
    assert late.row == 1
    scores = processor(torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, 3))
    assert scores.tolist() == [[0.0, 0.0, 0.0], [200.0, 200.0, 200.0]]
    assert not RowwiseLogits([[], []])
