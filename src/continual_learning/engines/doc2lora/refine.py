"""Refinement: the hypernetwork's LoRA as the starting point of a few self-study steps.

A hypernetwork's one-pass output is a better *starting point* than a final answer (HyperLlama,
arXiv 2402.16817): ``refine_steps`` steps of distillation (``core/self_study.py``: the frozen
backbone with the document in its prompt is the teacher, the backbone with this LoRA and no
document the student) move the written ``A`` and ``B`` toward what the document says. Starting
instead from a zero update (``refine_from: zero``, peft's initialisation: ``A`` small and random,
``B`` zero) with the same steps measures what the hypernetwork itself contributes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.self_study import StudyTarget, distill_loss
from continual_learning.core.self_study import batches as study_batches
from continual_learning.engines.doc2lora.hypernetwork import LoraFactors
from continual_learning.engines.doc2lora.injection import hooked
from continual_learning.errors import StateError


def zero_update(factors: LoraFactors, seed: int) -> LoraFactors:
    """Factors of the same shapes whose update ``B A`` is zero: ``A`` random (kaiming-uniform
    scale, as peft), ``B`` zero, so the first step's gradient reaches ``B``."""
    generator = torch.Generator().manual_seed(seed)
    zero: LoraFactors = {}
    for name, (a, b) in factors.items():
        bound = 1.0 / math.sqrt(a.shape[-1])
        random_a = (torch.rand(a.shape, generator=generator) * 2 - 1) * bound
        zero[name] = (random_a.to(a.device, a.dtype), torch.zeros_like(b))
    return zero


def refine(
    backbone: Backbone,
    factors: LoraFactors,
    study: Sequence[StudyTarget],
    guard: Sequence[StudyTarget],
    *,
    steps: int,
    learning_rate: float,
    batch_size: int,
    guard_share: float,
    on_step: Callable[[int, int, float], None] | None = None,
) -> tuple[LoraFactors, list[float]]:
    """``steps`` Adam steps on ``factors`` fitting the student to the teacher on ``study``
    (with ``guard_share`` of each step fitted to the frozen backbone on ``guard``); returns the
    refined factors (detached) and every step's loss."""
    trainable = {
        name: (a.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True))
        for name, (a, b) in factors.items()
    }
    optimizer = torch.optim.Adam([t for pair in trainable.values() for t in pair], lr=learning_rate)
    epochs = max(1, math.ceil(steps * batch_size / max(1, len(study))))
    plan = study_batches(
        study, guard, batch_size=batch_size, epochs=epochs, guard_share=guard_share
    )[:steps]
    losses: list[float] = []
    with torch.enable_grad(), hooked(backbone.model, trainable):
        for number, (rows, extra) in enumerate(plan, 1):
            loss = distill_loss(backbone, rows)
            if extra:
                loss = (1.0 - guard_share) * loss + guard_share * distill_loss(backbone, extra)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(round(loss.item(), 4))
            if on_step is not None:
                on_step(number, len(plan), losses[-1])
    if not all(math.isfinite(x) for x in losses):
        raise StateError("Doc-to-LoRA refinement diverged (non-finite loss): lower refine_lr")
    return {name: (a.detach(), b.detach()) for name, (a, b) in trainable.items()}, losses
