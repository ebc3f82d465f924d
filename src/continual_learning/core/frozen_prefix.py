"""Train the last layers without running the first ones again at every step.

TTT-E2E changes only the MLPs of its last layers (the last quarter by default); every layer
before them is frozen, so what they compute for a training row is the same at every step and
epoch. :class:`FrozenPrefix` runs the frozen layers once per row, keeps the hidden states that
enter the first trained layer, and from then on runs only the layers from there to the output:
about a quarter of the model per step instead of all of it, and exactly the same numbers (the
kept states are the ones the full pass computes). A padded batch keeps its attention mask, and
positions are computed from it as in the full pass.

Only architectures whose embedding output enters the first layer unchanged, with the same mask
and positions for every layer, can start from kept states that way (``llama``, which SmolLM2
is); any other model is run whole, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from continual_learning.core.hidden_states import decoder_layers

if TYPE_CHECKING:
    from transformers import PreTrainedModel

_SUPPORTED = frozenset({"llama"})
_KEPT_ROWS = 64
"""Batches whose states are kept at most (a document's and the guard's rows fit)."""


class FrozenPrefix:
    """``forward(ids, mask)``: the model's output, with the layers before ``start`` run once."""

    def __init__(self, model: PreTrainedModel, start: int) -> None:
        self.model = model
        self.start = start
        self.enabled = start > 0 and getattr(model.config, "model_type", "") in _SUPPORTED
        self._kept: dict[tuple[Any, ...], torch.Tensor] = {}

    def forward(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        labels: torch.Tensor | None = None,
    ) -> Any:
        """What ``model(input_ids=ids, attention_mask=mask, labels=labels)`` returns."""
        if not self.enabled:
            return self.model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False)
        states = self._states(ids, mask)
        with _layers_from(self.model, self.start):
            return self.model(
                inputs_embeds=states, attention_mask=mask, labels=labels, use_cache=False
            )

    def _states(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        key = _key(ids, mask)
        if key not in self._kept:
            if len(self._kept) >= _KEPT_ROWS:
                self._kept.clear()
            self._kept[key] = self._run_prefix(ids, mask)
        return self._kept[key]

    def _run_prefix(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The hidden states entering layer ``start``: a pass that stops there."""
        captured: list[torch.Tensor] = []

        def keep(_: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            captured.append((args[0] if args else kwargs["hidden_states"]).detach())
            raise _Stop

        layer = decoder_layers(self.model)[self.start]
        handle = layer.register_forward_pre_hook(keep, with_kwargs=True)
        try:
            with torch.no_grad():
                self.model.model(input_ids=ids, attention_mask=mask, use_cache=False)
        except _Stop:
            pass
        finally:
            handle.remove()
        return captured[0]


class _Stop(Exception):
    """Raised from inside the model once the states are kept: nothing after is needed."""


def _key(ids: torch.Tensor, mask: torch.Tensor | None) -> tuple[Any, ...]:
    key: tuple[Any, ...] = (tuple(ids.shape), ids.cpu().numpy().tobytes())
    return key if mask is None else (*key, mask.cpu().numpy().tobytes())


@contextmanager
def _layers_from(model: PreTrainedModel, start: int) -> Iterator[None]:
    """Inside: the model's decoder layers are those from ``start`` on."""
    inner = model.model
    layers = inner.layers
    inner.layers = nn.ModuleList(list(layers)[start:])
    try:
        yield
    finally:
        inner.layers = layers
