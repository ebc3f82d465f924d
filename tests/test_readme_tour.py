"""The README's five-minute tour, run as written: every command of it but the bare menu, in order,
in a fresh folder and workspace, each in its own shell on the provisioned model."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from helpers import REPO, require_real_model

MENU = ".venv/bin/continual-learning"


def tour_commands() -> list[str]:
    """The shell lines of the tour's code block, without the interactive menu."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## A five-minute tour", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    return [line for line in lines if line.split("#", 1)[0].strip() != MENU]


def test_the_tour_is_more_than_the_menu() -> None:
    commands = tour_commands()
    assert len(commands) >= 6 and all(c.startswith((MENU, "echo ")) for c in commands)


@pytest.mark.real_model
@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    require_real_model()
    (tmp_path / ".venv").symlink_to(REPO / ".venv")  # the commands say .venv/bin/...
    env = {**os.environ, "CL_WORKSPACE": str(tmp_path / "workspace")}
    for command in tour_commands():
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
    report = json.loads((tmp_path / "run.json").read_text())
    assert [e["label"] for e in report["engines"]][-2:] == ["ttt-e2e", "jitrl-mvp"]
    assert not [e for e in report["engines"] if e["error"]]
    assert (tmp_path / "run.html").stat().st_size > 0
    assert (tmp_path / "stream.png").read_bytes().startswith(b"\x89PNG")
