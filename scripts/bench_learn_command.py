"""What one ``continual-learning learn`` command costs with the forgetting guard's targets
computed in the process (an empty cache) and read from the cache (``core/target_cache.py``),
side by side in one run, for each weight engine that has a guard.

Each row runs the real CLI in a fresh workspace on the same fictional document, twice per cache
state, and keeps the faster wall time; the learned state must be the same either way (the
answer to the document's question is compared).

    .venv/bin/python scripts/bench_learn_command.py --json assets/learn-command.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.storage import atomic_write_json
from continual_learning.harness.environment import run_environment
from continual_learning.harness.outputs import reproducing_command

CLI = Path(sys.executable).with_name("continual-learning")


def _cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, env=env, check=False, timeout=1800
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return time.perf_counter() - started, done.stdout.strip()


def learn_and_ask(engine: str, document: Path, question: str, cache: Path) -> tuple[float, str]:
    """Seconds of ``learn`` in a fresh workspace, and the learned engine's answer."""
    with tempfile.TemporaryDirectory() as workspace:
        env = os.environ | {"CL_WORKSPACE": workspace, "CL_CACHE_DIR": str(cache)}
        seconds, _ = _cli(["learn", "--engine", engine, str(document)], env)
        _, answer = _cli(["ask", "--engine", engine, question], env)
    return seconds, answer


def measure(engine: str, document: Path, question: str, repeats: int) -> dict[str, object]:
    cold, warm, answers = [], [], set()
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            seconds, answer = learn_and_ask(engine, document, question, Path(cache))
            cold.append(seconds)
            answers.add(answer)
            seconds, answer = learn_and_ask(engine, document, question, Path(cache))
            warm.append(seconds)
            answers.add(answer)
    return {
        "engine": engine,
        "cold_seconds": round(min(cold), 2),
        "cached_seconds": round(min(warm), 2),
        "speedup": round(min(cold) / min(warm), 2),
        "same_answer": len(answers) == 1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="ttt-e2e,replay-lora")
    parser.add_argument("--repeats", type=int, default=1, help="runs per cache state (min kept)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    documents, questions = fictional_fact_set()
    question = next(q.question for q in questions if q.doc_id == documents[0].id)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        document = Path(folder) / f"{documents[0].id}.txt"
        document.write_text(documents[0].text, encoding="utf-8")
        for engine in args.engines.split(","):
            rows.append(measure(engine, document, question, args.repeats))
    table = Table(title="learn command: guard targets computed vs read from the cache")
    for column in ("engine", "empty cache s", "cached s", "speedup", "same answer"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
    if args.json:
        record = {"command": reproducing_command(), "environment": run_environment(), "rows": rows}
        atomic_write_json(args.json, record)
        print(json.dumps(rows))
    return 0 if all(r["same_answer"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
