"""Run every tutorial notebook top to bottom on the real model and save it with its outputs.

The committed notebooks carry their outputs, so a reader sees the results without running
anything; after changing a notebook or the code it shows, run this again and commit the result.
Each runs in a scratch folder (its workspace and files land there, not in the checkout).

A notebook's first code cell, tagged ``parameters`` (papermill's convention), names what it runs
with (documents, steps). This script runs the values written there and records them in the
notebook's metadata, so a test can tell that the committed outputs came from the full run; the
test suite runs the same cells with smaller values (``tests/test_tutorials.py``), injected as a
cell tagged ``injected-parameters`` right after.

    .venv/bin/python scripts/run_tutorials.py                 # all of them
    .venv/bin/python scripts/run_tutorials.py 01_ttt_e2e      # one
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
RUN_RECORD = "continual_learning"
"""The notebook metadata key under which a full run records the parameters it ran with."""


def parameters_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    return tagged[0] if tagged else None


def declared_parameters(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    """The ``NAME = literal`` assignments of the parameters cell."""
    cell = parameters_cell(notebook)
    if cell is None:
        return {}
    values = {}
    for statement in ast.parse(cell.source).body:
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            values[statement.targets[0].id] = ast.literal_eval(statement.value)
    return values


def with_parameters(notebook: nbformat.NotebookNode, values: dict[str, Any]) -> None:
    """Insert a cell that sets ``values`` right after the parameters cell (papermill's way)."""
    declared = declared_parameters(notebook)
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(f"not parameters of this notebook: {', '.join(unknown)}")
    if not values:
        return
    source = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(notebook.cells.index(parameters_cell(notebook)) + 1, injected)


def execute(notebook: nbformat.NotebookNode, folder: Path, timeout: int = 900) -> None:
    """Run every cell in a fresh kernel whose working folder is ``folder``."""
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": folder}}
    ).execute()


def run(path: Path) -> float:
    """Run ``path`` as written, record its parameters, save it with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        execute(notebook, Path(scratch))
    notebook.metadata[RUN_RECORD] = {"parameters": declared_parameters(notebook)}
    nbformat.write(notebook, path)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: every one)")
    args = parser.parse_args()
    paths = sorted((REPO / "tutorials").glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
    for path in paths:
        print(f"{path.name}: {run(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
