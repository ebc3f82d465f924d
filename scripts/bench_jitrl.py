"""JitRL MVP and Full, measured against each other and against the floor and ceiling.

In one run, on the fictional-fact set and on SQuAD paragraphs: closed-book, in-context, MVP with
and without its logit bias, Full with and without its reward-guided modulation (exact match, F1,
contains, recovery, generate seconds per answer). Prints the tables, Full's generate time as a
multiple of MVP's, and writes JSON with every answer.

    .venv/bin/python scripts/bench_jitrl.py --squad-n 8 --json assets/jitrl.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from rich.console import Console

from continual_learning.config.loader import load_config
from continual_learning.core.backbone import load_backbone
from continual_learning.harness import EngineRun, compare, fictional_fact_inputs, squad_inputs
from continual_learning.harness.outputs import reproducing_command
from continual_learning.types import ComparisonReport
from continual_learning.ui.progress import progress_bars
from continual_learning.ui.render import comparison_table

REPO = Path(__file__).resolve().parents[1]
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad" / "dev-v2.0.json"
RUNS = [
    EngineRun(engine="jitrl-mvp"),
    EngineRun(engine="jitrl-mvp", label="jitrl-mvp (no bias)", overrides={"bias_strength": 0.0}),
    EngineRun(engine="jitrl-full"),
    EngineRun(
        engine="jitrl-full", label="jitrl-full (no modulation)", overrides={"modulation": False}
    ),
]


def seconds_per_answer(report: ComparisonReport, label: str) -> float:
    row = next(r for r in report.engines if r.label == label)
    return row.eval_seconds / max(len(row.answers), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV, help="SQuAD JSON (v1.1 or v2.0)")
    parser.add_argument("--squad-n", type=int, default=8, help="SQuAD paragraphs (0 to skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "jitrl.json")
    args = parser.parse_args()

    console = Console()
    config = load_config()
    generation = dataclasses.replace(config.generation, max_new_tokens=args.max_new_tokens)
    config = dataclasses.replace(config, generation=generation)
    backbone = load_backbone(config.model)
    inputs = [fictional_fact_inputs()]
    if args.squad_n > 0 and args.squad.is_file():
        inputs.append(squad_inputs(args.squad, n=args.squad_n, seed=args.seed, heldout=0))
    elif args.squad_n > 0:
        console.print(f"[yellow]SQuAD file not found at {args.squad}: skipping SQuAD[/]")
    reports = []
    with progress_bars() as on_event:
        for item in inputs:
            reports.append(compare(RUNS, item, backbone, config, on_event=on_event))
    summary = {}
    for report in reports:
        console.print(comparison_table(report))
        ratio = seconds_per_answer(report, "jitrl-full") / seconds_per_answer(report, "jitrl-mvp")
        summary[report.dataset] = round(ratio, 3)
        console.print(f"{report.dataset}: Full / MVP generate seconds per answer = {ratio:.2f}")
    output = {
        "command": reproducing_command(),
        "full_over_mvp_seconds_per_answer": summary,
        "reports": [r.to_dict() for r in reports],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
