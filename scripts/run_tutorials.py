"""Run every tutorial notebook top to bottom on the real model and save it with its outputs.

The committed notebooks carry their outputs, so a reader sees the results without running
anything; after changing a notebook or the code it shows, run this again and commit the result.
Each runs in a scratch folder (its workspace and files land there, not in the checkout).

    .venv/bin/python scripts/run_tutorials.py                 # all of them
    .venv/bin/python scripts/run_tutorials.py 01_ttt_e2e      # one
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def run(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(
            notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": scratch}}
        )
        client.execute()
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
