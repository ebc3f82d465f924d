"""DualMLP: a frozen MLP and a trainable one, blended by alpha, for the layers that learn.

For a decoder layer's MLP ``down(act(gate(x)) * up(x))`` (Llama / SmolLM2, Qwen2, Gemma 2/3):

    output = alpha * frozen(x) + (1 - alpha) * trainable(x)

The trainable MLP is the frozen one plus a **neuron-sparse delta**: for a set S of intermediate
neurons (the ones the TF-IDF gate opened for some document), it stores new rows of ``gate`` and
``up`` and a new column of ``down``; every other neuron is the frozen one. So only what changes
is kept, trained and checkpointed: three vectors of the hidden size per touched neuron, 6.9 KB
at 135M (hidden 576, fp32) and 18 KB at 1.5B (hidden 1536). With the default gate (5% of the
neurons per document, last quarter of the layers) one document costs at most
8 layers x 77 neurons x 6.9 KB = 4.2 MB at 135M (SmolLM2, 1,536 neurons) and
7 x 448 x 18 KB = 58 MB at 1.5B (Qwen2.5, 8,960 neurons); the bound, every neuron touched
(no gate), is a full MLP copy: 85 MB and 1.16 GB.

Since ``trainable(x) = frozen(x) + correction(x)``, the blend is computed as
``frozen(x) + (1 - alpha) * correction(x)`` with the correction evaluated on S only (its cost
grows with |S|, not with the MLP), and with S empty it returns the frozen output unchanged, bit
for bit.

The backbone is never modified: for training, :meth:`DualMLPLayers.applied` installs forward
hooks on the wrapped MLPs (differentiable in the deltas), and removing them restores the original
model; for answering, :meth:`DualMLPLayers.folded` computes the same blend into the MLPs' own
weights as extra neurons for the duration of a block, and puts the original tensors back after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from continual_learning.core.hidden_states import layer_mlps
from continual_learning.core.weight_folding import FoldCache, swapped_parameters
from continual_learning.errors import ModelError, StateError


@dataclass(frozen=True)
class GatedMlp:
    """A Llama-style MLP, ``down(act(gate(x)) * up(x))``, with its parts typed."""

    module: nn.Module
    gate_proj: nn.Linear
    up_proj: nn.Linear
    down_proj: nn.Linear
    act_fn: Callable[[torch.Tensor], torch.Tensor]

    @classmethod
    def of(cls, mlp: nn.Module) -> GatedMlp:
        for name in ("gate_proj", "up_proj", "down_proj", "act_fn"):
            if not hasattr(mlp, name):
                raise ModelError(
                    f"{type(mlp).__name__} has no '{name}': DualMLP wraps gated MLPs "
                    "(Llama, Qwen2, Gemma)"
                )
        gate, up, down = (
            cast(nn.Linear, getattr(mlp, n)) for n in ("gate_proj", "up_proj", "down_proj")
        )
        act_fn = cast(Callable[[torch.Tensor], torch.Tensor], mlp.act_fn)
        return cls(mlp, gate, up, down, act_fn)


class NeuronDelta(nn.Module):
    """The trainable path's storage: new gate / up rows and down columns for neurons S."""

    indices: torch.Tensor

    def __init__(self, mlp: GatedMlp) -> None:
        super().__init__()
        weight = mlp.gate_proj.weight
        self.hidden = weight.shape[1]
        self.intermediate = weight.shape[0]
        empty = weight.new_zeros(0, self.hidden, dtype=torch.float32)
        self.register_buffer("indices", torch.zeros(0, dtype=torch.long, device=weight.device))
        self.gate = nn.Parameter(empty.clone())
        self.up = nn.Parameter(empty.clone())
        self.down = nn.Parameter(empty.clone())  # stored (n, hidden): column j of down_proj

    def __len__(self) -> int:
        return int(self.indices.numel())

    def include(self, neurons: torch.Tensor) -> None:
        """Add the neurons not stored yet, with zero deltas (the trainable MLP stays equal)."""
        new = neurons[~torch.isin(neurons, self.indices)].unique()
        if not new.numel():
            return
        zeros = self.gate.new_zeros(new.numel(), self.hidden)
        with torch.no_grad():
            self.indices = torch.cat([self.indices, new.to(self.indices.device)])
            self.gate = nn.Parameter(torch.cat([self.gate.detach(), zeros]))
            self.up = nn.Parameter(torch.cat([self.up.detach(), zeros]))
            self.down = nn.Parameter(torch.cat([self.down.detach(), zeros]))

    def row_mask(self, neurons: torch.Tensor) -> torch.Tensor:
        """(n, 1) float mask: 1 for the stored rows of ``neurons``, 0 for the rest."""
        return torch.isin(self.indices, neurons.to(self.indices.device)).float().unsqueeze(1)

    def reset(self) -> None:
        with torch.no_grad():
            self.indices = self.indices[:0]
            self.gate = nn.Parameter(self.gate.detach()[:0])
            self.up = nn.Parameter(self.up.detach()[:0])
            self.down = nn.Parameter(self.down.detach()[:0])

    def load(
        self, indices: torch.Tensor, gate: torch.Tensor, up: torch.Tensor, down: torch.Tensor
    ) -> None:
        n = indices.numel()
        for name, tensor in (("gate", gate), ("up", up), ("down", down)):
            if tuple(tensor.shape) != (n, self.hidden):
                raise StateError(
                    f"DualMLP delta '{name}' has shape {tuple(tensor.shape)}, "
                    f"expected ({n}, {self.hidden})"
                )
        if indices.dtype != torch.long or n != indices.unique().numel():
            raise StateError("DualMLP neuron indices must be distinct integers")
        if n and not (int(indices.min()) >= 0 and int(indices.max()) < self.intermediate):
            raise StateError(f"DualMLP neuron index out of range 0..{self.intermediate - 1}")
        device = self.indices.device
        self.indices = indices.to(device)
        self.gate = nn.Parameter(gate.to(device, torch.float32))
        self.up = nn.Parameter(up.to(device, torch.float32))
        self.down = nn.Parameter(down.to(device, torch.float32))


class DualMLP(nn.Module):
    """``alpha * frozen(x) + (1 - alpha) * trainable(x)`` for one decoder layer's MLP."""

    def __init__(self, mlp: nn.Module, alpha: float) -> None:
        super().__init__()
        # Held by reference, not registered: its weights belong to the backbone, and are
        # neither trained nor saved here (a plain dataclass is no submodule).
        self.frozen = GatedMlp.of(mlp)
        self.delta = NeuronDelta(self.frozen)
        self.alpha = alpha

    def forward(self, x: torch.Tensor, frozen_out: torch.Tensor) -> torch.Tensor:
        if not len(self.delta) or self.alpha == 1.0:
            return frozen_out
        correction = self.correction(x.to(torch.float32))
        return frozen_out + ((1.0 - self.alpha) * correction).to(frozen_out.dtype)

    def correction(self, x: torch.Tensor) -> torch.Tensor:
        """trainable(x) - frozen(x), computed on the stored neurons only."""
        mlp, delta, idx = self.frozen, self.delta, self.delta.indices
        gate_w = mlp.gate_proj.weight[idx].to(torch.float32)
        up_w = mlp.up_proj.weight[idx].to(torch.float32)
        down_w = mlp.down_proj.weight[:, idx].to(torch.float32)
        gate, up = x @ gate_w.T, x @ up_w.T
        if mlp.gate_proj.bias is not None:
            gate = gate + mlp.gate_proj.bias[idx].to(torch.float32)
        if mlp.up_proj.bias is not None:
            up = up + mlp.up_proj.bias[idx].to(torch.float32)
        old = mlp.act_fn(gate) * up
        new = mlp.act_fn(gate + x @ delta.gate.T) * (up + x @ delta.up.T)
        return (new - old) @ down_w.T + new @ delta.down

    def folded_weights(self, prefix: str) -> dict[str, torch.Tensor]:
        """The frozen MLP's weights with the blend built in, as |S| extra neurons.

        For a stored neuron j (gate row g_j, up row u_j, down column d_j; deltas dg, du, dd),
        the blend's output is ``alpha * n_j(x) d_j + (1 - alpha) * n'_j(x) (d_j + dd)`` with
        ``n_j = act(g_j x) u_j x`` and ``n'_j`` the same with ``g_j + dg``, ``u_j + du``. So
        neuron j keeps its rows with its down column scaled by alpha, and a new neuron with the
        trained rows and down column ``(1 - alpha)(d_j + dd)`` is appended: the MLP grows from
        I to I + |S| neurons and computes, unhooked, what the DualMLP computes (``prefix`` is
        the MLP's module name).
        """
        mlp, delta, idx = self.frozen, self.delta, self.delta.indices
        alpha = self.alpha
        with torch.no_grad():
            gate = mlp.gate_proj.weight.float()  # (I, H)
            up = mlp.up_proj.weight.float()  # (I, H)
            down = mlp.down_proj.weight.float().clone()  # (H, I)
            trained_down = (1.0 - alpha) * (down[:, idx] + delta.down.detach().T)  # (H, |S|)
            down[:, idx] *= alpha
            folded = {
                "gate_proj.weight": torch.cat([gate, gate[idx] + delta.gate.detach()]),
                "up_proj.weight": torch.cat([up, up[idx] + delta.up.detach()]),
                "down_proj.weight": torch.cat([down, trained_down], dim=1),  # (H, I + |S|)
            }
            for name, linear in (("gate_proj", mlp.gate_proj), ("up_proj", mlp.up_proj)):
                if linear.bias is not None:
                    folded[f"{name}.bias"] = torch.cat([linear.bias, linear.bias[idx]])
        return {f"{prefix}.{name}": tensor for name, tensor in folded.items()}


class DualMLPLayers(nn.Module):
    """The DualMLPs of a contiguous range of decoder layers of one backbone."""

    def __init__(self, model: nn.Module, start: int, end: int, alpha: float) -> None:
        super().__init__()
        mlps = layer_mlps(model)
        if not 0 <= start < end <= len(mlps):
            raise ModelError(
                f"DualMLP layers {start}..{end - 1} do not fit a model with {len(mlps)} layers"
            )
        self.start, self.end = start, end
        self.duals = nn.ModuleDict({str(i): DualMLP(mlps[i], alpha) for i in range(start, end)})
        self._folds = FoldCache()
        self._edition = object()
        """Renewed whenever a delta or alpha may have changed: the key of the folded weights."""

    def _changed(self) -> None:
        self._edition = object()

    def layers(self) -> Iterator[tuple[int, DualMLP]]:
        """(layer index, its DualMLP), in layer order."""
        for key, dual in self.duals.items():
            yield int(key), cast(DualMLP, dual)

    def __iter__(self) -> Iterator[tuple[int, DualMLP]]:
        return self.layers()

    @property
    def alpha(self) -> float:
        return next(self.layers())[1].alpha

    def set_alpha(self, alpha: float) -> None:
        for _, dual in self.layers():
            dual.alpha = alpha
        self._changed()

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Hook every DualMLP onto its layer's MLP; the hooks go when the block ends."""
        handles = [
            dual.frozen.module.register_forward_hook(_blend_hook(dual))
            for _, dual in self.layers()
            if len(dual.delta)
        ]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
            self._changed()  # the deltas were trainable in here

    @contextmanager
    def folded(self, model: nn.Module) -> Iterator[None]:
        """For answering: each MLP with a delta computes the blend in its own weights (see
        :meth:`DualMLP.folded_weights`), so decoding costs what the backbone costs; the original
        weights come back untouched when the block ends."""

        def fold() -> dict[str, torch.Tensor]:
            replacements: dict[str, torch.Tensor] = {}
            prefixes = {id(module): name for name, module in model.named_modules()}
            for _, dual in self.layers():
                if len(dual.delta) and dual.alpha != 1.0:
                    replacements |= dual.folded_weights(prefixes[id(dual.frozen.module)])
            return replacements

        with swapped_parameters(model, self._folds.tensors(self._edition, fold)):
            yield

    def neurons(self) -> int:
        return sum(len(dual.delta) for _, dual in self.layers())

    def nbytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.parameters())

    def reset(self) -> None:
        for _, dual in self.layers():
            dual.delta.reset()
        self._folds.clear()
        self._changed()

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for layer, dual in self.layers():
            for name in ("indices", "gate", "up", "down"):
                out[f"layer{layer}.{name}"] = getattr(dual.delta, name).detach().contiguous().cpu()
        return out

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Validate every layer first, then replace; a bad file changes nothing."""
        expected = {
            f"layer{i}.{n}" for i, _ in self.layers() for n in ("indices", "gate", "up", "down")
        }
        if set(tensors) != expected:
            raise StateError(
                f"DualMLP state holds layers {sorted(tensors)[:4]}..., expected {self.start}.."
                f"{self.end - 1}: was it saved with other layers_start / layers_end?"
            )
        backup = {k: v.clone() for k, v in self.tensors().items()}
        self._changed()
        try:
            for layer, dual in self.layers():
                dual.delta.load(
                    *(tensors[f"layer{layer}.{n}"] for n in ("indices", "gate", "up", "down"))
                )
        except StateError:
            for layer, dual in self.layers():
                dual.delta.load(
                    *(backup[f"layer{layer}.{n}"] for n in ("indices", "gate", "up", "down"))
                )
            raise


def _blend_hook(dual: DualMLP) -> Callable[..., torch.Tensor]:
    def hook(
        module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor
    ) -> torch.Tensor:
        return dual(args[0], output)

    return hook


def last_quarter(num_layers: int) -> tuple[int, int]:
    """The layers TTT-E2E modifies by default: the last quarter, at least one."""
    return num_layers - max(1, num_layers // 4), num_layers
