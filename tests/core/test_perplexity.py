"""Perplexity in batches is the perplexity of each text alone, summed token by token."""

from __future__ import annotations

import math

import pytest
import torch

from continual_learning.core import perplexity as module
from continual_learning.core.backbone import Backbone
from continual_learning.core.perplexity import perplexity

TEXTS = [
    "The lighthouse of Varrow was built in 1874 by Ida Klem, a stonemason from the coast.",
    "Rain.",
    "Glass is made by melting sand with soda and lime; it cools into a hard, clear solid "
    "that was blown into bottles long before it was rolled into windows.",
    "x",  # one token: nothing to predict, left out
    "Honey bees dance to tell one another where the flowers are.",
]


def _one_at_a_time(backbone: Backbone, texts: list[str]) -> float:
    """The definition: every text alone through the model, losses weighted by their tokens."""
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"]
            if ids.shape[1] < 2:
                continue
            total += float(backbone.model(input_ids=ids, labels=ids).loss) * (ids.shape[1] - 1)
            tokens += ids.shape[1] - 1
    return math.exp(total / tokens)


@pytest.mark.parametrize("batch_tokens", [1, 64, 2048])
def test_batches_of_any_size_give_the_perplexity_of_each_text_alone(
    tiny_backbone: Backbone, batch_tokens: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "BATCH_TOKENS", batch_tokens)
    expected = _one_at_a_time(tiny_backbone, TEXTS)
    assert perplexity(tiny_backbone, TEXTS) == pytest.approx(expected, rel=1e-5)


def test_each_route_is_computed_inside_its_own_context(tiny_backbone: Backbone) -> None:
    entered: list[object] = []

    class Recording:
        def __init__(self, route: object) -> None:
            self.route = route

        def __enter__(self) -> None:
            entered.append(self.route)

        def __exit__(self, *exc: object) -> None:
            entered.append(("left", self.route))

    routes = ["a", None, "a", None, 3]
    value = perplexity(tiny_backbone, TEXTS, applied=Recording, routes=routes)
    assert entered == ["a", ("left", "a"), None, ("left", None), 3, ("left", 3)]
    assert value == pytest.approx(_one_at_a_time(tiny_backbone, TEXTS), rel=1e-5)


def test_texts_with_nothing_to_predict_are_an_error(tiny_backbone: Backbone) -> None:
    with pytest.raises(ValueError, match="two or more tokens"):
        perplexity(tiny_backbone, ["x"])
