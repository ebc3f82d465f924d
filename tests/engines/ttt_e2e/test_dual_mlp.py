"""The DualMLP blend is exactly alpha * frozen + (1 - alpha) * trainable, on a tiny real Llama."""

from __future__ import annotations

import copy

import pytest
import torch

from continual_learning.core.hidden_states import decoder_layers
from continual_learning.engines.ttt_e2e.dual_mlp import DualMLPLayers, last_quarter
from continual_learning.errors import ModelError, StateError

from helpers import build_tiny_backbone

IDS = torch.tensor([[5, 6, 7, 8, 9, 10, 11]])


def _logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=IDS).logits


def _with_random_delta(layers: DualMLPLayers, neurons: list[int]) -> None:
    torch.manual_seed(1)
    for _, dual in layers:
        dual.delta.include(torch.tensor(neurons))
        with torch.no_grad():
            for p in dual.delta.parameters():
                p.normal_(0, 0.5)


def test_last_quarter_covers_at_least_one_layer() -> None:
    assert last_quarter(30) == (23, 30)
    assert last_quarter(28) == (21, 28)
    assert last_quarter(2) == (1, 2)


def test_empty_deltas_leave_outputs_bit_exact() -> None:
    backbone = build_tiny_backbone()
    before = _logits(backbone.model)
    layers = DualMLPLayers(backbone.model, 1, 2, alpha=0.3)
    with layers.applied():
        assert torch.equal(_logits(backbone.model), before)


def test_blend_equals_alpha_mix_of_frozen_and_an_explicit_trainable_mlp() -> None:
    backbone = build_tiny_backbone()
    layers = DualMLPLayers(backbone.model, 1, 2, alpha=0.25)
    _with_random_delta(layers, [3, 10, 40])
    dual = layers.duals["1"]
    mlp = decoder_layers(backbone.model)[1].mlp
    # The trainable MLP written out: a copy whose neurons 3, 10, 40 carry the deltas.
    trainable = copy.deepcopy(mlp)
    with torch.no_grad():
        for row, neuron in enumerate(dual.delta.indices.tolist()):
            trainable.gate_proj.weight[neuron] += dual.delta.gate[row]
            trainable.up_proj.weight[neuron] += dual.delta.up[row]
            trainable.down_proj.weight[:, neuron] += dual.delta.down[row]
    x = torch.randn(2, 5, mlp.gate_proj.weight.shape[1])
    with torch.no_grad():
        expected = 0.25 * mlp(x) + 0.75 * trainable(x)
        with layers.applied():
            blended = mlp(x)
    assert torch.allclose(blended, expected, atol=1e-5)


def test_hooks_go_when_the_block_ends_and_the_backbone_is_never_modified() -> None:
    backbone = build_tiny_backbone()
    before = _logits(backbone.model)
    state = {k: v.clone() for k, v in backbone.model.state_dict().items()}
    layers = DualMLPLayers(backbone.model, 1, 2, alpha=0.5)
    _with_random_delta(layers, [0, 1, 2])
    with layers.applied():
        assert not torch.equal(_logits(backbone.model), before)
    assert torch.equal(_logits(backbone.model), before)
    assert all(torch.equal(v, state[k]) for k, v in backbone.model.state_dict().items())


def test_state_round_trips_and_a_bad_state_changes_nothing() -> None:
    backbone = build_tiny_backbone()
    layers = DualMLPLayers(backbone.model, 0, 2, alpha=0.5)
    _with_random_delta(layers, [4, 5])
    saved = layers.tensors()
    other = DualMLPLayers(backbone.model, 0, 2, alpha=0.5)
    other.load_tensors(saved)
    with layers.applied():
        expected = _logits(backbone.model)
    with other.applied():
        assert torch.equal(_logits(backbone.model), expected)

    broken = dict(saved) | {"layer1.gate": torch.zeros(3, 7)}
    with pytest.raises(StateError, match="shape"):
        other.load_tensors(broken)
    with other.applied():
        assert torch.equal(_logits(backbone.model), expected)
    out_of_range = dict(saved) | {"layer0.indices": torch.tensor([4, 999])}
    with pytest.raises(StateError, match="out of range"):
        other.load_tensors(out_of_range)
    with pytest.raises(StateError, match="layers"):
        DualMLPLayers(backbone.model, 1, 2, alpha=0.5).load_tensors(saved)


def test_layers_outside_the_model_are_refused() -> None:
    with pytest.raises(ModelError, match="do not fit"):
        DualMLPLayers(build_tiny_backbone().model, 1, 5, alpha=0.5)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.8])
def test_folded_weights_compute_the_hooked_blend_and_come_back_bit_exact(alpha: float) -> None:
    backbone = build_tiny_backbone()
    original = {k: v.clone() for k, v in backbone.model.state_dict().items()}
    parameters = {name: id(p) for name, p in backbone.model.named_parameters()}
    layers = DualMLPLayers(backbone.model, 1, 2, alpha=alpha)
    _with_random_delta(layers, [3, 10, 40])
    with layers.applied():
        hooked = _logits(backbone.model)
    with layers.folded(backbone.model):
        mlp = decoder_layers(backbone.model)[1].mlp
        assert mlp.gate_proj.weight.shape[0] == layers.duals["1"].delta.intermediate + 3
        folded = _logits(backbone.model)
    assert torch.allclose(folded, hooked, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(folded, _logits(backbone.model), atol=1e-3)  # the delta matters
    after = backbone.model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in original.items())
    assert {name: id(p) for name, p in backbone.model.named_parameters()} == parameters


def test_folded_weights_follow_a_changed_delta() -> None:
    backbone = build_tiny_backbone()
    layers = DualMLPLayers(backbone.model, 1, 2, alpha=0.5)
    _with_random_delta(layers, [3, 10])
    with layers.folded(backbone.model):
        first = _logits(backbone.model)
    with layers.applied(), torch.no_grad():  # training happens inside applied()
        layers.duals["1"].delta.gate.mul_(3.0)
    with layers.folded(backbone.model):
        second = _logits(backbone.model)
    with layers.applied():
        hooked = _logits(backbone.model)
    assert not torch.allclose(first, second, atol=1e-4)
    assert torch.allclose(second, hooked, atol=1e-5, rtol=1e-5)
