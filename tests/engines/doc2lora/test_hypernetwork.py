"""The hypernetwork and its injection, on the tiny backbone: shapes, peft vs hooks, composition."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.lora import lora_applied, lora_config
from continual_learning.engines.doc2lora.activations import chunk_activations
from continual_learning.engines.doc2lora.hypernetwork import PerceiverHypernetwork
from continual_learning.engines.doc2lora.injection import (
    concatenate,
    hooked,
    hypernetwork_shape,
    peft_weights,
)
from continual_learning.engines.doc2lora.weights_file import (
    HypernetworkCard,
    check_fits,
    load_hypernetwork,
    save_hypernetwork,
)
from continual_learning.errors import ConfigError, StateError

from helpers import build_tiny_backbone

DOC = "Zorblax Quentaro is the capital of Velmoria, founded in 1843 by Ardent Plume."


def _network(backbone: Backbone, rank: int = 4, **overrides) -> PerceiverHypernetwork:  # type: ignore[no-untyped-def]
    settings = {"targets": ("down_proj",), "rank": rank, "latent_dim": 32, "num_blocks": 1}
    shape = hypernetwork_shape(backbone.model, **{**settings, "num_heads": 4, **overrides})
    torch.manual_seed(0)
    network = PerceiverHypernetwork(shape).eval()
    with torch.no_grad():
        for head in network.heads.values():
            head.to_b.weight.normal_(0.0, 0.5)
    return network


def _logits(backbone: Backbone) -> torch.Tensor:
    ids = backbone.tokenizer("What is the capital?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return backbone.model(input_ids=ids).logits


def test_shapes_are_read_from_the_backbone(tiny_backbone: Backbone) -> None:
    shape = _network(tiny_backbone, targets=("down_proj", "q_proj")).shape
    config = tiny_backbone.model.config
    assert (shape.num_layers, shape.hidden_size) == (2, config.hidden_size)
    down = next(t for t in shape.targets if t.name == "down_proj")
    assert (down.in_features, down.out_features) == (config.intermediate_size, config.hidden_size)
    factors = _network(tiny_backbone)(chunk_activations(tiny_backbone, DOC))
    a, b = factors["down_proj"]
    assert a.shape == (2, 4, config.intermediate_size) and b.shape == (2, config.hidden_size, 4)


def test_a_fresh_hypernetwork_writes_a_lora_that_changes_nothing(tiny_backbone: Backbone) -> None:
    shape = _network(tiny_backbone).shape
    fresh = PerceiverHypernetwork(shape).eval()
    with torch.no_grad():
        factors = fresh(chunk_activations(tiny_backbone, DOC))
    before = _logits(tiny_backbone)
    with hooked(tiny_backbone.model, factors):
        assert torch.equal(_logits(tiny_backbone), before)


def test_an_unknown_target_is_a_config_error(tiny_backbone: Backbone) -> None:
    with pytest.raises(ConfigError, match="'nope' names 0 linear layers"):
        _network(tiny_backbone, targets=("nope",))


def test_peft_injection_computes_what_training_hooks_compute(tiny_backbone: Backbone) -> None:
    network = _network(tiny_backbone)
    with torch.no_grad():
        factors = network(chunk_activations(tiny_backbone, DOC))
    before = _logits(tiny_backbone)
    with hooked(tiny_backbone.model, factors):
        through_hooks = _logits(tiny_backbone)
    config = lora_config(4, 4.0, 0.0, ("down_proj",))
    with lora_applied(tiny_backbone.model, config, peft_weights(tiny_backbone.model, factors)):
        through_peft = _logits(tiny_backbone)
    assert not torch.allclose(through_hooks, before, atol=1e-4)
    torch.testing.assert_close(through_peft, through_hooks, atol=1e-5, rtol=1e-4)
    assert torch.equal(_logits(tiny_backbone), before)  # both removed without a trace


def test_rank_concatenation_sums_the_updates(tiny_backbone: Backbone) -> None:
    network = _network(tiny_backbone)
    with torch.no_grad():
        first = network(chunk_activations(tiny_backbone, DOC))
        second = network(chunk_activations(tiny_backbone, "The drem is the money of Velmoria."))
    joined = concatenate([first, second])
    a, b = joined["down_proj"]
    assert a.shape[1] == b.shape[2] == 8
    (a1, b1), (a2, b2) = first["down_proj"], second["down_proj"]
    torch.testing.assert_close(b @ a, b1 @ a1 + b2 @ a2, atol=1e-5, rtol=1e-4)


def test_weights_file_round_trip_and_refusals(tiny_backbone: Backbone, tmp_path: Path) -> None:
    network = _network(tiny_backbone)
    path = tmp_path / "h.safetensors"
    save_hypernetwork(path, network, HypernetworkCard(backbone="tiny", steps=7))
    loaded, card = load_hypernetwork(path)
    assert (card.backbone, card.steps) == ("tiny", 7)
    for name, tensor in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)
    other = _network(tiny_backbone, rank=2).shape
    with pytest.raises(StateError, match="rank 4 \\(backbone/config: 2\\)"):
        check_fits(loaded.shape, other, path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StateError, match="corrupt"):
        load_hypernetwork(path)
    with pytest.raises(StateError, match="no hypernetwork file"):
        load_hypernetwork(tmp_path / "missing.safetensors")


def test_a_bfloat16_backbone_trains_a_float32_hypernetwork() -> None:
    backbone = build_tiny_backbone()  # its own copy: the cast must not leak into other tests
    backbone.model.to(torch.bfloat16)
    network = _network(backbone).train()
    factors = network(chunk_activations(backbone, DOC))
    with hooked(backbone.model, factors):
        ids = backbone.tokenizer("What is the capital?", return_tensors="pt")["input_ids"]
        backbone.model(input_ids=ids).logits.float().sum().backward()
    gradient = network.heads["down_proj"].to_b.weight.grad
    assert gradient is not None and gradient.dtype == torch.float32 and gradient.abs().sum() > 0
