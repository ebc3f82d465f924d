"""JitRL MVP and Full, measured against each other and against the floor and ceiling.

In one run, on the fictional-fact set and on SQuAD paragraphs: closed-book, in-context, MVP with
and without its logit bias, Full with and without its reward-guided modulation. Prints a table and
writes JSON with every answer; also prints Full's generate time as a multiple of MVP's.

    .venv/bin/python scripts/bench_jitrl.py --squad-n 8 --json assets/jitrl.json
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

VARIANTS = [
    Variant("closed-book", "closed-book"),
    Variant("in-context", "in-context"),
    Variant("jitrl-mvp", "jitrl-mvp"),
    Variant("jitrl-mvp (no bias)", "jitrl-mvp", {"bias_strength": 0.0}),
    Variant("jitrl-full", "jitrl-full"),
    Variant("jitrl-full (no modulation)", "jitrl-full", {"modulation": False}),
]


def speed_ratio(rows: list[dict]) -> float | None:
    """Full's seconds per answer over MVP's, both with their defaults, on the same questions."""
    by_label = {r["variant"]: r for r in rows}
    mvp, full = by_label.get("jitrl-mvp"), by_label.get("jitrl-full")
    if not mvp or not full:
        return None
    return round(full["seconds_per_answer"] / mvp["seconds_per_answer"], 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV, help="SQuAD JSON (v1.1 or v2.0)")
    parser.add_argument("--squad-n", type=int, default=8, help="SQuAD paragraphs (0 to skip)")
    parser.add_argument("--per-paragraph", type=int, default=5, help="questions per paragraph")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--variants", help="comma-separated labels to run (default: all)")
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "jitrl.json")
    args = parser.parse_args()

    console = Console()
    config = load_config()
    generation = dataclasses.replace(config.generation, max_new_tokens=args.max_new_tokens)
    config = dataclasses.replace(config, generation=generation)
    backbone = load_backbone(config.model)
    variants = VARIANTS
    if args.variants:
        wanted = {v.strip() for v in args.variants.split(",")}
        variants = [v for v in VARIANTS if v.label in wanted]
    sets = [QASet("fictional-facts", *fictional_fact_set())]
    if args.squad_n > 0 and args.squad.is_file():
        sets.append(squad_set(args.squad, args.squad_n, args.per_paragraph, args.seed))
    elif args.squad_n > 0:
        console.print(f"[yellow]SQuAD file not found at {args.squad}: skipping the SQuAD set[/]")
    results = []
    with progress_bars() as on_event:
        for qa_set in sets:
            rows = [run_variant(v, qa_set, backbone, config, on_event) for v in variants]
            add_recovery(rows)
            results.append(
                {
                    "set": qa_set.name,
                    "questions": len(qa_set.questions),
                    "full_over_mvp_seconds": speed_ratio(rows),
                    "rows": rows,
                }
            )
    print_table(console, "JitRL MVP and Full (recovery on contains)", results)
    for result in results:
        console.print(
            f"{result['set']}: Full / MVP generate time = {result['full_over_mvp_seconds']}"
        )
    write_report(args.json, backbone, config, results)
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
