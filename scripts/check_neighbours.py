"""Check the shipped set's neighbour questions: the untouched model answers each, and whether a
weight engine's scope would send it to the learned weights.

A neighbour is a real-world fact near a learned document's subject ("What is the national
currency of Japan?" beside the island nation of Velmoria). It measures locality only if the
model answers it before learning (``contains``, closed-book, as a comparison asks it), and it
tests the learned weights only if the scope (``core/scope.py``, TF-IDF cosine to the learned
passages, at ``--threshold``) routes it in once all twelve documents are learned; one it keeps
out measures the scope, not the weights. Prints a table and writes JSON.

    .venv/bin/python scripts/check_neighbours.py --json assets/check-neighbours.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.core.backbone import load_backbone
from continual_learning.core.questions import fictional_fact_probes, fictional_fact_set
from continual_learning.core.scope import Scope
from continual_learning.core.scoring import score_answer
from continual_learning.core.storage import atomic_write_json
from continual_learning.engines.registry import create_engine
from continual_learning.harness.outputs import reproducing_command

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.2, help="scope_threshold (0.2)")
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "check-neighbours.json")
    args = parser.parse_args()
    config = load_config()
    documents, _ = fictional_fact_set()
    neighbours = [q for q in fictional_fact_probes() if q.kind == "neighbour"]
    scope = Scope(args.threshold)
    for document in documents:
        scope.add(document.text)
    closed_book = create_engine("closed-book", load_backbone(config.model), config)
    answers = closed_book.generate_many(
        [q.question for q in neighbours], batch_size=config.harness.batch_size
    )
    rows = [
        {
            "id": q.id,
            "question": q.question,
            "answer": answer,
            "closed_book_contains": score_answer(answer, q.answers).contains,
            "routed": scope.covers(q.question),
            "similarity": round(scope.similarity(q.question), 3),
        }
        for q, answer in zip(neighbours, answers, strict=True)
    ]
    Console().print(_table(rows, args.threshold))
    answered = sum(int(r["closed_book_contains"]) for r in rows)
    routed = sum(r["routed"] for r in rows)
    summary = {"neighbours": len(rows), "answered_closed_book": answered, "routed": routed}
    atomic_write_json(
        args.json,
        {"command": reproducing_command(), "threshold": args.threshold} | summary | {"rows": rows},
    )
    print(f"{answered}/{len(rows)} answered closed-book, {routed} routed in; wrote {args.json}")
    return 0 if answered == len(rows) else 1


def _table(rows: list[dict], threshold: float) -> Table:
    table = Table(title=f"Neighbour questions: closed-book answers, scope at {threshold:g}")
    for column in ("id", "question", "closed-book answer", "ok", "routed", "similarity"):
        table.add_column(column, overflow="fold")
    for r in rows:
        ok, routed = "yes" if r["closed_book_contains"] else "NO", "yes" if r["routed"] else "-"
        table.add_row(
            r["id"], r["question"], r["answer"][:60], ok, routed, f"{r['similarity']:.2f}"
        )
    return table


if __name__ == "__main__":
    sys.exit(main())
