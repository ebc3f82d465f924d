"""A weight engine's scope: its learning answers prompts about what it learned, and the untouched
model everything else (perplexity and answers bit for bit); the scope survives save and load."""

from __future__ import annotations

from pathlib import Path

import pytest

from continual_learning.core.backbone import Backbone
from continual_learning.core.perplexity import perplexity
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.scope import SCOPE_FILE, Scope, passages_of
from continual_learning.engines.registry import create_engine
from continual_learning.errors import StateError

from helpers import make_config

UNRELATED = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to "
    "Normandy, a region in France."
)


def test_a_prompt_about_a_learned_document_is_in_scope_and_unrelated_text_is_not() -> None:
    documents, questions = fictional_fact_set()
    scope = Scope(0.25)
    assert scope.always  # nothing learned yet: nothing to scope
    scope.add(documents[0].text)
    about_it = [q.question for q in questions if q.doc_id == documents[0].id]
    assert about_it and all(scope.covers(q) for q in about_it)
    assert not scope.covers(UNRELATED)
    assert not scope.covers("the of and")  # stop words only
    assert Scope(0.0, general=[]).covers(UNRELATED)  # threshold 0: always on


def test_each_question_is_routed_to_its_own_document() -> None:
    """``nearest`` names the learned document a question is about (Doc-to-LoRA's routing)."""
    documents, questions = fictional_fact_set()
    scope = Scope(0.2)
    for document in documents:
        scope.add(document.text)
    index = {document.id: i for i, document in enumerate(documents)}
    routed = [scope.nearest(q.question) == index[q.doc_id] for q in questions]
    assert sum(routed) >= 0.9 * len(questions)
    assert scope.nearest(UNRELATED) is None
    assert Scope(0.2).nearest(UNRELATED) is None  # nothing learned


def test_long_documents_are_compared_passage_by_passage() -> None:
    words = [f"w{i}" for i in range(200)]
    passages = passages_of(" ".join(words))
    assert [len(p.split()) for p in passages] == [80, 80, 80, 80]
    assert passages[1].split()[0] == "w40"  # half overlap
    assert passages_of("") == [] and passages_of("one two") == ["one two"]


def test_the_scope_is_saved_and_a_malformed_file_is_refused(tmp_path: Path) -> None:
    scope = Scope(0.2, general=[])
    scope.add("Zorblax Quentaro is the capital of Velmoria.")
    scope.save(tmp_path)
    loaded = Scope(0.2, general=[])
    loaded.load(tmp_path)
    assert loaded.documents == scope.documents
    loaded.load(tmp_path / "missing")  # a state saved before scopes existed
    assert loaded.documents == [] and loaded.always
    (tmp_path / SCOPE_FILE).write_text('{"documents": [1, 2]}')
    with pytest.raises(StateError, match="malformed"):
        loaded.load(tmp_path)


SCOPED = {
    "ttt-e2e": {"self_edit": False, "epochs": 2, "guard_share": 0.0, "scope_threshold": 0.25},
    "replay-lora": {"epochs": 1, "guard_share": 0.0, "scope_threshold": 0.25},
}


@pytest.mark.parametrize("name", sorted(SCOPED))
def test_a_scoped_engine_leaves_unrelated_text_to_the_untouched_model(
    name: str, tiny_backbone: Backbone, tmp_path: Path
) -> None:
    section = name.replace("-", "_")
    config = make_config(**{section: SCOPED[name]}, generation={"max_new_tokens": 6})
    engine = create_engine(name, tiny_backbone, config)
    documents, questions = fictional_fact_set()
    document = documents[0].text
    about_it = [q.question for q in questions if q.doc_id == documents[0].id]
    before = [perplexity(tiny_backbone, [text]) for text in (UNRELATED, document)]
    engine.learn(document, doc_id=documents[0].id)
    assert engine.route(about_it[0]) is not None and engine.route(UNRELATED) is None
    after = [
        perplexity(tiny_backbone, [t], applied=engine.applied_for, routes=[engine.route(t)])
        for t in (UNRELATED, document)
    ]
    assert after[0] == before[0]  # bit for bit: nothing was applied to unrelated text
    assert after[1] != before[1]  # the document itself is in scope: the learning applies
    # Batched answers, split by scope, equal one-at-a-time answers.
    prompts = [about_it[0], UNRELATED, about_it[1]]
    assert engine.generate_many(prompts, batch_size=3) == [engine.generate(p) for p in prompts]
    engine.save(tmp_path / "state")
    fresh = create_engine(name, tiny_backbone, config)
    fresh.load(tmp_path / "state")
    assert fresh.route(about_it[0]) is not None and fresh.route(UNRELATED) is None
