"""Gradient steps on one chunk's LoRA, from the hypernetwork's output or from a zero update.

A hypernetwork's one-pass output may be a better *starting point* than a final answer
(HyperLlama, arXiv 2402.16817): ``refine_steps`` steps move ``A`` and ``B`` toward what the
document says, by the next-token loss on the chunk (``nll``), by distillation (``distill``,
``core/self_study.py``: the frozen backbone with the document in its prompt is the teacher, the
backbone with this LoRA and no document the student), or both. ``lora_source: training``
starts the same steps from a zero update instead (:func:`zero_update`, peft's initialisation:
``A`` small and random, ``B`` zero): plain per-chunk LoRA training, which also measures what the
hypernetwork contributes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.self_study import batches as study_batches
from continual_learning.core.self_study import distill_loss, guard_count
from continual_learning.core.study_target import StudyTarget
from continual_learning.engines.doc2lora.hypernetwork import HypernetworkShape, LoraFactors
from continual_learning.engines.doc2lora.injection import hooked
from continual_learning.errors import StateError


def zero_update(shape: HypernetworkShape, *, seed: int, device: torch.device) -> LoraFactors:
    """Factors of ``shape`` whose update ``B A`` is zero: ``A`` random (kaiming-uniform scale,
    as peft), ``B`` zero, so the first step's gradient reaches ``B``."""
    generator = torch.Generator().manual_seed(seed)
    zero: LoraFactors = {}
    for target in shape.targets:
        a_shape = (shape.num_layers, shape.rank, target.in_features)
        bound = 1.0 / math.sqrt(target.in_features)
        a = (torch.rand(a_shape, generator=generator) * 2 - 1) * bound
        b = torch.zeros(shape.num_layers, target.out_features, shape.rank)
        zero[target.name] = (a.to(device), b.to(device))
    return zero


def refine(
    backbone: Backbone,
    factors: LoraFactors,
    plan: RefinePlan,
    *,
    learning_rate: float,
    on_step: Callable[[int, int, float], None] | None = None,
) -> tuple[LoraFactors, list[float]]:
    """The steps of ``plan`` (Adam) on ``factors``; returns the refined factors (detached) and
    every step's loss."""
    trainable = {
        name: (a.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True))
        for name, (a, b) in factors.items()
    }
    optimizer = torch.optim.Adam([t for pair in trainable.values() for t in pair], lr=learning_rate)
    losses: list[float] = []
    with torch.enable_grad(), hooked(backbone.model, trainable):
        for number, step in enumerate(plan.steps, 1):
            loss = plan.loss(backbone, step)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(round(loss.item(), 4))
            if on_step is not None:
                on_step(number, len(plan.steps), losses[-1])
    if not all(math.isfinite(x) for x in losses):
        raise StateError("Doc-to-LoRA refinement diverged (non-finite loss): lower refine_lr")
    return {name: (a.detach(), b.detach()) for name, (a, b) in trainable.items()}, losses


@dataclass(frozen=True)
class RefineStep:
    study: list[StudyTarget]
    guard: list[StudyTarget]


@dataclass(frozen=True)
class RefinePlan:
    """What each refinement step fits: the chunk's next tokens (``nll``), the teacher's answers
    to study prompts about it (``distill``), or both (``mixed``, their mean); each blended with
    ``guard_share`` of general text held to the frozen backbone."""

    objective: str
    chunk: torch.Tensor | None
    """The chunk's token ids (1, n), for nll."""
    steps: list[RefineStep]
    guard_share: float

    @classmethod
    def build(
        cls,
        objective: str,
        chunk: torch.Tensor | None,
        study: Sequence[StudyTarget],
        guard: Sequence[StudyTarget],
        *,
        steps: int,
        batch_size: int,
        guard_share: float,
    ) -> RefinePlan:
        """``steps`` steps; study prompts in shuffled mini-batches (as many passes as needed),
        guard rows round-robin."""
        if objective == "nll" or not study:
            extra = guard_count(1, guard_share) if guard else 0
            rows = [
                RefineStep([], [guard[(i * extra + j) % len(guard)] for j in range(extra)])
                for i in range(steps)
            ]
            return cls("nll", chunk, rows, guard_share)
        epochs = max(1, math.ceil(steps * batch_size / len(study)))
        plan = study_batches(
            study, guard, batch_size=batch_size, epochs=epochs, guard_share=guard_share
        )[:steps]
        chunk = chunk if objective == "mixed" else None
        return cls(objective, chunk, [RefineStep(r, g) for r, g in plan], guard_share)

    def loss(self, backbone: Backbone, step: RefineStep) -> torch.Tensor:
        parts = []
        if self.chunk is not None:
            parts.append(backbone.model(input_ids=self.chunk, labels=self.chunk).loss)
        if step.study:
            parts.append(distill_loss(backbone, step.study))
        loss = torch.stack(parts).mean()
        if step.guard:
            share = self.guard_share
            loss = (1.0 - share) * loss + share * distill_loss(backbone, step.guard)
        return loss
