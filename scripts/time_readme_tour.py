"""Run the README's five-minute tour as written and time each command.

Every line of the tour's code block but the bare menu runs in its own shell, in order, in a fresh
folder (with ``.venv`` linked to this checkout's) and a fresh workspace. Prints a table and
writes the seconds per command to JSON. ``tests/test_readme_tour.py`` runs the tour the same way.

    .venv/bin/python scripts/time_readme_tour.py --json assets/readme-tour.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MENU = ".venv/bin/continual-learning"


def tour_commands(readme: Path = REPO / "README.md") -> list[str]:
    """The shell lines of the tour's code block, without the interactive menu."""
    text = readme.read_text(encoding="utf-8")
    block = text.split("## A five-minute tour", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    return [line for line in lines if line.split("#", 1)[0].strip() != MENU]


def run_tour(folder: Path) -> list[tuple[str, float, subprocess.CompletedProcess[str]]]:
    """Each command, its seconds and its result, run in ``folder``; stops at the first failure."""
    (folder / ".venv").symlink_to(REPO / ".venv")  # the commands say .venv/bin/...
    env = {**os.environ, "CL_WORKSPACE": str(folder / "workspace")}
    timed = []
    for command in tour_commands():
        started = time.perf_counter()
        done = subprocess.run(
            ["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        timed.append((command, time.perf_counter() - started, done))
        if done.returncode != 0:
            break
    return timed


def main() -> int:
    from continual_learning.core.storage import atomic_write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the seconds per command here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        timed = run_tour(Path(folder))
    for command, seconds, done in timed:
        status = "" if done.returncode == 0 else f"  FAILED: {done.stderr.strip()[-300:]}"
        print(f"{seconds:7.1f} s  {command[:90]}{status}")
    total = sum(seconds for _, seconds, _ in timed)
    print(f"{total:7.1f} s  in all")
    if args.json:
        rows = [{"command": c, "seconds": round(s, 1), "exit": d.returncode} for c, s, d in timed]
        atomic_write_json(args.json, {"commands": rows, "total_seconds": round(total, 1)})
    return 0 if all(done.returncode == 0 for _, _, done in timed) else 1


if __name__ == "__main__":
    sys.exit(main())
