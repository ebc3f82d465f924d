"""The LoRA training loop of one refresh cycle, and the per-example losses around it.

AdamW with a linear warmup and decay (transformers' scheduler), mini-batches padded on the right
with padding excluded from the loss, gradient accumulation, and the EWC penalty added to every
step's loss. With self-study (``core/self_study.py``) each step also fits a mini-batch of the
document's study prompts to the teacher, and a share of general text to the frozen backbone.
Only the adapter's parameters require gradient.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from continual_learning.core.backbone import Backbone
from continual_learning.core.self_study import batches as study_batches
from continual_learning.core.self_study import distill_loss, guard_count
from continual_learning.core.study_target import StudyTarget
from continual_learning.errors import StateError
from continual_learning.types import ProgressEvent


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    epochs: int
    batch_size: int
    gradient_accumulation: int
    learning_rate: float
    warmup_ratio: float
    max_tokens: int
    seed: int
    study_batch: int = 8
    guard_share: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    losses: tuple[float, ...]
    """The task loss of every optimizer step (next-token and/or KL, the guard's share included;
    without the EWC penalty)."""
    penalties: tuple[float, ...]
    """EWC penalty at every optimizer step."""
    steps: int


def train(
    backbone: Backbone,
    parameters: Mapping[str, nn.Parameter],
    texts: Sequence[str],
    settings: TrainSettings,
    *,
    penalty: Callable[[], torch.Tensor],
    study: Sequence[StudyTarget] = (),
    guard: Sequence[StudyTarget] = (),
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> TrainResult:
    """``settings.epochs`` shuffled passes over ``texts`` (next-token loss) and over ``study``
    (KL to the teacher, in mini-batches of ``settings.study_batch``), side by side, each step
    with its share of ``guard`` rows (KL to the frozen backbone); raises if the loss stops
    being finite."""
    from transformers import get_scheduler

    rng = random.Random(settings.seed)
    schedule = [batch for _ in range(settings.epochs) for batch in _shuffled(texts, settings, rng)]
    accumulation = settings.gradient_accumulation
    groups = [schedule[i : i + accumulation] for i in range(0, len(schedule), accumulation)]
    study_plan = study_batches(
        study,
        guard,
        batch_size=settings.study_batch,
        epochs=settings.epochs,
        guard_share=settings.guard_share,
        seed=settings.seed,
    )
    steps = max(len(groups), len(study_plan))
    optimizer = torch.optim.AdamW(parameters.values(), lr=settings.learning_rate, weight_decay=0.0)
    scheduler = get_scheduler(
        "linear",
        optimizer,
        num_warmup_steps=round(settings.warmup_ratio * steps),
        num_training_steps=steps,
    )
    guard_rows = guard_count(settings.batch_size, settings.guard_share) if guard else 0
    losses: list[float] = []
    penalties: list[float] = []
    for step in range(steps):
        group = groups[step % len(groups)] if groups else []
        rows, extra = study_plan[step % len(study_plan)] if study_plan else ([], [])
        if not study_plan and guard_rows:
            extra = [guard[(step * guard_rows + i) % len(guard)] for i in range(guard_rows)]
        task = _task_loss(backbone, group, rows, settings, parts=2 if group and rows else 1)
        if extra:
            guard_loss = distill_loss(backbone, extra) * settings.guard_share
            guard_loss.backward()
            task += guard_loss.item()
        ewc = penalty()
        if ewc.requires_grad:
            ewc.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(task, 4))
        penalties.append(round(ewc.item(), 6))
        if not math.isfinite(task):
            raise StateError("LoRA training diverged (non-finite loss): lower learning_rate")
        if on_event is not None:
            message = f"ewc {penalties[-1]:.4f}" if ewc.requires_grad else ""
            on_event(
                ProgressEvent(
                    task="train", completed=step + 1, total=steps, loss=losses[-1], message=message
                )
            )
    return TrainResult(losses=tuple(losses), penalties=tuple(penalties), steps=steps)


def _task_loss(
    backbone: Backbone,
    group: Sequence[Sequence[str]],
    study: Sequence[StudyTarget],
    settings: TrainSettings,
    *,
    parts: int,
) -> float:
    """Backpropagate the step's task loss (the mean of its parts: next-token loss over the
    text batches, KL over the study rows), scaled by the guard's complement; return its value."""
    weight = (1.0 - settings.guard_share) / parts
    total = 0.0
    for batch in group:
        loss = batch_loss(backbone, batch, settings.max_tokens) * weight / len(group)
        loss.backward()
        total += loss.item()
    if study:
        loss = distill_loss(backbone, study) * weight
        loss.backward()
        total += loss.item()
    return total


def batch_loss(backbone: Backbone, texts: Sequence[str], max_tokens: int) -> torch.Tensor:
    """Mean next-token loss over the real (unpadded) tokens of ``texts``."""
    tokenizer = backbone.tokenizer
    encoded = tokenizer(
        list(texts),
        return_tensors="pt",
        padding=True,
        padding_side="right",  # left padding would shift every position of the shorter texts
        truncation=True,
        max_length=max_tokens,
    ).to(backbone.device)
    labels = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
    return backbone.model(**encoded, labels=labels).loss


def example_losses(backbone: Backbone, texts: Sequence[str], max_tokens: int) -> list[float]:
    """Each text's own mean next-token loss, without gradient (priorities of the replay buffer)."""
    with torch.inference_mode():
        return [round(float(batch_loss(backbone, [t], max_tokens)), 4) for t in texts]


def _shuffled(texts: Sequence[str], settings: TrainSettings, rng: random.Random) -> list[list[str]]:
    order = list(texts)
    rng.shuffle(order)
    return [order[i : i + settings.batch_size] for i in range(0, len(order), settings.batch_size)]
