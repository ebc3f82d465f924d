"""What ``generation.stop_repeats`` does to a comparison's scores, read off its saved answers.

With the stop on, an answer is exactly the stop-less answer cut where it falls into a loop, each
sentence kept once (``core/scoring.without_repetition``; ``tests/cli/test_answers.py`` checks that
on the real model), so a report written with the stop off holds both: its answers as they are,
and cut. For every engine of every report: ``contains``, F1 and the share of answers that repeat
themselves, off -> on, with the official SQuAD metrics.

    .venv/bin/python scripts/rescore_repetition.py assets/compare-facts.json \\
        assets/compare-squad50-heldout.json --json assets/stop-repeats.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from continual_learning.core.scoring import (
    repeats_itself,
    score_answer,
    summarize,
    without_repetition,
)
from continual_learning.harness.outputs import reproducing_command


def rescore(answers: list[dict]) -> dict[str, dict[str, float]]:
    """Scores of the answers as saved ("off") and cut at their loop ("on")."""
    result = {}
    for mode, cut in (("off", lambda a: a), ("on", without_repetition)):
        replies = [cut(a["answer"]) for a in answers]
        summary = summarize(
            [score_answer(r, a["gold"]) for r, a in zip(replies, answers, strict=True)]
        )
        result[mode] = {
            "contains": round(summary.contains, 4),
            "f1": round(summary.f1, 4),
            "repeating": sum(repeats_itself(r) for r in replies),
            "answers": len(replies),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", type=Path, nargs="+", help="comparison reports (--json)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    console = Console()
    rows = []
    for path in args.reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        for engine in report["engines"]:
            if engine.get("error") or not engine.get("answers"):
                continue
            rows.append(
                {"report": path.name, "engine": engine["label"]} | rescore(engine["answers"])
            )
    table = Table(title="generation.stop_repeats off -> on, re-scored from saved answers")
    for column in ("report", "engine", "contains", "F1", "repeating answers"):
        table.add_column(column, justify="left" if column in ("report", "engine") else "right")
    for row in rows:
        off, on = row["off"], row["on"]
        table.add_row(
            row["report"],
            row["engine"],
            f"{off['contains']:.3f} -> {on['contains']:.3f}",
            f"{off['f1']:.3f} -> {on['f1']:.3f}",
            f"{off['repeating']}/{off['answers']} -> {on['repeating']}/{on['answers']}",
        )
    console.print(table)
    fell = [
        r
        for r in rows
        if r["on"]["contains"] < r["off"]["contains"] or r["on"]["f1"] < r["off"]["f1"]
    ]
    console.print(f"rows where contains or F1 fell: {len(fell)} of {len(rows)}")
    if args.json is not None:
        output = {"command": reproducing_command(), "rows": rows}
        args.json.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
