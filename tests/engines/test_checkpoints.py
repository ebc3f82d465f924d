from __future__ import annotations

from pathlib import Path

import pytest

from continual_learning.engines.checkpoints import CheckpointManager
from continual_learning.engines.registry import create_engine, engine_names
from continual_learning.errors import StateError, WorkbenchError

from helpers import build_tiny_backbone, make_config, plumbing_hypernetwork

DOC = "Zorblax Quentaro is the capital of Velmoria, founded in 1843 by Ardent Plume."
QUESTION = "What is the capital of Velmoria?"


def _engine(name: str, backbone=None):  # type: ignore[no-untyped-def]
    config = make_config(
        generation={"max_new_tokens": 6},
        doc2lora={"hypernetwork": str(plumbing_hypernetwork())},
    )
    return create_engine(name, backbone or build_tiny_backbone(), config)


@pytest.mark.parametrize("name", engine_names())
def test_round_trip_is_bit_identical(name: str, tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path / "checkpoints")
    engine = _engine(name)
    engine.learn(DOC, doc_id="velmoria")
    answer = engine.generate(QUESTION)
    info = manager.save(engine, "after-velmoria")
    assert (info.engine, info.documents) == (name, 1)
    assert info.total_bytes > 0
    restored = _engine(name, engine.backbone)
    manager.load(restored, "after-velmoria")
    assert restored.generate(QUESTION) == answer
    assert [r.doc_id for r in restored.history] == ["velmoria"]


def test_refuses_other_engine_other_backbone_and_existing_names(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    engine = _engine("in-context")
    engine.learn(DOC)
    manager.save(engine, "one")
    with pytest.raises(StateError, match="already exists"):
        manager.save(engine, "one")
    manager.save(engine, "one", overwrite=True)
    with pytest.raises(StateError, match="holds engine in-context, not jitrl-mvp"):
        manager.load(_engine("jitrl-mvp", engine.backbone), "one")
    with pytest.raises(StateError, match="made for backbone"):
        manager.load(_engine("in-context", build_tiny_backbone(seed=3)), "one")


def test_truncated_or_tampered_files_are_refused_and_nothing_is_loaded(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    engine = _engine("jitrl-full")
    engine.learn(DOC)
    manager.save(engine, "full")
    store = tmp_path / "full" / "state" / "knowledge_store.safetensors"
    store.write_bytes(store.read_bytes()[:-10])
    fresh = _engine("jitrl-full", engine.backbone)
    with pytest.raises(StateError, match="corrupt: state/knowledge_store.safetensors"):
        manager.load(fresh, "full")
    assert fresh.info().documents_learned == 0
    store.unlink()
    with pytest.raises(StateError, match="incomplete"):
        manager.load(fresh, "full")
    (tmp_path / "full" / "manifest.json").write_text("{")
    with pytest.raises(StateError, match="corrupt"):
        manager.load(fresh, "full")


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", ".hidden", "x" * 65, "..", "a..b"])
def test_names_cannot_escape_the_folder(tmp_path: Path, bad: str) -> None:
    with pytest.raises(WorkbenchError, match="invalid checkpoint name"):
        CheckpointManager(tmp_path / "checkpoints").save(_engine("closed-book"), bad)
    assert not (tmp_path / "escape").exists()


def test_list_shows_unreadable_checkpoints_and_delete_removes(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    manager.save(_engine("closed-book"), "good")
    (tmp_path / "broken").mkdir()
    infos = {i.name: i for i in manager.list()}
    assert infos["good"].engine == "closed-book" and not infos["good"].problem
    assert "manifest" in infos["broken"].problem
    manager.delete("good")
    assert [i.name for i in manager.list()] == ["broken"]
    with pytest.raises(StateError, match="no checkpoint named 'good'"):
        manager.delete("good")
