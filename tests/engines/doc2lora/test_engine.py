"""The Doc-to-LoRA engine: refusing without a trained hypernetwork, chunks, modes, state."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from continual_learning.core.backbone import Backbone, weights_fingerprint
from continual_learning.core.perplexity import answer_nll
from continual_learning.core.questions import fictional_fact_set
from continual_learning.engines.base import ALL_LEARNED
from continual_learning.engines.doc2lora.engine import Doc2LoraEngine
from continual_learning.engines.registry import create_engine
from continual_learning.errors import EngineError, StateError

from helpers import make_config, plumbing_hypernetwork

DOC = "Zorblax Quentaro is the capital of Velmoria, founded in 1843 by Ardent Plume. " * 6
QUESTION = "What is the capital of Velmoria?"


def _engine(backbone: Backbone, **settings) -> Doc2LoraEngine:  # type: ignore[no-untyped-def]
    # The written LoRA itself (one pass): these tests are about what the hypernetwork writes
    # and how chunks compose; refinement is tested on the real model (core/test_self_study.py).
    section = {
        "hypernetwork": str(plumbing_hypernetwork()),
        "lora_source": "hypernetwork",
        "refine_steps": 0,
        **settings,
    }
    config = make_config(doc2lora=section, generation={"max_new_tokens": 8})
    return create_engine("doc2lora", backbone, config)  # type: ignore[return-value]


def test_without_a_trained_hypernetwork_the_hypernetwork_source_refuses(
    tiny_backbone: Backbone,
) -> None:
    config = make_config(doc2lora={"lora_source": "hypernetwork"})
    with pytest.raises(EngineError, match="no trained Doc-to-LoRA hypernetwork for backbone"):
        create_engine("doc2lora", tiny_backbone, config)


def test_the_training_source_trains_each_chunk_without_a_hypernetwork(
    tiny_backbone: Backbone,
) -> None:
    """The default needs no hypernetwork for the backbone (the tiny one has none): each chunk's
    LoRA is trained from a zero update, so B moves off zero and the logits change."""
    config = make_config(doc2lora={"refine_steps": 3}, generation={"max_new_tokens": 8})
    engine = create_engine("doc2lora", tiny_backbone, config)
    assert engine.hypernetwork is None  # type: ignore[attr-defined]
    before = _logits_with(engine)  # type: ignore[arg-type]
    report = engine.learn(DOC, doc_id="velmoria")
    assert len(report.losses) == 3 * report.chunks
    assert all(b.abs().sum() > 0 for _, b in engine.chunks[0].values())  # type: ignore[attr-defined]
    details = {i.label: i.value for i in engine.info().details}
    assert details["LoRA source"].startswith("trained per chunk, 3 steps from zero")
    assert "hypernetwork" not in details
    assert not torch.allclose(_logits_with(engine), before)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="refine_steps"):
        make_config(doc2lora={"refine_steps": 0})


def test_a_fake_hypernetwork_is_announced(
    tiny_backbone: Backbone, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        engine = _engine(tiny_backbone)
    assert "untrained" in caplog.text
    assert {i.label: i.value for i in engine.info().details}["trained"] == "0 steps"


def test_chunks_compose_by_rank_and_clear_restores_the_backbone(tiny_backbone: Backbone) -> None:
    original = weights_fingerprint(tiny_backbone.model)
    engine = _engine(tiny_backbone, chunk_tokens=32)
    before = engine.generate(QUESTION)
    report = engine.learn(DOC, doc_id="velmoria")
    chunks = report.chunks
    assert chunks >= 2 and engine.effective_rank == 8 * chunks
    engine.learn("The drem is the money of Velmoria.", doc_id="drem")
    assert engine.chunk_sources == ["velmoria"] * chunks + ["drem"]
    assert {f.name: f.value for f in engine.history[-1].figures}["effective rank"] == 8 * (
        chunks + 1
    )
    assert engine.generate(QUESTION) != before
    assert (
        weights_fingerprint(tiny_backbone.model) == original
    )  # the adapter lives only in generate
    engine.clear()
    assert engine.generate(QUESTION) == before and engine.effective_rank == 0


DREM = "The drem is the money of Velmoria, printed in Lusk."
UNRELATED = "Normans gave their name to Normandy, a region in northern France."


def _logits(engine: Doc2LoraEngine, text: str) -> torch.Tensor:
    ids = engine.backbone.tokenizer(text, return_tensors="pt")["input_ids"]
    with engine.applied_for(engine.route(text)), torch.no_grad():
        return engine.backbone.model(input_ids=ids).logits


def test_routed_composition_answers_with_the_nearest_chunk_alone(
    tiny_backbone: Backbone, tmp_path: Path
) -> None:
    """Each prompt gets the LoRA of the chunk most like it, at the scale it was written for
    (as if that chunk were all the engine had learned); an unrelated prompt gets none."""
    routed = _engine(tiny_backbone, composition="routed")
    routed.learn(DOC, doc_id="velmoria")
    routed.learn(DREM, doc_id="drem")
    alone = _engine(tiny_backbone)
    alone.learn(DREM, doc_id="drem")
    question = "What is the money of Velmoria called, the drem?"
    assert routed.route(question) == 1 and routed.route(UNRELATED) is None
    torch.testing.assert_close(_logits(routed, question), _logits(alone, question))
    untouched = _logits(_engine(tiny_backbone), UNRELATED)  # nothing learned
    assert torch.equal(_logits(routed, UNRELATED), untouched)
    prompts = [question, UNRELATED, QUESTION]
    assert routed.generate_many(prompts, batch_size=3) == [routed.generate(p) for p in prompts]
    routed.save(tmp_path / "state")
    fresh = _engine(tiny_backbone, composition="routed")
    fresh.load(tmp_path / "state")
    assert [fresh.route(p) for p in prompts] == [routed.route(p) for p in prompts]
    torch.testing.assert_close(_logits(fresh, question), _logits(routed, question))


def test_a_state_saved_before_routing_composes_by_the_mean(
    tiny_backbone: Backbone, tmp_path: Path
) -> None:
    engine = _engine(tiny_backbone)
    engine.learn(DREM, doc_id="drem")
    engine.save(tmp_path / "state")
    chunks = tmp_path / "state" / "chunks.json"
    chunks.write_text('{"sources": ["drem"]}')  # no chunk texts, as saved before routing
    routed = _engine(tiny_backbone, composition="routed")
    routed.load(tmp_path / "state")
    assert routed.route(UNRELATED) == ALL_LEARNED
    chunks.write_text('{"sources": ["drem"], "texts": ["one", "two"]}')
    with pytest.raises(StateError, match="malformed"):
        routed.load(tmp_path / "state")


def test_max_chunks_drops_the_oldest(tiny_backbone: Backbone) -> None:
    engine = _engine(tiny_backbone, chunk_tokens=32, max_chunks=2)
    engine.learn(DOC, doc_id="velmoria")
    engine.learn("The drem is the money of Velmoria.", doc_id="drem")
    assert engine.chunk_sources == ["velmoria", "drem"]
    assert {f.name: f.value for f in engine.history[-1].figures}["chunks dropped (max_chunks)"] >= 1


def test_text_mode_reads_a_task_description_as_one_chunk(tiny_backbone: Backbone) -> None:
    engine = _engine(tiny_backbone, mode="text", chunk_tokens=32)
    report = engine.learn(DOC, doc_id="task")
    assert report.chunks == 1 and report.tokens == 32  # cut to chunk_tokens


def test_corrupt_factors_are_refused_and_nothing_changes(
    tiny_backbone: Backbone, tmp_path: Path
) -> None:
    engine = _engine(tiny_backbone)
    engine.learn(DOC, doc_id="kept")
    engine.save(tmp_path / "state")
    answer = engine.generate(QUESTION)
    (tmp_path / "state" / "factors.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(StateError, match="corrupt"):
        engine.load(tmp_path / "state")
    assert engine.chunk_sources == ["kept"] and engine.generate(QUESTION) == answer


def _answer_loss(backbone: Backbone, question: str, answer: str) -> float:
    return answer_nll(backbone, [{"role": "user", "content": question}], answer)


def test_the_shipped_hypernetwork_puts_the_document_into_the_weights(
    real_backbone: Backbone,
) -> None:
    """The trained file loads by default, and the LoRA it writes from a document it never saw
    makes the document's answers likelier without the document in the prompt."""
    # the hypernetwork's LoRA alone
    one_pass = make_config(doc2lora={"lora_source": "hypernetwork", "refine_steps": 0})
    engine = create_engine("doc2lora", real_backbone, one_pass)
    trained = {item.label: item.value for item in engine.info().details}["trained"]
    assert trained.startswith("1200 steps on cuda")
    document, questions = fictional_fact_set()
    velmoria = [q for q in questions if q.doc_id == document[0].id]
    closed_book = [_answer_loss(real_backbone, q.question, q.answers[0]) for q in velmoria]
    engine.learn(document[0].text, doc_id=document[0].id)
    with engine.applied():
        learned = [_answer_loss(real_backbone, q.question, q.answers[0]) for q in velmoria]
    engine.clear()
    assert sum(learned) < sum(closed_book)


def _logits_with(engine: Doc2LoraEngine) -> torch.Tensor:
    ids = engine.backbone.tokenizer(QUESTION, return_tensors="pt")["input_ids"]
    with engine.applied(), torch.no_grad():
        return engine.backbone.model(input_ids=ids).logits


@pytest.mark.parametrize("composition", ["mean", "sum"])
def test_composition_averages_or_adds_the_chunks(tiny_backbone: Backbone, composition: str) -> None:
    """The same document learned twice: its mean is itself, its sum is a stronger update."""
    engine = _engine(tiny_backbone, composition=composition)
    engine.learn("The drem is the money of Velmoria.", doc_id="once")
    once = _logits_with(engine)
    engine.learn("The drem is the money of Velmoria.", doc_id="twice")
    twice = _logits_with(engine)
    engine.clear()
    if composition == "mean":
        torch.testing.assert_close(twice, once, atol=1e-5, rtol=1e-4)
    else:
        assert not torch.allclose(twice, once, atol=1e-3)
