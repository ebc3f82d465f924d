"""Reward-guided logit modulation: just-in-time RL at decoding time, with the knowledge store as
the memory of past states.

JitRL (arXiv 2601.18510) retrieves past states similar to the current one, turns their returns
into an advantage and adds ``advantage / beta`` to the policy's logits, which is the closed-form
optimum of maximising expected advantage under a KL penalty of strength ``beta`` to the base
policy (``pi*(a) ∝ pi_base(a) exp(A(a) / beta)``). Here the "past states" are the memory entries
of the retrieved chunks: ``(h_j, y_j)``, the memory-layer state at position ``j`` of a chunk and
the token ``y_j`` that followed it there. At each decoding step, with ``q`` the (normalised)
memory-layer state of the newest token:

- neighbours: the ``neighbours`` entries with the highest cosine ``s_j = q · h_j``, weighted
  ``w_j = softmax(s_j / temperature)``;
- reward of a candidate ``a`` (one of the ``candidates`` top tokens of the base logits):
  ``Q(a) = sum_j w_j [y_j = a]``, the weight with which the learned text, in states like this
  one, continued with ``a``;
- value: ``V = sum_a pi_base(a) Q(a)`` with ``pi_base`` the base softmax renormalised over the
  candidates, so the advantage ``A(a) = Q(a) - V`` is centred under the base policy;
- modulation: ``logits[a] += A(a) / beta`` for the candidates only; every other logit is unchanged.

Per step this costs one (1 x H) x (H x M) product over the retrieved chunks' M memory entries and
a top-k over the vocabulary: bounded by ``top_k`` chunks and ``candidates``, never by the size of
the store.
"""

from __future__ import annotations

from typing import cast

import torch
from transformers import LogitsProcessor

from continual_learning.core.hidden_states import LayerCapture


class AdvantageModulator(LogitsProcessor):
    """``logits += advantage / beta`` over the top candidates, from the retrieved memory."""

    def __init__(
        self,
        capture: LayerCapture,
        memory_states: torch.Tensor,
        memory_next: torch.Tensor,
        *,
        candidates: int,
        neighbours: int,
        temperature: float,
        beta: float,
    ) -> None:
        self.capture = capture
        self.memory_states = memory_states  # (M, H), L2-normalised
        self.memory_next = memory_next  # (M,)
        self.candidates = candidates
        self.neighbours = min(neighbours, memory_states.shape[0])
        self.temperature = temperature
        self.beta = beta
        self.steps = 0
        self.total_abs_advantage = 0.0
        self.row: int | None = None  # in a batch, which row of the captured states is ours

    def bind_row(self, row: int) -> None:
        """Read the captured states of batch row ``row`` only (``core/row_logits.py``)."""
        self.row = row

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.capture.hidden is None or self.neighbours == 0:
            return scores
        states = self.memory_states.to(scores.device)
        newest = self.capture.hidden[:, -1]  # (B, H), every row of the batch
        if self.row is not None:
            newest = newest[self.row : self.row + 1]  # (1, H): the row these scores belong to
        query = torch.nn.functional.normalize(newest.float(), dim=-1)  # (B, H)
        similarity = query @ states.T  # (B, M)
        nearest = similarity.topk(self.neighbours, dim=-1)  # (B, n)
        weights = torch.softmax(nearest.values / self.temperature, dim=-1)  # (B, n)
        next_tokens = self.memory_next.to(scores.device)[nearest.indices]  # (B, n)
        candidates = scores.topk(self.candidates, dim=-1).indices  # (B, k)
        agrees = next_tokens[:, None, :] == candidates[:, :, None]  # (B, k, n)
        reward = (agrees * weights[:, None, :]).sum(-1)  # Q(a): (B, k)
        base = torch.softmax(scores.gather(-1, candidates).float(), dim=-1)  # (B, k)
        advantage = reward - (base * reward).sum(-1, keepdim=True)  # A(a) = Q(a) - V
        modulated = scores.scatter_add(-1, candidates, (advantage / self.beta).to(scores.dtype))
        self.steps += 1
        self.total_abs_advantage += float(advantage.abs().mean())
        return cast(torch.FloatTensor, modulated)
