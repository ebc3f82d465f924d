from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continual_learning.core.hidden_states import LayerCapture
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.scoring import contains
from continual_learning.engines.jitrl_full.knowledge_store import encode, question_vectors
from continual_learning.engines.jitrl_full.reward import AdvantageModulator
from continual_learning.engines.registry import create_engine
from continual_learning.errors import PromptError, StateError

from helpers import build_tiny_backbone, make_config


def _modulator_after_a_forward(next_tokens: torch.Tensor, beta: float) -> AdvantageModulator:
    """A modulator whose memory is the tiny model's own states, read by a real forward pass."""
    backbone = build_tiny_backbone()
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    capture = LayerCapture(backbone.model, -1)
    with capture, torch.inference_mode():
        backbone.model(input_ids=ids)
    states = torch.nn.functional.normalize(capture.hidden[0].float(), dim=-1)  # (5, H)
    return AdvantageModulator(
        capture, states, next_tokens, candidates=4, neighbours=5, temperature=0.05, beta=beta
    )


def test_advantage_is_centred_and_only_moves_candidates() -> None:
    modulator = _modulator_after_a_forward(torch.tensor([11, 11, 12, 13, 11]), beta=0.5)
    scores = torch.zeros(1, 50)
    scores[0, [11, 12, 30, 31]] = torch.tensor([1.0, 2.0, 3.0, 0.5])
    modulated = modulator(torch.zeros(1, 1, dtype=torch.long), scores.clone())
    changed = (modulated != scores).nonzero()[:, 1].tolist()
    assert set(changed) <= {11, 12, 30, 31}
    delta = (modulated - scores)[0, [11, 12, 30, 31]] * 0.5  # the advantages
    base = torch.softmax(scores[0, [11, 12, 30, 31]], dim=0)
    assert float((base * delta).sum()) == pytest.approx(0.0, abs=1e-5)
    # The last state is identical to the query, so its next token (11) gets the largest reward.
    assert int(delta.argmax()) == 0


@pytest.mark.slow
def test_retrieval_by_hidden_states_finds_the_fact_documents(real_backbone) -> None:
    engine = create_engine("jitrl-full", real_backbone, make_config())
    documents, questions = fictional_fact_set()
    for doc in documents:
        engine.learn(doc.text, doc_id=doc.id)
    one_by_one = [engine.retrieve(q.question) for q in questions]
    hits = [
        q.doc_id in {engine.store.chunks[i].doc_id for i in retrieved}
        for q, retrieved in zip(questions, one_by_one, strict=True)
    ]
    assert sum(hits) / len(hits) >= 0.9
    # A batch's questions, embedded in one padded forward pass, retrieve what each does alone.
    assert engine.retrieve_many([q.question for q in questions]) == one_by_one


def test_questions_embedded_together_get_the_vectors_they_get_alone(real_backbone) -> None:
    texts = ["Who?", "What is the capital of Velmoria?", "x", "Where is the Quorvel Bridge now?"]
    together = question_vectors(real_backbone, texts, layer=20)
    for text, vector in zip(texts, together, strict=True):
        alone = encode(real_backbone, text, retrieval_layer=20, memory_layer=20).vector
        assert torch.allclose(vector, alone, rtol=1e-4, atol=1e-4), text


def test_answers_with_modulation_and_reports_it(real_backbone) -> None:
    config = make_config(generation={"max_new_tokens": 24})
    engine = create_engine("jitrl-full", real_backbone, config)
    documents, _ = fictional_fact_set()
    for doc in documents[:4]:
        engine.learn(doc.text, doc_id=doc.id)
    answer = engine.generate("What is the capital of Velmoria?")
    assert contains(answer, "Zorblax Quentaro") == 1.0
    assert engine.last_modulator is not None and engine.last_modulator.steps > 0


def test_a_blank_question_retrieves_nothing_and_is_refused_when_asked() -> None:
    engine = create_engine("jitrl-full", build_tiny_backbone(), make_config())
    engine.learn("Zorblax Quentaro is the capital of Velmoria.", doc_id="v")
    assert engine.retrieve_many(["", "  ", "Velmoria?"])[:2] == [[], []]
    with pytest.raises(PromptError, match="the question is empty"):
        engine.generate("  ")
    # A batch answers what it is given (a benchmark's questions are checked when read).
    assert all(isinstance(a, str) for a in engine.generate_many(["", " "], batch_size=2))
    assert engine.last_retrieved == ()


def test_corrupt_store_is_refused(tmp_path: Path) -> None:
    engine = create_engine("jitrl-full", build_tiny_backbone(), make_config())
    engine.learn("Zorblax Quentaro is the capital of Velmoria.", doc_id="v")
    engine.save(tmp_path / "state")
    (tmp_path / "state" / "knowledge_store.safetensors").write_bytes(b"\x00" * 64)
    fresh = create_engine("jitrl-full", engine.backbone, make_config())
    with pytest.raises(StateError, match="corrupt"):
        fresh.load(tmp_path / "state")
    assert len(fresh.store) == 0
