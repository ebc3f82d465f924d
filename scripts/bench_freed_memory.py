"""What keeping freed memory in the process (``model.reuse_freed_memory``) does to speed.

Each setting runs in a fresh process (glibc's allocator is set once per process), the two
alternating, ``--repeats`` times each. A process loads the model, then times each workload:
the closed-book and the in-context baseline answering the shipped fact set's questions (the
in-context prompts hold all twelve documents) at the default batch size, and one engine
learning the first documents. Per workload and setting: wall seconds, the CPU seconds spent in
the program and in the kernel, the page faults, and whether every answer equals the other
setting's (the setting must change no number, only where memory comes from).

    .venv/bin/python scripts/bench_freed_memory.py --json assets/freed-memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
SETTINGS = ("false", "true")
CHILD_MARK = "FREED-MEMORY-RESULT "


def _usage() -> tuple[float, float, int]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime, usage.ru_minflt


def _timed(name: str, work) -> dict:  # type: ignore[no-untyped-def]
    user, system, faults = _usage()
    started = time.perf_counter()
    answers = work()
    wall = time.perf_counter() - started
    user2, system2, faults2 = _usage()
    return {
        "workload": name,
        "wall": round(wall, 2),
        "user": round(user2 - user, 2),
        "system": round(system2 - system, 2),
        "page_faults": faults2 - faults,
        "answers": answers,
    }


def child(documents: int, learner: str) -> int:
    """One process: load, then every workload, printed as one JSON line."""
    from continual_learning.config.loader import load_config
    from continual_learning.core.backbone import load_backbone
    from continual_learning.core.questions import fictional_fact_set
    from continual_learning.engines.registry import create_engine, get_spec

    config = load_config()
    backbone = load_backbone(config.model)
    docs, questions = fictional_fact_set()
    prompts = [q.question for q in questions]
    batch = config.harness.batch_size
    results = []
    for name in ("closed-book", "in-context"):
        engine = create_engine(get_spec(name).key, backbone, config)
        for document in docs:
            engine.learn(document.text, doc_id=document.id)
        work = lambda engine=engine: engine.generate_many(prompts, batch_size=batch)  # noqa: E731
        results.append(_timed(f"{name} answers {len(prompts)} at b{batch}", work))
    engine = create_engine(get_spec(learner).key, backbone, config)

    def learn() -> list[str]:
        """Each document's training losses, as text: the same in both settings or not."""
        reports = [engine.learn(d.text, doc_id=d.id) for d in docs[:documents]]
        return [repr(report.losses) for report in reports]

    results.append(_timed(f"{learner} learns {documents} documents", learn))
    print(CHILD_MARK + json.dumps(results), flush=True)
    return 0


def run_child(setting: str, documents: int, learner: str) -> list[dict]:
    env = {**os.environ, "CL__MODEL__REUSE_FREED_MEMORY": setting}
    command = [sys.executable, __file__, "--child", "--documents", str(documents)]
    done = subprocess.run(
        [*command, "--learner", learner], env=env, capture_output=True, text=True, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(CHILD_MARK)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the child process failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len(CHILD_MARK) :])


def summarise(runs: dict[str, list[list[dict]]]) -> list[dict]:
    """Per workload and setting: the median of the repeats, and whether answers matched."""
    rows = []
    workloads = [r["workload"] for r in runs[SETTINGS[0]][0]]
    for index, workload in enumerate(workloads):
        answers = {s: [run[index]["answers"] for run in runs[s]] for s in SETTINGS}
        same = all(a == answers[SETTINGS[0]][0] for s in SETTINGS for a in answers[s])
        for setting in SETTINGS:
            measured = [run[index] for run in runs[setting]]
            row = {"workload": workload, "reuse_freed_memory": setting == "true", "same": same}
            for key in ("wall", "user", "system", "page_faults"):
                row[key] = median(m[key] for m in measured)
            row["walls"] = [m["wall"] for m in measured]
            rows.append(row)
    return rows


def table(rows: list[dict]) -> Table:
    out = Table(title="model.reuse_freed_memory: median of the repeats")
    for column in ("workload", "reuse", "wall s", "user s", "kernel s", "page faults", "same"):
        out.add_column(column, justify="left" if column == "workload" else "right")
    for row in rows:
        out.add_row(
            row["workload"],
            "yes" if row["reuse_freed_memory"] else "no",
            f"{row['wall']:.1f}",
            f"{row['user']:.1f}",
            f"{row['system']:.1f}",
            f"{row['page_faults']:,}",
            "yes" if row["same"] else "NO",
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--documents", type=int, default=2, help="documents the learner learns")
    parser.add_argument("--learner", default="doc2lora", help="the engine whose learning is timed")
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "freed-memory.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.documents, args.learner)

    from continual_learning.core.storage import atomic_write_json
    from continual_learning.harness.environment import run_environment
    from continual_learning.harness.outputs import reproducing_command

    console = Console()
    runs: dict[str, list[list[dict]]] = {s: [] for s in SETTINGS}
    for repeat in range(args.repeats):
        order = SETTINGS if repeat % 2 == 0 else SETTINGS[::-1]
        for setting in order:
            console.print(f"repeat {repeat + 1}: reuse_freed_memory={setting}")
            runs[setting].append(run_child(setting, args.documents, args.learner))
    rows = summarise(runs)
    console.print(table(rows))
    output = {
        "command": reproducing_command(),
        "environment": run_environment(),
        "repeats": args.repeats,
        "rows": rows,
    }
    atomic_write_json(args.json, output)
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
