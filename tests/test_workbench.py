from __future__ import annotations

from pathlib import Path

import pytest

from continual_learning.errors import DocumentError
from continual_learning.workbench import Workbench

from helpers import build_tiny_backbone, make_config


def _bench(workspace: Path, backbone=None) -> Workbench:  # type: ignore[no-untyped-def]
    config = make_config(generation={"max_new_tokens": 4})
    return Workbench(config, workspace=workspace, backbone=backbone or build_tiny_backbone())


def test_learned_state_survives_into_a_new_workbench(tmp_path: Path) -> None:
    (tmp_path / "fact.txt").write_text("Velmoria's capital is Zorblax Quentaro.")
    backbone = build_tiny_backbone()
    reports = _bench(tmp_path / "ws", backbone).learn_files("in-context", [tmp_path / "fact.txt"])
    assert [r.doc_id for r in reports] == ["fact"]
    engine = _bench(tmp_path / "ws", backbone).engine("in-context")
    assert [d.id for d in engine.documents] == ["fact"]


def test_a_bad_file_leaves_the_workspace_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("First document.")
    (tmp_path / "b.txt").write_text("Second document.")
    (tmp_path / "bad.txt").write_bytes(b"\x00binary")
    bench = _bench(tmp_path / "ws")
    bench.learn_files("in-context", [tmp_path / "a.txt"])
    with pytest.raises(DocumentError):
        bench.learn_files("in-context", [tmp_path / "b.txt", tmp_path / "bad.txt"])
    fresh = _bench(tmp_path / "ws", bench.backbone).engine("in-context")
    assert [d.id for d in fresh.documents] == ["a"]


def test_forget_clears_and_removes_saved_state(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("First document.")
    bench = _bench(tmp_path / "ws")
    bench.learn_files("in-context", [tmp_path / "a.txt"])
    assert bench.has_saved_state("in-context")
    bench.forget("in-context")
    assert not bench.has_saved_state("in-context")
    assert bench.engine("in-context").info().documents_learned == 0


def test_constructing_a_workbench_loads_no_model(tmp_path: Path) -> None:
    bench = Workbench(make_config(model={"name": "not-provisioned-anywhere"}), workspace=tmp_path)
    assert not bench.backbone_loaded
