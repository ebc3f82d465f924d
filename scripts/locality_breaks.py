"""What breaks where locality falls: every neighbour question closed-book answers and an engine
no longer does, with both answers, and whether the engine's answer borrows a learned document.

A neighbour is a real-world fact near a learned document's subject ("What is the national
currency of Japan?" beside the island nation of Velmoria); locality is the share of those the
untouched model answers that an engine still answers (``harness/runner.py``, ``with_locality``).
This reads a saved comparison (``--json``, or a sweep's merged ``report-*.json``), prints one
table per engine below ``--below`` and writes them as JSON:

    .venv/bin/python scripts/locality_breaks.py assets/sweeps/facts-all/report-facts.json \
        --json assets/locality-breaks.json

"Borrowed" lists the words of the engine's answer that only the learned documents have: words of
the documents that the package's general prose (its calibration and held-out corpora), the
question, the closed-book answer and the gold answers do not contain. A broken neighbour that
borrows was answered with a learned document; one that borrows nothing was changed otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from continual_learning.core.corpus import general_paragraphs, heldout_paragraphs
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.storage import atomic_write_json
from continual_learning.types import AnswerRecord, ComparisonReport, EngineResult

_WORD = re.compile(r"[a-z0-9]{3,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a comparison report (JSON)")
    parser.add_argument("--below", type=float, default=0.9, help="engines under this locality")
    parser.add_argument("--json", type=Path, help="write the broken neighbours here")
    args = parser.parse_args(argv)
    try:
        report = ComparisonReport.from_dict(json.loads(args.report.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: cannot read {args.report} as a comparison report: {exc}", file=sys.stderr)
        return 2
    floor = next((r for r in report.engines if r.label == "closed-book" and not r.failed), None)
    if floor is None:
        print(
            "error: the report has no closed-book row to measure locality against", file=sys.stderr
        )
        return 2
    learned_words = _learned_words()
    known = {a.question_id: a for a in floor.answers if a.kind == "neighbour" and a.score.contains}
    rows = {
        r.label: _broken(r, known, learned_words)
        for r in report.engines
        if not r.failed and r.locality is not None and r.locality < args.below
    }
    _print(report, rows, args.below)
    if args.json:
        atomic_write_json(args.json, {"report": str(args.report), "below": args.below} | rows)
    return 0


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _learned_words() -> set[str]:
    """Words of the shipped fact documents that general prose does not use."""
    documents, _ = fictional_fact_set("shipped")
    general = general_paragraphs("builtin", 10_000, config_key="builtin") + heldout_paragraphs(100)
    return set().union(*(_words(d.text) for d in documents)) - _words(" ".join(general))


def _broken(row: EngineResult, known: dict[str, AnswerRecord], learned: set[str]) -> dict:
    answers = {a.question_id: a for a in row.answers if a.kind == "neighbour"}
    broken = []
    for question_id, before in known.items():
        after = answers.get(question_id)
        if after is None or after.score.contains:
            continue
        seen = _words(" ".join([before.question, before.answer, *before.gold]))
        borrowed = sorted((_words(after.answer) & learned) - seen)
        broken.append(
            {
                "question": before.question,
                "gold": list(before.gold),
                "closed_book": before.answer,
                "engine": after.answer,
                "borrowed": borrowed,
            }
        )
    return {"locality": row.locality, "neighbours": len(known), "broken": broken}


def _print(report: ComparisonReport, rows: dict[str, dict], below: float) -> None:
    console = Console(width=160)
    summary = Table(title=f"Locality below {below} on {report.dataset}")
    for column in ("engine", "locality", "broken", "borrowing a learned document"):
        summary.add_column(column)
    for label, row in rows.items():
        borrowed = sum(bool(b["borrowed"]) for b in row["broken"])
        summary.add_row(label, f"{row['locality']:.2f}", str(len(row["broken"])), str(borrowed))
    console.print(summary)
    for label, row in rows.items():
        table = Table(title=label, show_lines=False)
        for column in ("question", "closed-book", label, "borrowed"):
            table.add_column(column, overflow="fold")
        for b in row["broken"]:
            table.add_row(
                b["question"], b["closed_book"][:80], b["engine"][:80], ", ".join(b["borrowed"])
            )
        console.print(table)


if __name__ == "__main__":
    raise SystemExit(main())
