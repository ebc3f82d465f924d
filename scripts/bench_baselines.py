"""Floor and ceiling, measured: closed-book vs in-context on the fictional facts and on SQuAD.

Every engine learns the same documents, then answers the same questions; answers are scored with
the official SQuAD metrics plus ``contains``. Prints a table and writes JSON (every answer kept).

    .venv/bin/python scripts/bench_baselines.py --squad-n 8 --json assets/baselines.json
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from rich.console import Console

from benchlib import (
    REPO,
    SQUAD_DEV,
    QASet,
    Variant,
    add_recovery,
    print_table,
    run_variant,
    squad_set,
    write_report,
)
from continual_learning.config.loader import load_config
from continual_learning.core.backbone import load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.ui.progress import progress_bars

VARIANTS = [Variant("closed-book", "closed-book"), Variant("in-context", "in-context")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV, help="SQuAD JSON (v1.1 or v2.0)")
    parser.add_argument("--squad-n", type=int, default=8, help="SQuAD paragraphs (0 to skip)")
    parser.add_argument("--per-paragraph", type=int, default=5, help="questions per paragraph")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "baselines.json")
    args = parser.parse_args()

    console = Console()
    config = load_config()
    generation = dataclasses.replace(config.generation, max_new_tokens=args.max_new_tokens)
    config = dataclasses.replace(config, generation=generation)
    backbone = load_backbone(config.model)
    sets = [QASet("fictional-facts", *fictional_fact_set())]
    if args.squad_n > 0 and args.squad.is_file():
        sets.append(squad_set(args.squad, args.squad_n, args.per_paragraph, args.seed))
    elif args.squad_n > 0:
        console.print(f"[yellow]SQuAD file not found at {args.squad}: skipping the SQuAD set[/]")
    results = []
    with progress_bars() as on_event:
        for qa_set in sets:
            rows = [run_variant(v, qa_set, backbone, config, on_event) for v in VARIANTS]
            add_recovery(rows)
            results.append({"set": qa_set.name, "questions": len(qa_set.questions), "rows": rows})
    print_table(console, "Floor (closed-book) and ceiling (in-context)", results)
    write_report(args.json, backbone, config, results)
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
