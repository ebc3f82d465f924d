"""The TTT-E2E engine on the real SmolLM2-135M: it learns a document, the gate confines what
changes, and clear / save / load are bit-exact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.perplexity import perplexity
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.self_edit import parse_facts, parse_qa_pairs
from continual_learning.engines.registry import create_engine
from continual_learning.errors import StateError

from helpers import make_config

pytestmark = pytest.mark.real_model
FAST = {"self_edit": False, "epochs": 2, "calibration_samples": 24, "guard_share": 0.0}
"""The forgetting guard off: its own tests are in tests/core/test_self_study.py."""


def _engine(backbone: Backbone, **overrides: object):  # type: ignore[no-untyped-def]
    config = make_config(ttt_e2e=FAST | overrides, generation={"max_new_tokens": 12})
    return create_engine("ttt-e2e", backbone, config)


def _logits(engine, text: str) -> torch.Tensor:  # type: ignore[no-untyped-def]
    ids = engine.backbone.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode(), engine.applied():
        return engine.backbone.model(input_ids=ids).logits


def _document() -> str:
    documents, _ = fictional_fact_set()
    return documents[0].text


def test_learning_lowers_the_documents_perplexity(real_backbone: Backbone) -> None:
    engine = _engine(real_backbone)
    document = _document()
    before = perplexity(real_backbone, [document])
    report = engine.learn(document, doc_id="fact-0")
    with engine.applied():
        after = perplexity(real_backbone, [document])
    assert after < 0.7 * before, (before, after)
    assert report.losses[-1] < report.losses[0]
    gate_open = next(f.value for f in report.figures if f.name == "gate open")
    assert gate_open == pytest.approx(0.2, abs=0.001)
    engine.clear()


def test_the_gate_changes_only_opened_neurons(real_backbone: Backbone) -> None:
    engine = _engine(real_backbone, memory="shared")  # one set of deltas that documents share
    documents, _ = fictional_fact_set()
    engine.learn(documents[0].text)
    first = {
        layer: (d.delta.indices.clone(), d.delta.up.detach().clone()) for layer, d in engine.layers
    }
    engine.learn(documents[1].text)
    for layer, dual in engine.layers:
        indices, up = first[layer]
        opened = set(engine.last_opened[layer].tolist())
        assert set(dual.delta.indices.tolist()) == set(indices.tolist()) | opened
        rows = dual.delta.up.detach()[: len(indices)]
        for row, neuron in enumerate(indices.tolist()):
            if neuron not in opened:  # closed for document 2: not one bit moved
                assert torch.equal(rows[row], up[row])
        new_rows = dual.delta.up.detach()[len(indices) :]
        assert bool((new_rows != 0).any())
    engine.clear()


def test_protect_learned_opens_other_neurons_for_the_next_document(
    real_backbone: Backbone,
) -> None:
    documents, _ = fictional_fact_set()
    overlaps = {}
    for protect in (0.0, 1.0):
        engine = _engine(real_backbone, epochs=1, protect_learned=protect, memory="shared")
        engine.learn(documents[0].text)
        held = {layer: set(d.delta.indices.tolist()) for layer, d in engine.layers}
        engine.learn(documents[1].text)
        overlaps[protect] = sum(
            len(held[layer] & set(engine.last_opened[layer].tolist())) for layer in held
        )
        engine.clear()
    # Two documents of the same kind share many of their top neurons; protected, none.
    assert overlaps[0.0] > 0 and overlaps[1.0] == 0, overlaps


def _routed_logits(engine, route: int, text: str) -> torch.Tensor:  # type: ignore[no-untyped-def]
    ids = engine.backbone.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode(), engine.applied_for(route):
        return engine.backbone.model(input_ids=ids).logits


def test_routed_memory_keeps_each_document_as_it_learned_it(
    real_backbone: Backbone, tmp_path: Path
) -> None:
    documents, questions = fictional_fact_set()
    first, second = documents[0], documents[1]
    alone = _engine(real_backbone, memory="routed", epochs=1)
    alone.learn(first.text)
    expected = _routed_logits(alone, 0, first.text)
    alone.clear()

    engine = _engine(real_backbone, memory="routed", epochs=1)
    engine.learn(first.text)
    engine.learn(second.text)
    # Each document's own neurons, trained from the frozen model: the second changed nothing
    # of what the first answers with, to the bit.
    assert torch.equal(_routed_logits(engine, 0, first.text), expected)
    for layer, _ in engine.layers:
        opened = engine.last_opened[layer].sort().values
        assert torch.equal(engine.memories[1][f"layer{layer}.indices"].sort().values, opened)
    asked = {q.doc_id: q.question for q in questions}
    assert engine.route(asked[first.id]) == 0 and engine.route(asked[second.id]) == 1
    assert engine.route("What is the boiling point of water at sea level?") is None

    engine.save(tmp_path / "state")
    restored = _engine(real_backbone, memory="routed", epochs=1)
    restored.load(tmp_path / "state")
    for route, document in ((1, second), (0, first)):
        assert torch.equal(
            _routed_logits(restored, route, document.text),
            _routed_logits(engine, route, document.text),
        )
    with pytest.raises(StateError, match="memory 'routed'"):
        _engine(real_backbone, memory="shared").load(tmp_path / "state")
    engine.clear()
    assert not engine.memories and engine.route(asked[first.id]) is None
    restored.clear()


def test_clear_and_save_load_are_bit_exact(real_backbone: Backbone, tmp_path: Path) -> None:
    engine = _engine(real_backbone)
    probe = "The weather today is mild with a light breeze."
    original = _logits(engine, probe)
    engine.learn(_document(), doc_id="fact-0")
    learned = _logits(engine, probe)
    assert not torch.equal(learned, original)

    engine.save(tmp_path / "state")
    restored = _engine(real_backbone)
    restored.load(tmp_path / "state")
    assert torch.equal(_logits(restored, probe), learned)
    assert restored.gate is not None and restored.gate.samples == engine.gate.samples
    details = {item.label: item.value for item in restored.info().details}
    assert details["alpha"].startswith("0.500 now")
    assert "calibrated on 24 paragraphs" in details["TF-IDF gate"]

    engine.clear()
    assert torch.equal(_logits(engine, probe), original)
    restored.clear()


def test_corrupt_state_is_refused_and_changes_nothing(
    real_backbone: Backbone, tmp_path: Path
) -> None:
    engine = _engine(real_backbone)
    engine.learn(_document())
    engine.save(tmp_path / "state")
    (tmp_path / "state" / "dual_mlp.safetensors").write_bytes(b"not a safetensors file")
    fresh = _engine(real_backbone)
    with pytest.raises(StateError, match="corrupt"):
        fresh.load(tmp_path / "state")
    assert fresh.layers.neurons() == 0 and not fresh.history
    engine.clear()


def test_self_edit_parsing() -> None:
    text = "1. Zorblax is the capital of Velmoria.\n- It was founded in 1843.\nok\nAnd the cut"
    assert parse_facts(text) == ("Zorblax is the capital of Velmoria.", "It was founded in 1843.")
    qa = "Q: What is the capital?\nA: Zorblax.\nQ: When?\nA: 1843\nQ: dangling"
    assert parse_qa_pairs(qa) == (("What is the capital?", "Zorblax."), ("When?", "1843"))


@pytest.mark.slow
def test_self_edits_are_written_and_trained_on(real_backbone: Backbone) -> None:
    engine = _engine(real_backbone, self_edit=True, epochs=1)
    report = engine.learn(_document())
    figures = {f.name: f.value for f in report.figures}
    assert figures["self-edit texts"] >= 1
    assert figures["trained tokens"] > report.tokens
    engine.clear()
