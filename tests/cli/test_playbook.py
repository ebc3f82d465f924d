"""``continual-learning playbook ...`` as a user runs it (tiny model: the files are the point)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from continual_learning.engines.ace.playbook import DeltaOp, Playbook

from helpers import cli, save_tiny_model


def _write_playbook(folder: Path, name: str) -> None:
    playbook = Playbook(name)
    playbook.apply(
        [
            DeltaOp(op="add", section="facts", text="The capital of Velmoria is Zorblax Quentaro."),
            DeltaOp(op="add", section="strategies", text="Answer with the name only."),
            DeltaOp(op="tag", bullet_id="b1", tag="helpful"),
        ]
    )
    folder.mkdir(parents=True, exist_ok=True)
    playbook.save(folder / f"{name}.json")


def test_list_import_show_export(tmp_path: Path) -> None:
    books = Path(os.environ["CL__ACE__PLAYBOOK_DIR"])
    _write_playbook(books, "velmoria")
    (books / "broken.json").write_text("{ not json")
    model = ["--model", str(save_tiny_model(tmp_path / "tiny"))]

    listed = cli("playbook", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert (rows["velmoria"]["bullets"], rows["velmoria"]["helpful"]) == (2, 1)
    assert "corrupt" in rows["broken"]["error"]

    imported = cli(*model, "playbook", "import", "velmoria")
    assert imported.returncode == 0, imported.stderr
    assert "now uses 'velmoria' (2 bullets)" in imported.stdout
    shown = cli("playbook", "show", "--json")
    assert [b["id"] for b in json.loads(shown.stdout)["bullets"]] == ["b1", "b2"]

    exported = cli(*model, "playbook", "export", "copy")
    assert exported.returncode == 0, exported.stderr
    copy = json.loads((books / "copy.json").read_text())
    assert [b["text"] for b in copy["bullets"]] == [
        "The capital of Velmoria is Zorblax Quentaro.",
        "Answer with the name only.",
    ]
    table = cli("playbook", "show", "copy")
    assert "Zorblax" in table.stdout and "copy: 2 bullets" in table.stdout


def test_bad_names_and_broken_files_are_clear_errors(tmp_path: Path) -> None:
    books = Path(os.environ["CL__ACE__PLAYBOOK_DIR"])
    _write_playbook(books, "velmoria")
    (books / "broken.json").write_text(
        '{"schema": "continual-learning/ace-playbook", "version": 1}'
    )
    model = ["--model", str(save_tiny_model(tmp_path / "tiny"))]
    assert cli(*model, "playbook", "import", "velmoria").returncode == 0

    escaped = cli("playbook", "show", "../velmoria")
    assert escaped.returncode != 0 and "invalid playbook name" in escaped.stderr
    broken = cli(*model, "playbook", "import", "broken")
    assert broken.returncode != 0 and "'bullets' must be a list" in broken.stderr
    shown = cli("playbook", "show", "--json")  # the workspace kept what it had
    assert len(json.loads(shown.stdout)["bullets"]) == 2
