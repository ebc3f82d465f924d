"""Batched answering on the real model: every engine answers a batch as it answers one by one.

What a batch adds is exercised here on real prompts: left padding and a shared prefix whose
key/value cache is copied to every row (in-context's documents), per-row logits processors (JitRL
MVP's token bias), a processor that reads the memory layer's states of its own row (JitRL Full),
and learned weights folded into the backbone for answering (TTT-E2E, Replay-LoRA, Doc-to-LoRA).
"""

from __future__ import annotations

import pytest

from continual_learning.core.questions import fictional_fact_set
from continual_learning.engines.registry import create_engine, engine_specs

from helpers import make_config

pytestmark = pytest.mark.real_model

CHEAP_LEARNING = {
    "ttt_e2e": {"epochs": 1, "calibration_samples": 16, "guard_share": 0.0},
    # the anchor's perplexity and the forgetting guard are not the point
    "replay_lora": {"epochs": 1, "anchor_samples": 2, "guard_share": 0.0},
    "doc2lora": {"refine_steps": 2},
    "ace": {"num_loops": 0},
}
"""Enough learning to put learned weights (or bullets) in play; how well they learned is not
what a batch can change."""


@pytest.fixture(scope="module")
def facts():  # type: ignore[no-untyped-def]
    documents, questions = fictional_fact_set()
    documents = documents[:2]
    return documents, [q for q in questions if q.doc_id in {d.id for d in documents}][:5]


@pytest.mark.parametrize("key", [spec.key for spec in engine_specs()])
def test_a_batch_answers_as_one_at_a_time_does(key: str, real_backbone, facts) -> None:  # type: ignore[no-untyped-def]
    documents, questions = facts
    fingerprint = real_backbone.fingerprint()
    config = make_config(generation={"max_new_tokens": 8}, **CHEAP_LEARNING)
    engine = create_engine(key, real_backbone, config)
    for document in documents:
        engine.learn(document.text, doc_id=document.id)
    prompts = [q.question for q in questions]
    one_by_one = [engine.generate(p) for p in prompts]
    batched = engine.generate_many(prompts, batch_size=4)  # a batch of 4, then one of 1
    assert batched == one_by_one
    assert all(batched)
    engine.clear()
    assert not real_backbone.weights_changed(fingerprint)
