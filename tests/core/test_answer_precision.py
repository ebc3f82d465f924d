"""Answers decoded in bfloat16 from float32 weights: what a bfloat16 model answers, the float32
weights untouched, and copies that follow the weights they copy."""

from __future__ import annotations

import pytest
import torch

from continual_learning.config.schema import ModelConfig
from continual_learning.core.answer_precision import AnswerPrecision, answer_dtype
from continual_learning.core.backbone import Backbone, GenerationOptions, load_backbone
from continual_learning.core.weight_folding import FoldCache, swapped_parameters

from helpers import DEFAULT_MODEL, TEST_THREADS, build_tiny_backbone

QUESTIONS = ["What is the capital of France?", "Who wrote Hamlet?", "What is 2 + 2?"]
OPTIONS = GenerationOptions(max_new_tokens=12)


def _answers(backbone: Backbone) -> list[str]:
    prompts = [backbone.encode_chat([{"role": "user", "content": q}]) for q in QUESTIONS]
    return backbone.generate_batch(prompts, OPTIONS)


def test_answers_in_bfloat16_are_a_bfloat16_models_and_leave_float32_weights_as_they_were(
    real_backbone: Backbone,
) -> None:
    fingerprint = real_backbone.fingerprint()
    as_loaded = _answers(real_backbone)
    real_backbone.precision = AnswerPrecision(torch.bfloat16)
    try:
        cast = _answers(real_backbone)
        again = _answers(real_backbone)  # from the kept copies
    finally:
        real_backbone.precision = AnswerPrecision()
    loaded_in_bfloat16 = load_backbone(
        ModelConfig(name=DEFAULT_MODEL, device="cpu", dtype="bfloat16", threads=TEST_THREADS)
    )
    assert cast == again == _answers(loaded_in_bfloat16)
    assert all(p.dtype == torch.float32 for p in real_backbone.model.parameters())
    assert not real_backbone.weights_changed(fingerprint)
    assert _answers(real_backbone) == as_loaded


def test_a_weight_changed_in_place_or_swapped_in_is_copied_again() -> None:
    backbone = build_tiny_backbone()
    precision = AnswerPrecision(torch.bfloat16)
    name = "model.layers.0.mlp.up_proj.weight"
    ids = torch.tensor([[5, 6, 7, 8]])

    def logits(through: AnswerPrecision = precision) -> torch.Tensor:
        with torch.inference_mode(), through.applied(backbone.model):
            assert backbone.model.get_parameter(name).dtype == torch.bfloat16
            return backbone.model(input_ids=ids).logits.float()

    before = logits()
    with torch.no_grad():
        backbone.model.get_parameter(name).mul_(3.0)  # in place: its version counter moves
    changed = logits()
    assert not torch.equal(before, changed)
    assert torch.equal(changed, logits(AnswerPrecision(torch.bfloat16)))  # no copy kept

    cache = FoldCache()
    zeros = {name: torch.zeros_like(backbone.model.get_parameter(name))}
    key = object()
    with swapped_parameters(backbone.model, cache.tensors(key, lambda: zeros)):
        swapped = logits()
    with swapped_parameters(backbone.model, cache.tensors(key, lambda: zeros)):
        assert torch.equal(logits(), swapped)  # the same fold again: the same answers
    assert not torch.equal(swapped, changed)


def test_tied_weights_stay_tied_and_every_parameter_comes_back_float32() -> None:
    backbone = build_tiny_backbone()
    model = backbone.model
    tied = model.get_input_embeddings().weight is model.get_output_embeddings().weight
    with AnswerPrecision(torch.bfloat16).applied(model):
        assert (model.get_input_embeddings().weight is model.get_output_embeddings().weight) == tied
        assert all(p.dtype == torch.bfloat16 for p in model.parameters())
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.parametrize(
    ("requested", "device", "has_bf16", "expected"),
    [
        ("weights", "cpu", True, None),
        ("bfloat16", "cpu", False, torch.bfloat16),
        ("auto", "cpu", True, torch.bfloat16),
        ("auto", "cpu", False, None),
        ("auto", "cuda", True, None),
    ],
)
def test_answer_dtype_setting(
    monkeypatch: pytest.MonkeyPatch,
    requested: str,
    device: str,
    has_bf16: bool,
    expected: torch.dtype | None,
) -> None:
    monkeypatch.setattr(
        "continual_learning.core.answer_precision.cpu_has_bfloat16", lambda: has_bf16
    )
    assert answer_dtype(requested, device) == expected
