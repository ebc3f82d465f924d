"""What one ``continual-learning learn`` command costs, beside a fresh closed-book ``ask``.

Each row runs the real CLI in a fresh workspace on the same fictional paragraph, with an empty
cache folder (the TF-IDF gate, the guard's targets and the anchor perplexity computed in the
process, ``core/backbone_cache.py``) and with them cached, and keeps the faster wall time of
``--repeats``; the learned state must be the same either way (the answer to the paragraph's
question is compared). The baseline is ``ask --engine closed-book`` of a short question in a
fresh workspace, timed the same way in the same run. ``--phases`` then runs each command once
more under cProfile and says where its seconds go (start-up and imports, loading the model,
each part of learning, saving, answering).

    .venv/bin/python scripts/bench_learn_command.py --phases --json assets/learn-command.json
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
ASK = ["ask", "--engine", "closed-book", "What is the capital of France?"]
PHASES = {
    "load the model": ("core/backbone.py", "load_backbone"),
    "learn (all of it)": ("engines/base.py", "learn"),
    "  TF-IDF gate (activity)": ("ttt_e2e/tfidf_gate.py", "document_activity"),
    "  TF-IDF gate (calibration)": ("ttt_e2e/tfidf_gate.py", "calibrate"),
    "  guard targets (computed)": ("core/self_study.py", "guard_targets"),
    "  training steps": ("ttt_e2e/engine.py", "_train"),
    "  LoRA training steps": ("replay_lora/trainer.py", "train"),
    "  LoRA refinement steps": ("doc2lora/refine.py", "refine"),
    "  perplexity (measures)": ("core/perplexity.py", "perplexity"),
    "save the state": ("workbench.py", "persist"),
    "answer": ("engines/base.py", "generate"),
}
"""Phase -> (file, function) whose cumulative seconds it is; indented ones are inside learn."""
PROFILE = """
import cProfile, json, pstats, sys, time
started = time.perf_counter()
from continual_learning.cli.main import main
profile = cProfile.Profile()
code = profile.runcall(main, sys.argv[2:])
wall = time.perf_counter() - started
stats = pstats.Stats(profile).stats
wanted = json.loads(sys.argv[1])
seconds = {name: 0.0 for name in wanted}
for (path, _, function), row in stats.items():
    for name, (suffix, target) in wanted.items():
        if path.endswith(suffix) and function == target:
            seconds[name] = max(seconds[name], row[3])
print(json.dumps({"code": code, "wall": wall, "phases": seconds}))
"""


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


def fresh_ask(cache: Path, repeats: int) -> float:
    """The fastest wall time of a closed-book ``ask`` in a fresh workspace."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as workspace:
            env = os.environ | {"CL_WORKSPACE": workspace, "CL_CACHE_DIR": str(cache)}
            times.append(_cli(ASK, env)[0])
    return min(times)


def phases(args: list[str], cache: Path) -> dict[str, float]:
    """Seconds of each of :data:`PHASES` in one profiled run of ``continual-learning ARGS`` in a
    fresh workspace; "start-up and the rest" is the wall time the phases do not cover."""
    with tempfile.TemporaryDirectory() as workspace:
        env = os.environ | {"CL_WORKSPACE": workspace, "CL_CACHE_DIR": str(cache)}
        done = subprocess.run(
            [sys.executable, "-c", PROFILE, json.dumps(PHASES), *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=1800,
        )
    if done.returncode != 0:
        raise SystemExit(f"profiled {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    found = {name: round(s, 2) for name, s in result["phases"].items() if s > 0}
    top = sum(s for name, s in found.items() if not name.startswith(" "))
    return (
        {"wall (profiled)": round(result["wall"], 2)}
        | found
        | {"start-up and the rest": round(result["wall"] - top, 2)}
    )


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
    parser.add_argument("--engines", default="ttt-e2e,replay-lora,doc2lora")
    parser.add_argument("--repeats", type=int, default=2, help="runs per cache state (min kept)")
    parser.add_argument("--phases", action="store_true", help="also profile one run of each")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    documents, questions = fictional_fact_set()
    question = next(q.question for q in questions if q.doc_id == documents[0].id)
    rows, profiles = [], {}
    with tempfile.TemporaryDirectory() as folder:
        document = Path(folder) / f"{documents[0].id}.txt"
        document.write_text(documents[0].text, encoding="utf-8")
        cache = Path(folder) / "cache"
        ask = fresh_ask(cache, args.repeats)
        for engine in args.engines.split(","):
            row = measure(engine, document, question, args.repeats)
            row["x_ask_cold"] = round(float(row["cold_seconds"]) / ask, 2)  # type: ignore[arg-type]
            row["x_ask_cached"] = round(float(row["cached_seconds"]) / ask, 2)  # type: ignore[arg-type]
            rows.append(row)
        if args.phases:
            profiles["ask --engine closed-book"] = phases(ASK, cache)
            for engine in args.engines.split(","):
                learn = ["learn", "--engine", engine, str(document)]
                phases(learn, cache)  # fills the cache for this engine
                profiles[f"learn --engine {engine}"] = phases(learn, cache)
    console = Console()
    console.print(result_table(rows, ask))
    for command, seconds in profiles.items():
        console.print(phase_table(command, seconds))
    if args.json:
        record = {
            "command": reproducing_command(),
            "environment": run_environment(),
            "ask_seconds": round(ask, 2),
            "rows": rows,
            "phases": profiles,
        }
        atomic_write_json(args.json, record)
    return 0 if all(r["same_answer"] for r in rows) else 1


def result_table(rows: list[dict[str, object]], ask: float) -> Table:
    table = Table(
        title=f"learn of one paragraph, fresh workspace; a fresh closed-book ask: {ask:.2f} s"
    )
    columns = (
        "engine",
        "empty cache s",
        "cached s",
        "speedup",
        "same answer",
        "x ask (empty)",
        "x ask (cached)",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "engine" else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    return table


def phase_table(command: str, seconds: dict[str, float]) -> Table:
    table = Table(title=f"where {command} spends its seconds (cProfile, caches warm)")
    table.add_column("phase")
    table.add_column("s", justify="right")
    for name, value in seconds.items():
        table.add_row(name, f"{value:.2f}")
    return table


if __name__ == "__main__":
    sys.exit(main())
