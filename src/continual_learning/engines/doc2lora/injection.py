"""Where the generated LoRA goes: the backbone's target linears, through peft or through hooks.

At answer time the factors become LoRA weights under peft's names (``core/lora.py``), folded
into the target weights, ``W + B A``, so decoding costs what the backbone alone costs; peft's own
``lora.Linear`` computes the same function (a test checks it). Training needs the gradient to flow
from the student's loss back into the hypernetwork that produced ``A`` and ``B``, which peft's
leaf parameters cannot carry, so the trainer adds the same ``B A x`` with forward hooks instead;
a test checks that the two agree.

Several chunks compose by rank concatenation: stacking the ``A``s by rows and the ``B``s by
columns gives ``sum_i B_i A_i``, one adapter of rank ``rank x chunks``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from continual_learning.core.lora import LoraWeights
from continual_learning.engines.doc2lora.config import Doc2LoraConfig
from continual_learning.engines.doc2lora.hypernetwork import (
    HypernetworkShape,
    LoraFactors,
    TargetShape,
)
from continual_learning.errors import ConfigError

_LAYER_INDEX = re.compile(r"\.layers\.(\d+)\.")


def _layer_index(name: str) -> int:
    found = _LAYER_INDEX.search(name)
    return int(found.group(1)) if found else -1


def target_linears(model: nn.Module, target: str) -> list[tuple[str, nn.Linear]]:
    """``(name, module)`` of every linear called ``target``, one per decoder layer, in order."""
    found = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and name.endswith(f".{target}")
        and _LAYER_INDEX.search(name)
    ]
    found.sort(key=lambda item: _layer_index(item[0]))
    config: Any = model.config  # a transformers config: its fields are the model's own
    layers = config.num_hidden_layers
    if len(found) != layers:
        raise ConfigError(
            f"config key 'doc2lora.target_modules': '{target}' names {len(found)} linear layers, "
            f"expected one in each of the backbone's {layers} decoder layers"
        )
    return found


def hypernetwork_shape(
    model: nn.Module,
    *,
    targets: Sequence[str],
    rank: int,
    latent_dim: int,
    num_blocks: int,
    num_heads: int,
) -> HypernetworkShape:
    """The hypernetwork that fits ``model``: every size read from the model itself."""
    shapes = []
    for target in targets:
        _, linear = target_linears(model, target)[0]
        shapes.append(
            TargetShape(
                name=target, in_features=linear.in_features, out_features=linear.out_features
            )
        )
    config: Any = model.config  # a transformers config: its fields are the model's own
    return HypernetworkShape(
        num_layers=int(config.num_hidden_layers),
        hidden_size=int(config.hidden_size),
        targets=tuple(shapes),
        rank=rank,
        latent_dim=latent_dim,
        num_blocks=num_blocks,
        num_heads=num_heads,
    )


def configured_shape(model: nn.Module, settings: Doc2LoraConfig) -> HypernetworkShape:
    """The hypernetwork the ``doc2lora`` config section asks for, on ``model``."""
    return hypernetwork_shape(
        model,
        targets=settings.target_modules,
        rank=settings.rank,
        latent_dim=settings.latent_dim,
        num_blocks=settings.num_blocks,
        num_heads=settings.num_heads,
    )


def concatenate(parts: Sequence[LoraFactors]) -> LoraFactors:
    """One adapter whose update is the sum of the parts' updates (rank adds up)."""
    return {
        name: (
            torch.cat([p[name][0] for p in parts], dim=1),
            torch.cat([p[name][1] for p in parts], dim=2),
        )
        for name in parts[0]
    }


def peft_weights(model: nn.Module, factors: LoraFactors) -> LoraWeights:
    """The factors under peft's parameter names (``...down_proj.lora_A.weight``)."""
    weights: LoraWeights = {}
    for target, (a, b) in factors.items():
        for layer, (name, _) in enumerate(target_linears(model, target)):
            weights[f"{name}.lora_A.weight"] = a[layer].detach().contiguous()
            weights[f"{name}.lora_B.weight"] = b[layer].detach().contiguous()
    return weights


@contextmanager
def hooked(model: nn.Module, factors: LoraFactors) -> Iterator[None]:
    """Inside: each target linear outputs ``W x + B A x``, differentiably in ``A`` and ``B``.

    The factors are cast to the layer's dtype, so a bfloat16 backbone (transformers' choice on
    a GPU) trains a float32 hypernetwork."""
    handles = []
    for target, (a, b) in factors.items():
        for layer, (_, linear) in enumerate(target_linears(model, target)):

            def add_delta(
                _module: nn.Module,
                inputs: tuple[torch.Tensor, ...],
                output: torch.Tensor,
                a: torch.Tensor = a[layer],
                b: torch.Tensor = b[layer],
            ) -> torch.Tensor:
                x = inputs[0]
                return output + (x @ a.T.to(x.dtype)) @ b.T.to(x.dtype)

            handles.append(linear.register_forward_hook(add_delta))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
