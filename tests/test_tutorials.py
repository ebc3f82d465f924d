"""Every tutorial notebook runs top to bottom on the real model, headless, and is committed with
the outputs of its full run (``scripts/run_tutorials.py`` saves them), so a reader sees results
without running.

Here each notebook runs through the same cells with smaller parameters (fewer documents, fewer
steps: ``SMALL``), injected after its ``parameters`` cell; that the committed outputs came from
the values written in the notebook is checked against what the full run recorded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import nbformat
import pytest

from helpers import REPO, require_real_model

NOTEBOOKS = sorted((REPO / "tutorials").glob("*.ipynb"))
PROMISED = ["00", "01", "02", "03", "04", "05", "06"]
SMALL: dict[str, dict[str, Any]] = {
    "00_introduction": {},
    "01_ttt_e2e": {"EPOCHS": 1, "CALIBRATION_SAMPLES": 16},
    "02_jitrl_mvp": {"DOCUMENTS": 2},
    "03_jitrl_full": {"DOCUMENTS": 1},
    "04_ace": {"LOOPS": 1, "QUESTIONS": 1},
    "05_doc2lora": {"DOCUMENTS": 2, "REFINE_STEPS": 2},
    "06_benchmark_comparison": {"DOCUMENTS": 1, "HELDOUT": 1},
}
"""What each notebook runs with here; ``scripts/run_tutorials.py`` runs the written values."""


def _runner():  # type: ignore[no-untyped-def]
    """``scripts/run_tutorials.py`` as a module: the test runs notebooks the way it does."""
    spec = importlib.util.spec_from_file_location(
        "run_tutorials", REPO / "scripts" / "run_tutorials.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


run_tutorials = _runner()


def test_every_promised_tutorial_is_there_and_teaches_with_exercises() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == PROMISED
    assert sorted(SMALL) == [p.stem for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        text = "".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
        assert "## Exercises" in text, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_committed_notebook_carries_the_outputs_of_its_full_run(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "run scripts/run_tutorials.py"
    assert any(cell.outputs for cell in code)
    assert not [c for c in code if "injected-parameters" in c.metadata.get("tags", [])]
    recorded = notebook.metadata.get(run_tutorials.RUN_RECORD, {}).get("parameters")
    assert recorded == run_tutorials.declared_parameters(notebook), (
        "the outputs are not from a run of the parameters written in the notebook: "
        f"run scripts/run_tutorials.py {path.stem}"
    )


@pytest.mark.real_model
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    require_real_model()
    notebook = nbformat.read(path, as_version=4)
    run_tutorials.with_parameters(notebook, SMALL[path.stem])
    run_tutorials.execute(notebook, tmp_path, timeout=600)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, "\n".join(f"{o.ename}: {o.evalue}" for o in errors)
