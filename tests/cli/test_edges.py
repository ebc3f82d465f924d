"""Every edge a clean error: one line on stderr, the right exit code, nothing changed.

The CLI's main on the tiny model, in this process (plumbing: no learning quality is at stake
here; the entry point's own one-line error is tested in a child process in test_main.py).
"""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from continual_learning.errors import StateError
from continual_learning.workbench import Workbench

from helpers import build_tiny_backbone, cli, make_config, save_tiny_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def _fact(folder: Path, name: str = "fact.txt", text: str = "Zorblax is in Velmoria.") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    """The exit code, no traceback, and one ``error:`` line (progress lines may come first)."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and text in errors[0], result.stderr


def _history(model: Path, workspace: Path) -> list[str]:
    result = cli(
        "--model", str(model), "--workspace", str(workspace), "history", "-e", "jitrl-mvp", "--json"
    )
    return [row["doc_id"] for row in json.loads(result.stdout)]


def test_a_workspace_that_is_a_file(tiny_model: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    result = cli(
        "--model", str(tiny_model), "learn", "-e", "in-context", str(_fact(tmp_path)),
        env={"CL_WORKSPACE": str(notes)},
    )  # fmt: skip
    _one_line_error(result, 6, "is a file, not a folder")
    assert notes.read_text() == "my notes"


def test_a_checkpoints_folder_that_is_a_file(tiny_model: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    result = cli(
        "--model", str(tiny_model), "--checkpoints", str(notes), "checkpoints", "save", "x",
        "-e", "closed-book",
    )  # fmt: skip
    _one_line_error(result, 6, "checkpoints folder")
    assert notes.read_text() == "my notes"


def test_state_written_by_a_newer_workbench(tiny_model: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    base = ["--model", str(tiny_model), "--workspace", str(workspace)]
    assert cli(*base, "learn", "-e", "jitrl-mvp", str(_fact(tmp_path))).returncode == 0
    meta = workspace / "engines" / "jitrl_mvp" / "meta.json"
    data = json.loads(meta.read_text())
    meta.write_text(json.dumps(data | {"schema_version": 99}))
    before = meta.read_bytes()
    result = cli(*base, "ask", "-e", "jitrl-mvp", "Where is Zorblax?")
    _one_line_error(result, 6, "written by a newer workbench")
    assert meta.read_bytes() == before


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_model_folder_with_damaged_weights(damage: str, tiny_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    weights = model / "model.safetensors"
    if damage == "missing":
        weights.unlink()
    else:
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    result = cli("--model", str(model), "ask", "-e", "closed-book", "Hello?")
    _one_line_error(result, 4, str(model))


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "the question is empty"),
        ("   \n\t", "the question is empty"),
        # The tiny model reads 256 tokens: a question past that is refused, not answered with
        # nothing (SmolLM2's 8,192 are refused the same way).
        ("why " * 300, "reads at most 256, answer (8 new tokens) included"),
    ],
)
def test_a_question_the_model_cannot_be_asked(
    question: str, message: str, tiny_model: Path
) -> None:
    for engine in ("closed-book", "jitrl-mvp"):
        result = cli(
            "--model", str(tiny_model), "ask", "-e", engine, question, "--max-new-tokens", "8"
        )  # fmt: skip
        _one_line_error(result, 3, message)


def test_a_config_file_that_is_not_a_mapping(tiny_model: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("- just\n- a list\n")
    result = cli("--model", str(tiny_model), "info", env={"CL_CONFIG": str(config)})
    _one_line_error(result, 2, "must map section names")


def test_a_failed_save_keeps_the_earlier_state(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An injected write failure (a full disk, a yanked drive) in the middle of saving."""
    config = make_config()
    bench = Workbench(config, workspace=tmp_path / "ws", backbone=build_tiny_backbone())
    bench.learn_files("jitrl-mvp", [_fact(tmp_path / "a", "a.txt")])
    import continual_learning.core.storage as storage

    def full_disk(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "replace", full_disk)
    with pytest.raises(StateError, match="No space left on device; the state saved before is kept"):
        bench.learn_files("jitrl-mvp", [_fact(tmp_path / "b", "b.txt")])
    monkeypatch.undo()
    again = Workbench(config, workspace=tmp_path / "ws", backbone=build_tiny_backbone())
    assert [r.doc_id for r in again.engine("jitrl-mvp").history] == ["a"]


def _mount_tmpfs(folder: Path, options: str) -> None:
    """A real small filesystem, when this machine lets us mount one (root, as CI is)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")


def test_a_read_only_workspace_is_one_line(tiny_model: Path, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "ro,size=64k")  # not writable even for root
    try:
        result = cli(
            "--model", str(tiny_model), "--workspace", str(disk / "ws"),
            "learn", "-e", "jitrl-mvp", str(_fact(tmp_path)),
        )  # fmt: skip
        _one_line_error(result, 6, "Read-only file system")
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_full_disk_is_one_line_and_the_state_is_kept(tiny_model: Path, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "size=256k")
    try:
        workspace = disk / "ws"
        base = ["--model", str(tiny_model), "--workspace", str(workspace)]
        first = cli(*base, "learn", "-e", "jitrl-mvp", str(_fact(tmp_path, "a.txt")))
        assert first.returncode == 0, first.stderr
        filler = disk / "filler"
        with filler.open("wb", buffering=0) as handle, pytest.raises(OSError):
            while True:  # until the disk is full
                handle.write(b"x" * 4096)
        result = cli(*base, "learn", "-e", "jitrl-mvp", str(_fact(tmp_path, "b.txt")))
        _one_line_error(result, 6, "No space left on device")
        filler.unlink()
        assert _history(tiny_model, workspace) == ["a"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)
