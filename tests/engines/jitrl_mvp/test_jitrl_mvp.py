from __future__ import annotations

import pytest
import torch

from continual_learning.core.chunking import chunk_text
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.scoring import contains
from continual_learning.engines.jitrl_mvp.logit_bias import build_token_bias
from continual_learning.engines.registry import create_engine
from continual_learning.errors import ConfigError

from helpers import build_tiny_backbone, make_config


def test_chunks_overlap_and_keep_the_original_text() -> None:
    tokenizer = build_tiny_backbone().tokenizer
    text = " ".join(f"word{i}" for i in range(200))
    chunks = chunk_text(tokenizer, text, doc_id="d", max_tokens=40, overlap=10)
    assert len(chunks) > 3
    assert all(c.tokens <= 40 for c in chunks)
    assert all(c.text in text for c in chunks)
    first_tail = chunks[0].text.split()[-2]
    assert first_tail in chunks[1].text  # the overlap repeats the end of the previous chunk


def test_overlap_must_be_smaller_than_the_chunk() -> None:
    with pytest.raises(ConfigError, match="jitrl_mvp.chunk_overlap"):
        make_config(jitrl_mvp={"chunk_tokens": 16, "chunk_overlap": 16})


def test_retrieval_finds_the_document_of_every_fact_question(real_backbone) -> None:
    engine = create_engine("jitrl-mvp", real_backbone, make_config())
    documents, questions = fictional_fact_set()
    for doc in documents:
        engine.learn(doc.text, doc_id=doc.id)
    top1 = [
        engine.index.chunks[engine.retrieve(q.question)[0]].doc_id == q.doc_id for q in questions
    ]
    assert sum(top1) / len(top1) >= 0.95


def test_bias_targets_content_words_only(real_backbone) -> None:
    tokenizer = real_backbone.tokenizer
    passage = "Zorblax Quentaro is the capital of Velmoria, founded in 1843."
    weights = {"zorblax": 0.6, "quentaro": 0.6, "velmoria": 0.3, "capital": 0.2, "1843": 0.4}
    bias = build_token_bias(
        tokenizer, [passage], weights, strength=2.0, max_words=10, device=torch.device("cpu")
    )
    assert bias is not None
    pieces = {tokenizer.decode([i]).strip().lower() for i in bias.token_ids.tolist()}
    assert not pieces & {"the", "is", "of", ",", ".", ""}
    assert float(bias.values.max()) == pytest.approx(2.0)
    assert set(bias.token_ids.tolist()).isdisjoint(tokenizer.all_special_ids)
    scores = torch.zeros(1, len(tokenizer))
    biased = bias(torch.zeros(1, 1, dtype=torch.long), scores.clone())
    assert int((biased != 0).sum()) == bias.size
    assert (
        build_token_bias(
            tokenizer, [passage], weights, strength=0.0, max_words=10, device=torch.device("cpu")
        )
        is None
    )


def test_answers_a_fact_from_many_documents(real_backbone) -> None:
    engine = create_engine(
        "jitrl-mvp", real_backbone, make_config(generation={"max_new_tokens": 24})
    )
    documents, _ = fictional_fact_set()
    for doc in documents:
        engine.learn(doc.text, doc_id=doc.id)
    answer = engine.generate("What is the capital of Velmoria?")
    assert engine.last_retrieved[0].doc_id == "velmoria"
    assert contains(answer, "Zorblax Quentaro") == 1.0
