from __future__ import annotations

import pytest
import torch

from continual_learning.config.schema import ModelConfig
from continual_learning.core.backbone import (
    GenerationOptions,
    describe_backbone,
    load_backbone,
    resolve_device,
    weights_fingerprint,
)
from continual_learning.errors import ModelError

from helpers import build_tiny_backbone


def test_greedy_generation_is_repeatable_and_bounded() -> None:
    backbone = build_tiny_backbone()
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    options = GenerationOptions(max_new_tokens=5)
    first = backbone.chat(messages, options)
    assert first == backbone.chat(messages, options)
    ids = backbone.encode_chat(messages)
    assert ids.shape[0] == 1
    one_token = backbone.chat(messages, GenerationOptions(max_new_tokens=1))
    assert first.startswith(one_token)


def test_fingerprint_sees_a_changed_weight() -> None:
    backbone = build_tiny_backbone()
    before = weights_fingerprint(backbone.model)
    assert before == weights_fingerprint(build_tiny_backbone().model)
    with torch.no_grad():
        backbone.model.model.layers[-1].mlp.down_proj.weight[0, 0] += 1.0
    assert weights_fingerprint(backbone.model) != before


def test_an_unreachable_hub_id_names_models_fetch() -> None:
    with pytest.raises(ModelError, match="continual-learning models fetch"):
        load_backbone(ModelConfig(name="someone/not-a-real-model-xyz", device="cpu"))


def test_unavailable_device_is_a_config_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelError, match="model.device"):
        resolve_device("cuda")
    assert resolve_device("auto") in ("mps", "cpu")


def test_real_model_loads_with_its_chat_template(real_backbone) -> None:
    assert real_backbone.tokenizer.chat_template
    rows = dict(describe_backbone(real_backbone))
    assert rows["layers"] == "30"
    assert rows["parameters"] == "134,515,008"
    assert rows["trainable parameters"] == "0"
    answer = real_backbone.chat(
        [{"role": "user", "content": "What is the capital of France?"}],
        GenerationOptions(max_new_tokens=16),
    )
    assert "Paris" in answer


def test_a_batch_generates_what_each_prompt_generates_alone(real_backbone) -> None:
    options = GenerationOptions(max_new_tokens=12)
    prompts = [
        real_backbone.encode_chat([{"role": "user", "content": text}])
        for text in (
            "What is the capital of France?",
            "Name a large animal that lives in the ocean and breathes air.",
            "2 + 2 =",
        )
    ]
    alone = [real_backbone.generate_from_ids(ids, options) for ids in prompts]
    assert real_backbone.generate_batch(prompts, options) == alone
