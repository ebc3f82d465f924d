"""A LoRA adapter whose weights live outside the backbone, put into it with peft for a block.

Replay-LoRA trains such an adapter; Doc-to-LoRA's hypernetwork writes one. peft's ``LoraModel``
wraps each target ``nn.Linear`` in a ``lora.Linear`` that adds ``(alpha / r) * B(A(x))`` to the
frozen layer's output; ``unload()`` puts the original layers back, untouched. An engine injects
its adapter only inside :func:`lora_applied` (entered by ``Engine.applied()`` and by training),
so outside it the backbone is exactly the pretrained model: other engines on the same backbone
never see this one's learning, and a cleared engine needs no weight restoring at all. For
answering, :func:`lora_folded` computes the same function with the update merged into the
weights, so decoding runs at the backbone's own speed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from continual_learning.core.weight_folding import FoldCache, swapped_parameters
from continual_learning.errors import ConfigError, StateError

if TYPE_CHECKING:
    from peft import LoraConfig

ADAPTER = "workbench"
LoraWeights = dict[str, torch.Tensor]
"""Parameter name (peft's, without the adapter name) -> tensor, e.g.
``model.layers.0.self_attn.q_proj.lora_A.weight``."""


def lora_config(
    rank: int, alpha: float, dropout: float, target_modules: Sequence[str]
) -> LoraConfig:
    """peft's ``LoraConfig`` for these settings (imported lazily: peft is slow to import)."""
    from peft import LoraConfig

    return LoraConfig(
        r=rank,
        lora_alpha=alpha,  # type: ignore[arg-type]  # peft's stub says int; it scales by a float
        lora_dropout=dropout,
        target_modules=list(target_modules),
        bias="none",
    )


def check_targets(model: nn.Module, target_modules: Sequence[str], *, section: str) -> None:
    """Refuse, before any training, target names that match no linear layer of ``model``."""
    names = {
        name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, nn.Linear)
    }
    missing = [t for t in target_modules if t not in names]
    if missing:
        raise ConfigError(
            f"config key '{section}.target_modules': {', '.join(missing)} not found in the "
            f"backbone (its linear layers: {', '.join(sorted(names))})"
        )


@contextmanager
def lora_applied(
    model: nn.Module,
    config: LoraConfig,
    weights: Mapping[str, torch.Tensor],
) -> Iterator[dict[str, nn.Parameter]]:
    """Inside: ``model`` carries a LoRA adapter holding ``weights``; yields its live parameters.

    Changes made to the yielded parameters are lost on exit unless copied out with
    :func:`read_weights`; the model is restored to its original layers either way.
    """
    from peft.tuners.lora import LoraModel

    tuner = LoraModel(model, config, ADAPTER)
    try:
        parameters = _adapter_parameters(model)
        if weights:
            load_weights(parameters, weights)
        yield parameters
    finally:
        tuner.unload()


def folded_lora_weights(
    model: nn.Module,
    config: LoraConfig,
    weights: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Every target linear's weight with its update merged in: ``W + (alpha / r) B A``.

    The same function peft's ``lora.Linear`` computes (``W x + (alpha / r) B A x``; LoRA,
    arXiv 2106.09685, section 4.1: the product can be merged, so inference costs nothing
    extra), with no wrapper to run at every decoding step.
    """
    if getattr(config, "use_rslora", False) or getattr(config, "use_dora", False):
        raise ConfigError("folding supports plain LoRA scaling (no rsLoRA, no DoRA)")
    scale = config.lora_alpha / config.r
    folded: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, a in weights.items():
            if not name.endswith(".lora_A.weight"):
                continue
            module = name.removesuffix(".lora_A.weight")
            b = weights[f"{module}.lora_B.weight"]
            base = cast(nn.Linear, model.get_submodule(module)).weight
            delta = (b.float() @ a.float()) * scale  # (out, r) @ (r, in) -> (out, in)
            folded[f"{module}.weight"] = (base.float() + delta.to(base.device)).to(base.dtype)
    return folded


def lora_folded(
    model: nn.Module,
    config: LoraConfig,
    weights: Mapping[str, torch.Tensor],
    cache: FoldCache,
) -> AbstractContextManager[None]:
    """For answering: inside, the backbone computes what :func:`lora_applied` computes, at the
    backbone's own speed (folded weights, ``core/weight_folding.py``); ``cache`` keeps them
    between calls for as long as ``weights`` is the same mapping."""
    folded = cache.tensors(weights, lambda: folded_lora_weights(model, config, weights))
    return swapped_parameters(model, folded)


def initial_weights(model: nn.Module, config: LoraConfig, seed: int) -> LoraWeights:
    """peft's own initialisation (A random, B zero: the adapter starts as a no-op), seeded."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with lora_applied(model, config, {}) as parameters:
            return read_weights(parameters)


def read_weights(parameters: Mapping[str, nn.Parameter]) -> LoraWeights:
    return {name: p.detach().clone() for name, p in parameters.items()}


def load_weights(
    parameters: Mapping[str, nn.Parameter], weights: Mapping[str, torch.Tensor]
) -> None:
    """Copy ``weights`` into the live adapter; names and shapes must match exactly."""
    if set(weights) != set(parameters):
        unexpected = sorted(set(weights) - set(parameters))[:3]
        missing = sorted(set(parameters) - set(weights))[:3]
        raise StateError(
            f"LoRA weights do not fit this adapter (missing {missing}, unexpected {unexpected}); "
            "were they saved with other target_modules?"
        )
    with torch.no_grad():
        for name, parameter in parameters.items():
            if weights[name].shape != parameter.shape:
                raise StateError(
                    f"LoRA weight {name} has shape {tuple(weights[name].shape)}, the adapter "
                    f"{tuple(parameter.shape)}; was it saved with another rank?"
                )
            parameter.copy_(weights[name])


def stacked(adapters: Sequence[LoraWeights]) -> LoraWeights:
    """One adapter whose ``B A`` is the sum of the adapters' (their ranks add up): every
    ``lora_A`` stacked by rows, every ``lora_B`` by columns."""
    return {
        name: torch.cat([w[name] for w in adapters], dim=1 if ".lora_B." in name else 0)
        for name in adapters[0]
    }


def check_weights(
    weights: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor]
) -> None:
    """Names and shapes of ``weights`` equal ``reference``'s (validation before loading state)."""
    if set(weights) != set(reference) or any(
        weights[n].shape != reference[n].shape for n in reference
    ):
        raise StateError("LoRA weights do not match this adapter's names and shapes")


def _adapter_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    marker = f".{ADAPTER}."
    return {
        name.replace(marker, "."): parameter
        for name, parameter in model.named_parameters()
        if marker in name
    }
