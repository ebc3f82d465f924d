"""Answer in bfloat16 while the weights stay float32.

Decoding on a CPU reads every weight for every generated token, so it is bound by memory
bandwidth: weights of half the bytes decode about 1.4x faster on one stream and more in batches
(docs/speed.md). Learning, perplexity and every score still need float32, so the weights are not
converted: while a ``generate`` call runs, each floating parameter of the model is replaced by a
bfloat16 copy, and the originals come back when it ends (the same swap as
``core/weight_folding.py``, which an engine's folded weights go through first; they are cast
too). The copies are kept for the next call, each tied to the parameter it copies (by identity,
weakly: a parameter that is gone takes its copy with it) and to its version counter, so a
weight changed in place is copied again; tied weights (embeddings and output head) stay tied.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


class AnswerPrecision:
    """The dtype answers are decoded in (``None``: the weights' own) and the copies made for it."""

    def __init__(self, dtype: torch.dtype | None = None) -> None:
        self.dtype = dtype
        self._copies: dict[int, tuple[weakref.ref[nn.Parameter], int, nn.Parameter]] = {}
        """id(parameter) -> (a weak reference to it, its version then, its copy); an entry goes
        when its parameter does, so an id is never reused while it is here."""

    def __repr__(self) -> str:
        return f"AnswerPrecision({self.name})"

    @property
    def name(self) -> str:
        """``bfloat16``, or ``weights`` when answers use the weights as they are."""
        return "weights" if self.dtype is None else str(self.dtype).removeprefix("torch.")

    @contextmanager
    def applied(self, model: nn.Module) -> Iterator[None]:
        """Inside: every floating parameter of another dtype is its copy in ``dtype``."""
        if self.dtype is None:
            yield
            return
        swapped: list[tuple[nn.Module, str, nn.Parameter]] = []
        try:
            for module in model.modules():
                for name, parameter in list(module._parameters.items()):
                    if parameter is None or not parameter.is_floating_point():
                        continue
                    if parameter.dtype == self.dtype:
                        continue
                    swapped.append((module, name, parameter))
                    module._parameters[name] = self._copy(parameter)
            yield
        finally:
            for module, name, parameter in reversed(swapped):
                module._parameters[name] = parameter

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """Inside: decoding uses the weights' own dtype (for replies that become training
        targets, so what an engine learns does not depend on how answers are decoded)."""
        dtype, self.dtype = self.dtype, None
        try:
            yield
        finally:
            self.dtype = dtype

    def _copy(self, parameter: nn.Parameter) -> nn.Parameter:
        from torch import nn

        key, version = id(parameter), parameter._version
        kept = self._copies.get(key)
        if kept is not None and kept[0]() is parameter and kept[1] == version:
            return kept[2]
        copy = nn.Parameter(parameter.detach().to(self.dtype), requires_grad=False)
        forget = self._copies.pop
        self._copies[key] = (weakref.ref(parameter, lambda _: forget(key, None)), version, copy)
        return copy


def answer_dtype(requested: str, device: str) -> torch.dtype | None:
    """The dtype of ``model.answer_dtype``: ``weights`` answers with the weights as loaded;
    ``auto`` is bfloat16 on a CPU with bfloat16 instructions (avx512_bf16 or amx_bf16), where
    it was measured (docs/speed.md), and the weights' own dtype elsewhere."""
    import torch

    if requested == "weights":
        return None
    if requested == "bfloat16":
        return torch.bfloat16
    return torch.bfloat16 if device == "cpu" and cpu_has_bfloat16() else None


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (Linux: /proc/cpuinfo's flags)."""
    from pathlib import Path

    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))
