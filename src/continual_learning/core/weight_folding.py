"""Answer at the backbone's own speed: fold a learned change into the weights for a block.

A LoRA adapter run through peft's wrappers, or a neuron delta run through forward hooks, costs
extra work at every decoding step on every wrapped layer. For answering, the change can instead
be computed once into new weight tensors (``W + scale * B A`` for LoRA; extra MLP neurons for
TTT-E2E) that replace the originals for the duration of a ``with`` block. The original
``Parameter`` objects are kept aside, untouched, and put back on exit: nothing is subtracted,
so the backbone after the block is bit-for-bit what it was (the harness's fingerprint check and
every engine's ``clear()`` rely on that). Training never goes through here: it needs the
differentiable path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

from continual_learning.errors import ModelError


@contextmanager
def swapped_parameters(
    model: nn.Module, replacements: Mapping[str, torch.Tensor]
) -> Iterator[None]:
    """Inside: each named parameter (``model.layers.3.mlp.up_proj.weight``) is the given tensor.

    A replacement may have another shape (TTT-E2E's MLPs gain neurons); modules read their
    weights at call time, so the model computes with the new ones until the block ends.
    """
    originals: list[tuple[nn.Module, str, nn.Parameter]] = []
    try:
        for name, tensor in replacements.items():
            module_name, _, attribute = name.rpartition(".")
            module = model.get_submodule(module_name)
            original = module._parameters.get(attribute)
            if original is None:
                raise ModelError(f"the backbone has no parameter {name} to fold a change into")
            originals.append((module, attribute, original))
            setattr(module, attribute, _as_parameter(tensor, like=original))
        yield
    finally:
        for module, attribute, original in reversed(originals):
            setattr(module, attribute, original)


def _as_parameter(tensor: torch.Tensor, *, like: nn.Parameter) -> nn.Parameter:
    """``tensor`` as a frozen parameter on ``like``'s device and dtype; a parameter that already
    is one is used as it is, so a cached fold keeps its identity from call to call (what
    ``core/answer_precision.py`` keys its copies by)."""
    if isinstance(tensor, nn.Parameter) and (tensor.device, tensor.dtype) == (
        like.device,
        like.dtype,
    ):
        return tensor
    return nn.Parameter(tensor.to(device=like.device, dtype=like.dtype), requires_grad=False)


class FoldCache:
    """The folded tensors of the last change folded, kept until that change is replaced.

    Folding costs a pass over every target weight (for a LoRA on every linear layer, a copy of
    most of the model), which would be paid again at every ``generate``. ``key`` names what was
    folded and is compared by identity: a LoRA engine passes its weights mapping (replaced, never
    mutated, when it learns), TTT-E2E a token it renews whenever its deltas change. The cache
    holds a reference to the key, so an identity is never reused while it is cached.
    """

    def __init__(self) -> None:
        self._key: object = None
        self._tensors: dict[str, torch.Tensor] = {}

    def tensors(
        self, key: object, fold: Callable[[], dict[str, torch.Tensor]]
    ) -> dict[str, torch.Tensor]:
        if self._key is not key:
            self._tensors, self._key = {}, None  # free the old copy before making the new one
            folded = fold()
            self._tensors = {n: nn.Parameter(t, requires_grad=False) for n, t in folded.items()}
            self._key = key
        return self._tensors

    def clear(self) -> None:
        self._tensors, self._key = {}, None
