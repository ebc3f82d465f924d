"""Self-study distillation (``core/self_study.py``): prompts made from the document, the top-k KL,
and, on the real SmolLM2-135M, a fact learned by distillation answered without the document, the
forgetting guard against no guard, and bit-exact clear / save / load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.corpus import heldout_paragraphs
from continual_learning.core.perplexity import perplexity
from continual_learning.core.self_study import (
    guard_count,
    salient_terms,
    study_prompts,
    top_k_kl,
)
from continual_learning.engines.registry import create_engine

from helpers import make_config

FACT = (
    "The Quorvel Bridge in the town of Dask is painted lime green. It was built in 1877 by the "
    "engineer Hana Velt."
)


def test_prompts_name_the_documents_spans_once_each() -> None:
    terms = salient_terms(FACT, 10)
    assert terms[:4] == ["Quorvel Bridge", "Dask", "1877", "Hana Velt"]
    prompts = study_prompts(FACT, 100)
    assert len(prompts) == len(set(prompts))
    assert "Tell me about Quorvel Bridge." in prompts
    assert any(p.startswith("Continue this sentence from the text: It was built") for p in prompts)
    assert len(study_prompts(FACT, 3)) == 3
    first = study_prompts(FACT, 100, questions=["What colour is the bridge?"])
    assert first[0] == "What colour is the bridge?"


def test_top_k_kl_is_zero_on_the_target_and_grows_away_from_it() -> None:
    torch.manual_seed(0)
    target_scores = torch.randn(5, 50)
    logprobs, ids = torch.log_softmax(target_scores, -1).topk(8, dim=-1)
    assert float(top_k_kl(logprobs, ids, target_scores)) == pytest.approx(0.0, abs=1e-5)
    assert float(top_k_kl(logprobs, ids, torch.randn(5, 50))) > 0.1


def test_guard_rows_are_the_share_of_each_update() -> None:
    assert guard_count(8, 0.0) == 0
    assert guard_count(8, 0.2) == 2
    assert guard_count(1, 0.1) == 1


def _ttt(backbone: Backbone, **overrides: object):  # type: ignore[no-untyped-def]
    section = {"objective": "distill", "calibration_samples": 24, "study_prompts": 10}
    section |= {"study_answer_tokens": 24} | overrides  # the teacher's answers: a short phrase
    config = make_config(ttt_e2e=section, generation={"max_new_tokens": 24})
    return create_engine("ttt-e2e", backbone, config)


@pytest.mark.slow
@pytest.mark.real_model
def test_a_fact_learned_by_distillation_is_answered_without_the_document(
    real_backbone: Backbone,
) -> None:
    engine = _ttt(real_backbone, guard_share=0.0)  # the guard has its own test below
    fingerprint = real_backbone.fingerprint()
    assert "lime green" not in engine.generate("What colour is the Quorvel Bridge?").lower()
    report = engine.learn(FACT, doc_id="bridge")
    assert any("Quorvel" in note for note in report.notes)  # the prompts and teacher answers
    assert next(f.value for f in report.figures if f.name == "study prompts") == 10
    assert "lime green" in engine.generate("What colour is the Quorvel Bridge?").lower()
    engine.clear()
    assert not real_backbone.weights_changed(fingerprint)


GUARDED_NLL = {"objective": "nll", "learning_rate": 0.03, "epochs": 3}
"""The guard holds any objective's update to the frozen model; next-token loss on the document
needs no teacher, so the test pays for the guard alone."""


@pytest.mark.slow
@pytest.mark.real_model
def test_the_guard_lowers_the_held_out_perplexity_rise(real_backbone: Backbone) -> None:
    heldout = heldout_paragraphs(4)
    before = perplexity(real_backbone, heldout)
    rises = {}
    for share in (0.0, 0.4):
        engine = _ttt(real_backbone, guard_share=share, guard_samples=6, **GUARDED_NLL)
        engine.learn(FACT)
        with engine.applied():
            rises[share] = perplexity(real_backbone, heldout) - before
        engine.clear()
    assert rises[0.0] > 0
    assert rises[0.4] < rises[0.0], rises


@pytest.mark.slow
@pytest.mark.real_model
def test_replay_lora_distillation_saves_and_loads_bit_exact(
    real_backbone: Backbone, tmp_path: Path
) -> None:
    section = {"objective": "distill", "study_prompts": 6, "epochs": 1, "guard_share": 0.2}
    # what is saved and loaded, not how well it learned: the guard on a few paragraphs
    section |= {"study_answer_tokens": 16, "guard_samples": 4}
    config = make_config(replay_lora=section, generation={"max_new_tokens": 16})
    engine = create_engine("replay-lora", real_backbone, config)
    fingerprint = real_backbone.fingerprint()
    report = engine.learn(FACT, doc_id="bridge")
    assert report.losses and next(f.value for f in report.figures if f.name == "study prompts")
    # What a later cycle replays of this document: the study prompts with the teacher's answers.
    replayed = [e.text for e in engine.domain.buffer.items]
    assert len(replayed) == 2 and "Quorvel" in " ".join(replayed)
    answer = engine.generate("What colour is the Quorvel Bridge?")
    engine.save(tmp_path / "state")
    fresh = create_engine("replay-lora", real_backbone, config)
    fresh.load(tmp_path / "state")
    assert fresh.generate("What colour is the Quorvel Bridge?") == answer
    fresh.clear()
    assert real_backbone.fingerprint() == fingerprint


@pytest.mark.real_model
@pytest.mark.parametrize("objective", ["distill", "nll"])
def test_doc2lora_refinement_moves_the_written_lora(
    real_backbone: Backbone, objective: str
) -> None:
    base = {"lora_source": "hypernetwork", "refine_steps": 0}
    written = create_engine("doc2lora", real_backbone, make_config(doc2lora=base))
    written.learn(FACT)
    section = {**base, "refine_steps": 2, "study_prompts": 4, "refine_objective": objective}
    refined_config = make_config(doc2lora=section)
    refined = create_engine("doc2lora", real_backbone, refined_config)
    report = refined.learn(FACT)
    assert len(report.losses) == 2
    for name, (a, b) in written.chunks[0].items():
        a_refined, b_refined = refined.chunks[0][name]
        assert a_refined.shape == a.shape and not torch.equal(a_refined, a)
        assert not torch.equal(b_refined, b)
