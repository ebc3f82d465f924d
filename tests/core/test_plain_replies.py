"""While the harness measures, a request only the untouched backbone answers is decoded once, and
what is reused equals a fresh decode; nothing an engine learned is ever reused."""

from __future__ import annotations

import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.plain_replies import kept_replies
from continual_learning.engines.registry import create_engine
from continual_learning.harness.evaluate import evaluate
from continual_learning.types import QAItem

from helpers import make_config, plumbing_hypernetwork

DOC = "Zorblax Quentaro is the capital of Velmoria, founded in 1843 by Ardent Plume. " * 6
ABOUT_DOC = QAItem(id="velmoria", question="What is the capital of Velmoria?", answers=("Zorblax",))
UNRELATED = tuple(
    QAItem(id=f"general-{i}", question=q, answers=(a,))
    for i, (q, a) in enumerate(
        [
            ("Who wrote the play Romeo and Juliet?", "Shakespeare"),
            ("How many legs does a spider have?", "eight"),
            ("Which planet is known as the red planet?", "Mars"),
        ]
    )
)


def _answers(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.answer for r in result.records]


def test_an_engine_that_adds_nothing_gets_closed_books_replies_without_decoding(
    real_backbone: Backbone,
) -> None:
    config = make_config(generation={"max_new_tokens": 8})
    closed = create_engine("closed-book", real_backbone, config)
    fresh = create_engine("in-context", real_backbone, config)  # nothing learned: the question
    decoded_apart = fresh.answer(UNRELATED, batch_size=2)  # outside the harness: nothing kept
    store = kept_replies(real_backbone)

    first = evaluate(closed, UNRELATED, batch_size=2)
    reused = store.reused
    again = evaluate(fresh, UNRELATED, batch_size=2)

    assert store.reused == reused + len(UNRELATED)
    assert _answers(again) == _answers(first) == decoded_apart
    one_by_one = evaluate(fresh, UNRELATED, batch_size=1)  # another request: decoded, kept apart
    assert store.reused == reused + len(UNRELATED)
    assert _answers(one_by_one) == [fresh.generate(q.question) for q in UNRELATED]


def test_learned_weights_and_logits_processors_are_never_reused(tiny_backbone: Backbone) -> None:
    section = {
        "hypernetwork": str(plumbing_hypernetwork()),
        "lora_source": "hypernetwork",
        "refine_steps": 0,
    }
    config = make_config(doc2lora=section, generation={"max_new_tokens": 6})
    closed = create_engine("closed-book", tiny_backbone, config)
    doc2lora = create_engine("doc2lora", tiny_backbone, config)
    jitrl = create_engine("jitrl-mvp", tiny_backbone, config)
    for engine in (doc2lora, jitrl):
        engine.learn(DOC, doc_id="velmoria")
    store = kept_replies(tiny_backbone)
    asked = (ABOUT_DOC,)

    evaluate(closed, asked, batch_size=1)
    evaluate(closed, asked, batch_size=4)
    assert store.reused == 0
    routed = evaluate(doc2lora, asked, batch_size=4)  # its LoRA answers: decoded
    biased = evaluate(jitrl, asked, batch_size=4)  # its token bias answers: decoded
    assert store.reused == 0
    assert _answers(routed) == doc2lora.answer(asked, batch_size=4)
    assert _answers(biased) == jitrl.answer(asked, batch_size=4)

    evaluate(closed, UNRELATED, batch_size=4)
    evaluate(doc2lora, UNRELATED, batch_size=4)  # no chunk is near: the untouched backbone
    assert store.reused == len(UNRELATED)


def test_changed_weights_or_sampling_are_decoded_again(tiny_backbone: Backbone) -> None:
    closed = create_engine("closed-book", tiny_backbone, make_config())
    store = kept_replies(tiny_backbone)
    evaluate(closed, UNRELATED, batch_size=4)

    weight = tiny_backbone.model.get_output_embeddings().weight
    kept = weight.detach().clone()
    with torch.no_grad():  # a script merging something into the model between two calls
        weight.mul_(1.5)
    try:
        evaluate(closed, UNRELATED, batch_size=4)
    finally:
        with torch.no_grad():
            weight.copy_(kept)
    assert store.reused == 0
    evaluate(closed, UNRELATED, batch_size=4)
    assert store.reused == len(UNRELATED)

    sampling = create_engine(
        "closed-book", tiny_backbone, make_config(generation={"do_sample": True})
    )
    evaluate(sampling, UNRELATED, batch_size=4)
    evaluate(sampling, UNRELATED, batch_size=4)
    assert store.reused == len(UNRELATED)
