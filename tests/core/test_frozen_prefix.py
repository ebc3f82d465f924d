"""Running only the layers after a frozen prefix computes what the whole model computes: the
same loss and the same gradients for the trained layer, padded batches included."""

from __future__ import annotations

import torch

from continual_learning.core.frozen_prefix import FrozenPrefix
from continual_learning.core.hidden_states import decoder_layers

from helpers import build_tiny_backbone

IDS = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12], [13, 14, 15, 16, 17, 0, 0, 0]])
MASK = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])


def _loss_and_grad(model: torch.nn.Module, forward) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[no-untyped-def]
    weight = decoder_layers(model)[1].mlp.up_proj.weight
    weight.requires_grad_(True)
    try:
        loss = forward(IDS, MASK, labels=IDS.masked_fill(MASK == 0, -100)).loss
        loss.backward()
        grad = weight.grad.clone()
        weight.grad = None
    finally:
        weight.requires_grad_(False)
    return loss.detach(), grad


def test_the_layers_after_the_prefix_give_the_whole_models_loss_and_gradients() -> None:
    model = build_tiny_backbone().model
    # A hook on the trained layer, as TTT-E2E's DualMLPs hook their MLPs.
    handle = decoder_layers(model)[1].mlp.register_forward_hook(lambda m, i, out: out * 1.5)
    try:

        def whole(ids, mask, labels):  # type: ignore[no-untyped-def]
            return model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False)

        expected_loss, expected_grad = _loss_and_grad(model, whole)
        prefix = FrozenPrefix(model, start=1)
        assert prefix.enabled
        for _ in range(2):  # computed, then read from the kept states
            loss, grad = _loss_and_grad(model, prefix.forward)
            assert torch.allclose(loss, expected_loss, atol=1e-6)
            assert torch.allclose(grad, expected_grad, atol=1e-6)
    finally:
        handle.remove()
    assert len(decoder_layers(model)) == 2  # every layer is back


def test_other_architectures_and_a_prefix_of_nothing_run_the_whole_model() -> None:
    model = build_tiny_backbone().model
    assert not FrozenPrefix(model, start=0).enabled
    model.config.model_type = "gemma3"  # scales its embeddings: kept states would not fit
    assert not FrozenPrefix(model, start=1).enabled
