"""The LoRA training loop of one refresh cycle, and the per-example losses around it.

AdamW with a linear warmup and decay (transformers' scheduler), mini-batches padded on the right
with padding excluded from the loss, gradient accumulation, and the EWC penalty added to every
step's loss. Only the adapter's parameters require gradient.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from continual_learning.core.backbone import Backbone
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


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    losses: tuple[float, ...]
    """Next-token loss of every optimizer step (without the penalty)."""
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
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> TrainResult:
    """``settings.epochs`` shuffled passes over ``texts``; raises if the loss stops being finite."""
    from transformers import get_scheduler

    rng = random.Random(settings.seed)
    batches_per_epoch = math.ceil(len(texts) / settings.batch_size)
    steps = math.ceil(settings.epochs * batches_per_epoch / settings.gradient_accumulation)
    optimizer = torch.optim.AdamW(parameters.values(), lr=settings.learning_rate, weight_decay=0.0)
    scheduler = get_scheduler(
        "linear",
        optimizer,
        num_warmup_steps=round(settings.warmup_ratio * steps),
        num_training_steps=steps,
    )
    schedule = [batch for _ in range(settings.epochs) for batch in _shuffled(texts, settings, rng)]
    losses: list[float] = []
    penalties: list[float] = []
    for step in range(steps):
        group = schedule[
            step * settings.gradient_accumulation : (step + 1) * settings.gradient_accumulation
        ]
        lm_loss = 0.0
        for batch in group:
            loss = batch_loss(backbone, batch, settings.max_tokens) / len(group)
            loss.backward()
            lm_loss += loss.item()
        ewc = penalty()
        if ewc.requires_grad:
            ewc.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(lm_loss, 4))
        penalties.append(round(ewc.item(), 6))
        if not math.isfinite(lm_loss):
            raise StateError("LoRA training diverged (non-finite loss): lower learning_rate")
        if on_event is not None:
            message = f"ewc {penalties[-1]:.4f}" if ewc.requires_grad else ""
            on_event(
                ProgressEvent(
                    task="train", completed=step + 1, total=steps, loss=losses[-1], message=message
                )
            )
    return TrainResult(losses=tuple(losses), penalties=tuple(penalties), steps=steps)


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
