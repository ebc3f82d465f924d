"""Online EWC on a small module: the Fisher diagonal, the penalty, the decay, the state."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from continual_learning.engines.replay_lora.ewc import OnlineEwc, fisher_diagonal
from continual_learning.errors import StateError


def _setup() -> tuple[dict[str, nn.Parameter], dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    inputs = {f"t{i}": torch.randn(3) for i in range(4)}
    return dict(layer.named_parameters()), inputs


def _loss_of(parameters, inputs):  # type: ignore[no-untyped-def]
    return lambda text: (inputs[text] @ parameters["weight"].T + parameters["bias"]).pow(2).sum()


def test_fisher_is_the_mean_squared_gradient() -> None:
    parameters, inputs = _setup()
    loss_of = _loss_of(parameters, inputs)
    fisher = fisher_diagonal(parameters, list(inputs), loss_of)
    expected = torch.zeros_like(parameters["weight"])
    for text in inputs:
        (grad,) = torch.autograd.grad(loss_of(text), parameters["weight"])
        expected += grad.pow(2) / len(inputs)
    assert torch.allclose(fisher["weight"], expected)
    assert all(p.grad is None for p in parameters.values())


def test_penalty_is_zero_at_the_anchor_and_grows_with_distance() -> None:
    parameters, inputs = _setup()
    ewc = OnlineEwc(strength=10.0, decay=0.5)
    assert ewc.penalty(parameters).item() == 0.0  # nothing consolidated yet
    ewc.update(parameters, list(inputs), _loss_of(parameters, inputs))
    assert ewc.penalty(parameters).item() == 0.0
    mean_fisher = torch.cat([f.reshape(-1) for f in ewc.fisher.values()]).mean()
    assert float(mean_fisher) == pytest.approx(1.0)
    with torch.no_grad():
        parameters["weight"] += 0.1
    moved = ewc.penalty(parameters).item()
    expected = 0.5 * 10.0 * float((ewc.fisher["weight"] * 0.01).sum())
    assert moved == pytest.approx(expected, rel=1e-5)
    penalty = ewc.penalty(parameters)
    penalty.backward()
    assert parameters["weight"].grad is not None  # it pulls the weights back


def test_online_update_decays_the_old_fisher() -> None:
    parameters, inputs = _setup()
    ewc = OnlineEwc(strength=1.0, decay=0.5)
    loss_of = _loss_of(parameters, inputs)
    ewc.update(parameters, ["t0", "t1"], loss_of)
    first = {n: f.clone() for n, f in ewc.fisher.items()}
    ewc.update(parameters, ["t2", "t3"], loss_of)
    fresh = fisher_diagonal(parameters, ["t2", "t3"], loss_of)
    scale = torch.cat([f.reshape(-1) for f in fresh.values()]).mean()
    assert torch.allclose(ewc.fisher["bias"], 0.5 * first["bias"] + fresh["bias"] / scale)
    assert ewc.updates == 2


def test_state_round_trip_and_malformed_state() -> None:
    parameters, inputs = _setup()
    ewc = OnlineEwc(strength=2.0, decay=0.9)
    ewc.update(parameters, list(inputs), _loss_of(parameters, inputs))
    clone = OnlineEwc(2.0, 0.9)
    clone.load(ewc.tensors(), ewc.updates)
    with torch.no_grad():
        parameters["bias"] += 1.0
    assert clone.penalty(parameters).item() == pytest.approx(ewc.penalty(parameters).item())
    with pytest.raises(StateError, match="pair up"):
        OnlineEwc(1.0, 1.0).load({"fisher::weight": torch.zeros(1)}, 1)
