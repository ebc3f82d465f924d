"""Every tutorial notebook runs top to bottom on the real model, headless, and is committed with
its outputs (``scripts/run_tutorials.py`` saves them), so a reader sees results without running."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import REPO, require_real_model

NOTEBOOKS = sorted((REPO / "tutorials").glob("*.ipynb"))
PROMISED = ["00", "01", "02", "03", "04", "05", "06"]


def test_every_promised_tutorial_is_there_and_teaches_with_exercises() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == PROMISED
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        text = "".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
        assert "## Exercises" in text, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_committed_notebook_carries_its_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "run scripts/run_tutorials.py"
    assert any(cell.outputs for cell in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    require_real_model()
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
