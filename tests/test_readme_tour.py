"""The README's five-minute tour, run as written (``scripts/time_readme_tour.py``): every command
of it but the bare menu, in order, in a fresh folder and workspace, on the provisioned model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from helpers import REPO, require_real_model


def _tour():  # type: ignore[no-untyped-def]
    """``scripts/time_readme_tour.py`` as a module: the test runs the tour the way it does."""
    spec = importlib.util.spec_from_file_location("tour", REPO / "scripts" / "time_readme_tour.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


tour = _tour()


def test_the_tour_is_more_than_the_menu() -> None:
    commands = tour.tour_commands()
    assert len(commands) >= 6 and all(c.startswith((tour.MENU, "echo ")) for c in commands)


@pytest.mark.real_model
@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    require_real_model()
    timed = tour.run_tour(tmp_path)
    assert len(timed) == len(tour.tour_commands())
    for command, _, done in timed:
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
    report = json.loads((tmp_path / "run.json").read_text())
    assert [e["label"] for e in report["engines"]][-2:] == ["ttt-e2e", "jitrl-mvp"]
    assert not [e for e in report["engines"] if e["error"]]
    assert (tmp_path / "run.html").stat().st_size > 0
    assert (tmp_path / "stream.png").read_bytes().startswith(b"\x89PNG")
