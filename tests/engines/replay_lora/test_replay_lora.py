"""The Replay-LoRA engine on the real SmolLM2-135M: cycles learn, replay and EWC take part, a
forced rollback is bit-exact, domains keep separate adapters, and state round-trips."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from continual_learning.core.backbone import Backbone, weights_fingerprint
from continual_learning.core.perplexity import perplexity
from continual_learning.core.questions import fictional_fact_set
from continual_learning.engines.registry import create_engine
from continual_learning.errors import ConfigError, StateError

from helpers import build_tiny_backbone, make_config

pytestmark = pytest.mark.real_model
FAST = {"epochs": 2, "anchor_samples": 4, "auto_rollback": False, "guard_share": 0.0}
"""The forgetting guard off: its own tests are in tests/core/test_self_study.py."""


def _engine(backbone: Backbone, **overrides: object):  # type: ignore[no-untyped-def]
    config = make_config(replay_lora=FAST | overrides, generation={"max_new_tokens": 12})
    return create_engine("replay-lora", backbone, config)


def _logits(engine, text: str = "Velmoria is an island nation.") -> torch.Tensor:  # type: ignore[no-untyped-def]
    ids = engine.backbone.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode(), engine.applied():
        return engine.backbone.model(input_ids=ids).logits


def _documents() -> list[str]:
    documents, _ = fictional_fact_set()
    return [d.text for d in documents]


@pytest.mark.slow
def test_a_cycle_learns_and_reports_bwt_fwt_krs(real_backbone: Backbone) -> None:
    engine = _engine(real_backbone, epochs=4, adapters="shared")  # one adapter, replayed
    first, second = _documents()[:2]
    before = perplexity(real_backbone, [first])
    report = engine.learn(first, doc_id="velmoria")
    with engine.applied():
        after = perplexity(real_backbone, [first])
    assert after < 0.5 * before, (before, after)
    assert report.losses[-1] < report.losses[0]

    engine.learn(second, doc_id="quillfeather")
    one, two = engine.cycles()
    assert (one.replayed, two.replayed) == (0, 1)  # the buffer held the first document
    assert two.bwt == pytest.approx(two.anchor_before - two.anchor_after, abs=1e-3)
    assert two.fwt == pytest.approx(one.new_before - two.new_before, abs=1e-3)
    forgotten = sum(-c.bwt for c in (one, two) if c.bwt < 0)
    assert two.krs == pytest.approx(100 * math.exp(-0.05 * forgotten), abs=1e-2)
    assert one.fwt is None and not two.rolled_back
    # The first cycle starts from a no-op adapter: its "before" is the backbone's own, kept on disk.
    assert one.anchor_before == round(perplexity(real_backbone, engine.anchor_texts()), 4)
    assert engine.domain.buffer.stats().size == 2
    assert all(e.loss is not None for e in engine.domain.buffer.items)
    engine.clear()


@pytest.mark.slow
def test_ewc_penalty_appears_from_the_second_cycle(real_backbone: Backbone) -> None:
    engine = _engine(real_backbone, adapters="shared", ewc=True, ewc_lambda=1000.0)
    first, second = _documents()[:2]
    engine.learn(first)
    engine.learn(second)
    one, two = engine.cycles()
    assert one.ewc_penalty == 0.0 and two.ewc_penalty > 0.0
    assert engine.domain.ewc.updates == 2
    assert "2 updates" in {i.label: i.value for i in engine.info().details}["EWC"]
    engine.clear()


def test_forced_rollback_leaves_outputs_bit_identical(real_backbone: Backbone) -> None:
    engine = _engine(real_backbone, adapters="shared", ewc=True)
    first, second = _documents()[:2]
    engine.learn(first)
    logits = _logits(engine)
    weights = {n: t.clone() for n, t in engine.domain.weights.items()}
    buffer = list(engine.domain.buffer.items)
    fisher = {n: t.clone() for n, t in engine.domain.ewc.fisher.items()}

    # Any BWT is below this threshold: the cycle must be undone.
    engine.config = dataclasses.replace(engine.config, auto_rollback=True, rollback_bwt=1e9)
    report = engine.learn(second, doc_id="rolled")
    record = engine.cycles()[-1]
    assert record.rolled_back and "rollback_bwt" in record.reason
    assert {f.name: f.value for f in report.figures}["rolled back"] == 1
    assert torch.equal(_logits(engine), logits)
    assert all(torch.equal(engine.domain.weights[n], t) for n, t in weights.items())
    assert engine.domain.buffer.items == buffer  # the rolled-back data does not join it
    assert all(torch.equal(engine.domain.ewc.fisher[n], t) for n, t in fisher.items())
    engine.clear()


def test_domains_have_their_own_adapters(real_backbone: Backbone, tmp_path: Path) -> None:
    engine = _engine(real_backbone)
    base = _logits(engine)
    engine.switch_domain("geography")
    engine.learn(_documents()[0])
    learned = _logits(engine)
    assert not torch.equal(learned, base)
    engine.switch_domain("fresh")
    assert torch.equal(_logits(engine), base)  # an untrained domain is the base model
    engine.save(tmp_path / "state")

    restored = _engine(real_backbone)
    restored.load(tmp_path / "state")
    assert list(restored.domains) == ["default", "geography", "fresh"]
    assert restored.active == "fresh"
    restored.switch_domain("geography")
    assert torch.equal(_logits(restored), learned)
    assert restored.domain.buffer.items == engine.domains["geography"].buffer.items
    with pytest.raises(Exception, match="invalid domain name"):
        restored.switch_domain("../escape")
    restored.clear()
    engine.clear()


def _routed_logits(engine, route: int, text: str) -> torch.Tensor:  # type: ignore[no-untyped-def]
    ids = engine.backbone.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode(), engine.applied_for(route):
        return engine.backbone.model(input_ids=ids).logits


def test_per_cycle_adapters_keep_each_cycle_as_it_learned(
    real_backbone: Backbone, tmp_path: Path
) -> None:
    documents, questions = fictional_fact_set()
    first, second = documents[0], documents[1]
    alone = _engine(real_backbone, adapters="per_cycle", epochs=1, anchor_samples=1)
    alone.learn(first.text)
    expected = _routed_logits(alone, 0, first.text)
    alone.clear()

    engine = _engine(real_backbone, adapters="per_cycle", epochs=1, anchor_samples=1)
    engine.learn(first.text)
    record = engine.learn(second.text)
    figures = {f.name: f.value for f in record.figures}
    assert figures["replayed"] == 0 and len(engine.domain.episodes) == 2
    # A new adapter per cycle: the second cycle left the first's answers as they were, bit for
    # bit, though the first's examples sit in the buffer.
    assert torch.equal(_routed_logits(engine, 0, first.text), expected)
    asked = {q.doc_id: q.question for q in questions}
    assert engine.route(asked[first.id]) == 0 and engine.route(asked[second.id]) == 1
    assert engine.route("What is the boiling point of water at sea level?") is None
    engine.switch_domain("other")
    assert engine.route(asked[first.id]) is None  # learned by another domain
    engine.switch_domain("default")

    engine.save(tmp_path / "state")
    restored = _engine(real_backbone, adapters="per_cycle", epochs=1)
    restored.load(tmp_path / "state")
    for route, document in ((1, second), (0, first)):
        assert torch.equal(
            _routed_logits(restored, route, document.text),
            _routed_logits(engine, route, document.text),
        )
    with pytest.raises(StateError, match="adapters 'per_cycle'"):
        _engine(real_backbone, adapters="shared").load(tmp_path / "state")
    with pytest.raises(ConfigError, match="per_cycle"):
        _engine(real_backbone, adapters="per_cycle", ewc=True)
    restored.clear()
    engine.clear()
    assert engine.route(asked[first.id]) is None


def test_clear_restores_the_backbone_bit_exactly(real_backbone: Backbone) -> None:
    fingerprint = weights_fingerprint(real_backbone.model)
    engine = _engine(real_backbone)
    base = _logits(engine)
    engine.learn(_documents()[0])
    engine.clear()
    assert torch.equal(_logits(engine), base)
    assert weights_fingerprint(real_backbone.model) == fingerprint
    assert not any(p.requires_grad for p in real_backbone.model.parameters())


def test_self_edits_join_the_new_examples(real_backbone: Backbone) -> None:
    engine = _engine(real_backbone, self_edit=True, self_edit_tokens=96)
    examples = engine.new_examples(_documents()[0], source="velmoria")
    assert examples[0].text == _documents()[0]
    assert len(examples) > 1  # the backbone wrote facts and/or QA pairs
    assert len({e.id for e in examples}) == len(examples)


def test_bad_state_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    backbone = build_tiny_backbone()
    engine = _engine(backbone)
    engine.learn("Zorblax Quentaro is the capital of Velmoria.", doc_id="kept")
    engine.save(tmp_path / "state")
    weights = {n: t.clone() for n, t in engine.domain.weights.items()}
    adapter = tmp_path / "state" / "domains" / "default" / "adapter.safetensors"
    adapter.write_bytes(b"not a safetensors file")
    other = _engine(backbone)
    with pytest.raises(StateError, match="corrupt"):
        other.load(tmp_path / "state")
    assert other.domain.weights == {}

    engine.save(tmp_path / "state")  # a good state again, then one of another rank
    small = _engine(backbone, rank=4)
    with pytest.raises(StateError, match="names and shapes"):
        small.load(tmp_path / "state")
    assert all(torch.equal(engine.domain.weights[n], t) for n, t in weights.items())


def test_unknown_target_modules_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="c_attn not found"):
        _engine(build_tiny_backbone(), target_modules=["q_proj", "c_attn"])


def test_a_cycle_takes_the_backbones_fingerprint_outside_the_adapter() -> None:
    """The guard's and the anchor's cache keys hold the weights' fingerprint; taken inside the
    adapter's wrapped layers it was another model's, and the saved state then refused the very
    backbone it was learned on in the next process."""
    backbone = build_tiny_backbone()  # its fingerprint not taken yet, as in a fresh process
    engine = _engine(backbone, guard_share=0.5, guard_samples=2)
    engine.learn(_documents()[0], doc_id="velmoria")
    assert backbone.fingerprint() == weights_fingerprint(backbone.model)
    engine.clear()
