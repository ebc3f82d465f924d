"""The Perceiver hypernetwork: a chunk's activations in, one rank-r LoRA per layer out.

Doc-to-LoRA (Charakorn et al. 2026) reads what the frozen backbone computes on a document and
writes LoRA weights that let the backbone answer about it without the document in its context.
Here, for every decoder layer ``l``:

1. the hidden states entering layer ``l`` (``T x hidden``) are normalised and projected to the
   latent width;
2. ``rank`` learned latent queries, plus an embedding of ``l``, cross-attend to them (the
   Perceiver read: a fixed-size summary of a chunk of any length);
3. a few self-attention blocks refine the latents;
4. for every target module, latent ``i`` becomes row ``i`` of ``A`` (``rank x in``) and column
   ``i`` of ``B`` (``out x rank``), so ``delta W = B A`` has rank at most ``rank``.

Layers are the batch dimension, so one forward pass serves every layer. All sizes come from the
backbone's config (:func:`hypernetwork_shape`). ``B``'s head starts at zero: an untrained
hypernetwork writes a LoRA that changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

LoraFactors = dict[str, tuple[torch.Tensor, torch.Tensor]]
"""Target module name -> (``A``: layers x rank x in, ``B``: layers x out x rank)."""


@dataclass(frozen=True, kw_only=True)
class TargetShape:
    """One kind of linear layer that gets a LoRA in every decoder layer, e.g. ``down_proj``."""

    name: str
    in_features: int
    out_features: int


@dataclass(frozen=True, kw_only=True)
class HypernetworkShape:
    """Everything that fixes the hypernetwork's tensors; saved beside its weights."""

    num_layers: int
    hidden_size: int
    targets: tuple[TargetShape, ...]
    rank: int
    latent_dim: int
    num_blocks: int
    num_heads: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HypernetworkShape:
        targets = tuple(TargetShape(**t) for t in data["targets"])
        return cls(**{**data, "targets": targets})


class LoraHead(nn.Module):
    """Latents -> the ``A`` and ``B`` factors of one target module, in every layer."""

    def __init__(self, latent_dim: int, target: TargetShape) -> None:
        super().__init__()
        self.to_a = nn.Linear(latent_dim, target.in_features)
        self.to_b = nn.Linear(latent_dim, target.out_features)
        nn.init.zeros_(self.to_b.weight)
        nn.init.zeros_(self.to_b.bias)
        # Keeps A x near unit size whatever the input width, as peft's Kaiming init of A does.
        self.a_scale = 1.0 / math.sqrt(target.in_features)

    def forward(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.to_a(latents) * self.a_scale  # layers x rank x in
        b = self.to_b(latents).transpose(1, 2)  # layers x out x rank
        return a, b


class PerceiverHypernetwork(nn.Module):
    def __init__(self, shape: HypernetworkShape) -> None:
        super().__init__()
        self.shape = shape
        width = shape.latent_dim
        self.read_in = nn.Sequential(
            nn.LayerNorm(shape.hidden_size), nn.Linear(shape.hidden_size, width)
        )
        self.latents = nn.Parameter(torch.randn(shape.rank, width) * 0.02)
        self.layer_embedding = nn.Embedding(shape.num_layers, width)
        self.query_norm = nn.LayerNorm(width)
        self.cross_attention = nn.MultiheadAttention(width, shape.num_heads, batch_first=True)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                width,
                shape.num_heads,
                dim_feedforward=4 * width,
                dropout=0.0,
                batch_first=True,
                norm_first=True,
            )
            for _ in range(shape.num_blocks)
        )
        self.out_norm = nn.LayerNorm(width)
        self.heads = nn.ModuleDict({t.name: LoraHead(width, t) for t in shape.targets})

    def forward(self, activations: torch.Tensor) -> LoraFactors:
        """``activations``: layers x tokens x hidden, the hidden states entering each layer."""
        layers = activations.shape[0]
        if layers != self.shape.num_layers:
            raise ValueError(f"expected {self.shape.num_layers} layers, got {layers}")
        keys = self.read_in(activations)
        layer_ids = torch.arange(layers, device=activations.device)
        queries = self.latents.unsqueeze(0) + self.layer_embedding(layer_ids).unsqueeze(1)
        attended, _ = self.cross_attention(self.query_norm(queries), keys, keys, need_weights=False)
        latents = queries + attended
        for block in self.blocks:
            latents = block(latents)
        latents = self.out_norm(latents)
        return {name: head(latents) for name, head in self.heads.items()}

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
