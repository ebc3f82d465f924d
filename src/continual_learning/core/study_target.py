"""What self-study fits: one sequence and the distribution its supervised tokens should have."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True, kw_only=True)
class StudyTarget:
    """One sequence to fit and the distribution to fit its supervised tokens to.

    ``ids`` (1 x T) ends with the supervised tokens, the last ``len(top_ids)`` of them; row n
    of ``top_ids`` / ``top_logprobs`` (n x k) is the target distribution of supervised token n
    (the teacher's, or the frozen backbone's for guard text)."""

    ids: torch.Tensor
    top_ids: torch.Tensor
    top_logprobs: torch.Tensor
    prompt: str = ""
    answer: str = ""

    @property
    def supervised(self) -> int:
        return int(self.top_ids.shape[0])
