"""Atomic writes and names: what every saved file goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from continual_learning.core.storage import atomic_write_json, read_json, safe_name
from continual_learning.errors import StateError, WorkbenchError


def test_atomic_write_leaves_no_temporary_file_and_reads_back(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.json"
    atomic_write_json(target, {"engine": "jitrl-mvp", "f1": 0.094})
    assert read_json(target, what="report") == {"engine": "jitrl-mvp", "f1": 0.094}
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_new_files_get_the_umask_mode_not_a_private_one(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "new.json", [1])
    finally:
        os.umask(previous)
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o644


def test_rewriting_keeps_the_files_own_mode(tmp_path: Path) -> None:
    target = tmp_path / "kept.json"
    atomic_write_json(target, [1])
    target.chmod(0o600)
    atomic_write_json(target, [2])
    assert target.stat().st_mode & 0o777 == 0o600
    assert read_json(target, what="state") == [2]


def test_malformed_json_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "broken.json"
    target.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateError, match="broken.json"):
        read_json(target, what="state")


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 65])
def test_names_that_could_leave_their_folder_are_refused(name: str) -> None:
    with pytest.raises(WorkbenchError, match="invalid"):
        safe_name(name)
