"""Reading a decoder layer's hidden states: find the layers of any supported backbone, and
capture one layer's output during a forward pass or during generation."""

from __future__ import annotations

from types import TracebackType

import torch
from torch import nn

from continual_learning.errors import ModelError

# Where Llama, Qwen2, Gemma2/3 (and peft-wrapped versions of them) keep their decoder layers.
_LAYER_PATHS = ("model.layers", "model.model.layers", "base_model.model.model.layers")


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    for path in _LAYER_PATHS:
        module: object = model
        for name in path.split("."):
            module = getattr(module, name, None)
            if module is None:
                break
        if isinstance(module, nn.ModuleList):
            return module
    raise ModelError(f"cannot find the decoder layers of {type(model).__name__}")


def layer_mlps(model: nn.Module) -> list[nn.Module]:
    """Each decoder layer's MLP, in layer order."""
    mlps = []
    for layer in decoder_layers(model):
        mlp = getattr(layer, "mlp", None)
        if not isinstance(mlp, nn.Module):
            raise ModelError(f"the decoder layers of {type(model).__name__} have no 'mlp'")
        mlps.append(mlp)
    return mlps


def resolve_layer(model: nn.Module, layer: int) -> int:
    """A layer index with Python's negative indexing; out of range is an error."""
    count = len(decoder_layers(model))
    index = layer + count if layer < 0 else layer
    if not 0 <= index < count:
        raise ModelError(f"layer {layer} does not exist: the model has {count} decoder layers")
    return index


class LayerCapture:
    """``with LayerCapture(model, layer) as capture: model(...)``; then ``capture.hidden``.

    ``hidden`` holds the layer's output of the most recent forward call, shape (B, T, H); during
    cached generation each step's call has T = 1, so ``hidden[:, -1]`` is always the newest token.
    """

    def __init__(self, model: nn.Module, layer: int) -> None:
        self._layer = decoder_layers(model)[resolve_layer(model, layer)]
        self._handle: torch.utils.hooks.RemovableHandle | None = None
        self.hidden: torch.Tensor | None = None

    def _hook(self, module: nn.Module, inputs: object, output: torch.Tensor | tuple) -> None:
        self.hidden = (output[0] if isinstance(output, tuple) else output).detach()

    @property
    def output(self) -> torch.Tensor:
        """``hidden``, where a forward pass ran inside the block (an error where none did)."""
        if self.hidden is None:
            raise ModelError("no forward pass ran while the layer was captured")
        return self.hidden

    def __enter__(self) -> LayerCapture:
        self._handle = self._layer.register_forward_hook(self._hook)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.remove()
        self._handle = None
