"""Folded weights: the same function as the wrapped path, and the backbone bit-exact afterwards."""

from __future__ import annotations

import pytest
import torch

from continual_learning.core.lora import (
    folded_lora_weights,
    lora_applied,
    lora_config,
    lora_folded,
    stacked,
)
from continual_learning.core.weight_folding import FoldCache, swapped_parameters

from helpers import build_tiny_backbone

IDS = torch.tensor([[5, 6, 7, 8, 9, 10, 11]])


def _logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=IDS).logits


def _trained_lora(model: torch.nn.Module, config) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    """An adapter whose B is not zero (peft starts B at zero, a no-op), as training leaves it."""
    torch.manual_seed(0)
    with lora_applied(model, config, {}) as parameters:
        with torch.no_grad():
            for p in parameters.values():
                p.normal_(0, 0.2)
        return {name: p.detach().clone() for name, p in parameters.items()}


def test_swapped_parameters_put_the_original_objects_back_even_on_error() -> None:
    backbone = build_tiny_backbone()
    name = "model.layers.0.mlp.up_proj.weight"
    original = backbone.model.get_parameter(name)
    before = original.detach().clone()
    with pytest.raises(RuntimeError), swapped_parameters(backbone.model, {name: before * 0}):
        assert torch.count_nonzero(backbone.model.get_parameter(name)) == 0
        raise RuntimeError("mid-answer failure")
    assert backbone.model.get_parameter(name) is original
    assert torch.equal(original, before)


def test_lora_folded_computes_what_peft_computes_and_leaves_the_backbone_bit_exact() -> None:
    backbone = build_tiny_backbone()
    fingerprint = backbone.fingerprint()
    config = lora_config(4, 8.0, 0.0, ["q_proj", "down_proj"])
    weights = _trained_lora(backbone.model, config)
    plain = _logits(backbone.model)
    with lora_applied(backbone.model, config, weights):
        wrapped = _logits(backbone.model)
    with lora_folded(backbone.model, config, weights, FoldCache()):
        folded = _logits(backbone.model)
    assert not torch.allclose(wrapped, plain, atol=1e-3)
    assert torch.allclose(folded, wrapped, atol=1e-5, rtol=1e-5)
    assert torch.equal(_logits(backbone.model), plain)
    assert not backbone.weights_changed(fingerprint)


def test_fold_cache_folds_once_per_weights_mapping() -> None:
    backbone = build_tiny_backbone()
    config = lora_config(4, 8.0, 0.0, ["q_proj"])
    weights = _trained_lora(backbone.model, config)
    folds = []

    def fold() -> dict[str, torch.Tensor]:
        folds.append(1)
        return folded_lora_weights(backbone.model, config, weights)

    cache = FoldCache()
    assert cache.tensors(weights, fold) is cache.tensors(weights, fold)
    assert len(folds) == 1
    cache.tensors(dict(weights), fold)  # a new mapping (what an engine makes when it learns)
    assert len(folds) == 2


def test_stacked_adapters_at_the_summed_rank_are_the_mean_of_their_updates() -> None:
    """Replay-LoRA's per-cycle export: peft scales ``B A`` by alpha / rank, so stacking n adapters
    (rank n r) at one alpha gives the mean of the n updates."""
    torch.manual_seed(0)
    name_a, name_b = "q_proj.lora_A.default.weight", "q_proj.lora_B.default.weight"
    rank, alpha = 4, 8.0
    adapters = [{name_a: torch.randn(rank, 6), name_b: torch.randn(5, rank)} for _ in range(3)]
    merged = stacked(adapters)
    update = merged[name_b] @ merged[name_a] * alpha / (rank * len(adapters))
    mean = sum(w[name_b] @ w[name_a] * alpha / rank for w in adapters) / len(adapters)
    assert merged[name_a].shape == (rank * 3, 6) and merged[name_b].shape == (5, rank * 3)
    torch.testing.assert_close(update, mean)
