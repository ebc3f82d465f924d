"""Online Elastic Weight Consolidation over the LoRA parameters.

After a cycle, the diagonal of the Fisher information, ``E[(d loss / d theta)^2]`` over that
cycle's examples, says how much each LoRA weight mattered for what was just learned. Later cycles
pay ``(lambda / 2) * sum F * (theta - theta*)^2`` for moving weights away from their values
``theta*`` at the end of the last cycle (Kirkpatrick et al., 2017). Online EWC (Schwarz et al.,
2018) keeps one running Fisher, ``F = decay * F_old + F_new``, instead of one per task.

Each new Fisher is scaled to mean 1 before it is added, so ``lambda`` means the same whatever
the model, the rank or the loss scale: the penalty is lambda/2 times a Fisher-weighted squared
distance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from continual_learning.errors import StateError

LossFn = Callable[[str], torch.Tensor]
"""Mean next-token loss of one example text, with gradient."""


class OnlineEwc:
    """The running Fisher diagonal and the anchor weights it protects."""

    def __init__(self, strength: float, decay: float) -> None:
        self.strength = strength
        self.decay = decay
        self.fisher: dict[str, torch.Tensor] = {}
        self.anchor: dict[str, torch.Tensor] = {}
        self.updates = 0

    @property
    def active(self) -> bool:
        return bool(self.fisher) and self.strength > 0

    def penalty(self, parameters: Mapping[str, nn.Parameter]) -> torch.Tensor:
        """``(lambda / 2) * sum F * (theta - theta*)^2``; zero before the first update."""
        if not self.active:
            return torch.zeros(())
        total = torch.zeros(())
        for name, parameter in parameters.items():
            total = total + (self.fisher[name] * (parameter - self.anchor[name]).pow(2)).sum()
        return 0.5 * self.strength * total

    def update(
        self, parameters: Mapping[str, nn.Parameter], texts: Sequence[str], loss_of: LossFn
    ) -> None:
        """Add this cycle's Fisher (over ``texts``) and move the anchor to the current weights."""
        fresh = fisher_diagonal(parameters, texts, loss_of)
        mean = torch.cat([f.reshape(-1) for f in fresh.values()]).mean()
        if mean > 0:
            fresh = {n: f / mean for n, f in fresh.items()}
        self.fisher = {
            n: self.decay * self.fisher[n] + f if n in self.fisher else f for n, f in fresh.items()
        }
        self.anchor = {n: p.detach().clone() for n, p in parameters.items()}
        self.updates += 1

    # -- state -------------------------------------------------------------------------------

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {f"fisher::{n}": t for n, t in self.fisher.items()}
        out.update({f"anchor::{n}": t for n, t in self.anchor.items()})
        return out

    def load(self, tensors: Mapping[str, torch.Tensor], updates: int) -> None:
        fisher = {
            k.removeprefix("fisher::"): v for k, v in tensors.items() if k.startswith("fisher::")
        }
        anchor = {
            k.removeprefix("anchor::"): v for k, v in tensors.items() if k.startswith("anchor::")
        }
        if set(fisher) != set(anchor) or len(fisher) + len(anchor) != len(tensors):
            raise StateError("EWC state is malformed: Fisher and anchor weights do not pair up")
        self.fisher, self.anchor, self.updates = fisher, anchor, updates

    def copy(self) -> OnlineEwc:
        clone = OnlineEwc(self.strength, self.decay)
        clone.load({k: v.clone() for k, v in self.tensors().items()}, self.updates)
        return clone


def fisher_diagonal(
    parameters: Mapping[str, nn.Parameter], texts: Sequence[str], loss_of: LossFn
) -> dict[str, torch.Tensor]:
    """Empirical Fisher: the mean over examples of each parameter's squared gradient."""
    fisher = {n: torch.zeros_like(p) for n, p in parameters.items()}
    for text in texts:
        for p in parameters.values():
            p.grad = None
        loss_of(text).backward()
        for n, p in parameters.items():
            if p.grad is not None:
                fisher[n] += p.grad.detach().pow(2)
    for p in parameters.values():
        p.grad = None
    return {n: f / max(1, len(texts)) for n, f in fisher.items()}
