"""Every registered engine honours the interface, on a tiny random model (plumbing only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.core.backbone import weights_fingerprint
from continual_learning.engines.registry import create_engine, engine_names, get_spec
from continual_learning.errors import DocumentError, EngineError, StateError

from helpers import build_tiny_backbone, make_config, plumbing_hypernetwork

ENGINES = engine_names()
DOC = "Zorblax Quentaro is the capital of Velmoria, founded in 1843 by Ardent Plume."
QUESTION = "What is the capital of Velmoria?"


def _engine(name: str, backbone=None):  # type: ignore[no-untyped-def]
    config = make_config(
        generation={"max_new_tokens": 8},
        doc2lora={"hypernetwork": str(plumbing_hypernetwork())},
    )
    return create_engine(name, backbone or build_tiny_backbone(), config)


@pytest.mark.parametrize("name", ENGINES)
def test_learn_generate_save_load_clear(name: str, tmp_path: Path) -> None:
    backbone = build_tiny_backbone()
    original = weights_fingerprint(backbone.model)
    engine = _engine(name, backbone)
    before = engine.generate(QUESTION)

    report = engine.learn(DOC, doc_id="velmoria")
    assert (report.engine, report.doc_id) == (get_spec(name).key, "velmoria")
    assert report.tokens > 0 and report.seconds >= 0
    answer = engine.generate(QUESTION)
    assert isinstance(answer, str)
    info = engine.info()
    assert (info.documents_learned, info.tokens_learned) == (1, report.tokens)

    engine.save(tmp_path / "state")
    restored = _engine(name, backbone)
    restored.load(tmp_path / "state")
    assert restored.generate(QUESTION) == answer
    assert [r.doc_id for r in restored.history] == ["velmoria"]

    engine.clear()
    assert engine.info().documents_learned == 0
    assert engine.generate(QUESTION) == before
    assert weights_fingerprint(backbone.model) == original


@pytest.mark.parametrize("name", ENGINES)
def test_empty_documents_are_refused(name: str) -> None:
    with pytest.raises(DocumentError, match="empty"):
        _engine(name).learn("   \n")


@pytest.mark.parametrize("name", ENGINES)
def test_state_of_another_engine_or_backbone_is_refused(name: str, tmp_path: Path) -> None:
    engine = _engine(name)
    engine.learn(DOC)
    engine.save(tmp_path / "state")
    other_backbone = build_tiny_backbone(seed=1)
    with pytest.raises(StateError, match="made for backbone"):
        _engine(name, other_backbone).load(tmp_path / "state")
    other_name = next(n for n in ENGINES if n != name)
    with pytest.raises(StateError, match="belongs to engine"):
        _engine(other_name, engine.backbone).load(tmp_path / "state")


@pytest.mark.parametrize("name", ENGINES)
def test_corrupt_state_is_an_error_and_changes_nothing(name: str, tmp_path: Path) -> None:
    engine = _engine(name)
    engine.learn(DOC, doc_id="kept")
    engine.save(tmp_path / "state")
    (tmp_path / "state" / "history.json").write_text('[{"broken": ')
    with pytest.raises(StateError, match="corrupt"):
        engine.load(tmp_path / "state")
    assert [r.doc_id for r in engine.history] == ["kept"]
    (tmp_path / "state" / "meta.json").unlink()
    with pytest.raises(StateError, match="missing"):
        engine.load(tmp_path / "state")


def test_save_replaces_old_state_atomically(tmp_path: Path) -> None:
    engine = _engine("in-context")
    engine.learn(DOC, doc_id="first")
    engine.save(tmp_path / "state")
    engine.learn("A second document about the Velmorian navy.", doc_id="second")
    engine.save(tmp_path / "state")
    history = json.loads((tmp_path / "state" / "history.json").read_text())
    assert [h["doc_id"] for h in history] == ["first", "second"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "state"]
    assert leftovers == []


def test_unknown_engine_lists_the_known_ones() -> None:
    with pytest.raises(EngineError, match="available: closed-book, in-context"):
        get_spec("ttt-e3e")
    assert get_spec("in_context") is get_spec("In-Context")
