"""Does an engine recall a fact set's first documents worse because they came first, or because
of what they are? Each engine learns the set once in its order and once reversed, in one
process, and answers every question after; `contains` per third of the documents is reported by
the documents (the same third in both runs), so a recency effect shows as the thirds trading
places between orders, and a property of the documents as the same shape twice.

    .venv/bin/python scripts/bench_learning_order.py --fact-set test --engines replay-lora \\
        --json assets/learning-order.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.core.backbone import load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.scoring import score_answer
from continual_learning.core.storage import atomic_write_json
from continual_learning.data import FACT_SETS
from continual_learning.engines.registry import create_engine, get_spec
from continual_learning.harness.environment import run_environment
from continual_learning.harness.outputs import reproducing_command

THIRDS = ("first", "middle", "last")


def thirds_of(ids: list[str]) -> dict[str, str]:
    """Document id -> the third of the set (in its shipped order) it belongs to."""
    size = len(ids)
    return {d: THIRDS[min(2, 3 * i // size)] for i, d in enumerate(ids)}


def measure(name: str, order: str, fact_set: str, config: object, backbone: object) -> dict:
    documents, questions = fictional_fact_set(fact_set)
    third = thirds_of([d.id for d in documents])
    learned = documents if order == "as shipped" else list(reversed(documents))
    engine = create_engine(get_spec(name).key, backbone, config)  # type: ignore[arg-type]
    started = time.perf_counter()
    for document in learned:
        engine.learn(document.text, doc_id=document.id)
    seconds = time.perf_counter() - started
    batch = config.harness.batch_size  # type: ignore[attr-defined]
    answers = engine.generate_many([q.question for q in questions], batch_size=batch)
    engine.clear()
    hits: dict[str, list[float]] = {t: [] for t in THIRDS}
    for question, answer in zip(questions, answers, strict=True):
        hits[third[question.doc_id]].append(score_answer(answer, question.answers).contains)
    by_third = {t: round(sum(v) / len(v), 3) for t, v in hits.items()}
    every = [x for v in hits.values() for x in v]
    return {
        "engine": name,
        "order": order,
        "contains": round(sum(every) / len(every), 3),
        "by_third_of_the_set": by_third,
        "learn_seconds": round(seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="replay-lora", help="comma-separated")
    parser.add_argument("--fact-set", choices=FACT_SETS, default="test")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = load_config()
    backbone = load_backbone(config.model)
    rows = [
        measure(name, order, args.fact_set, config, backbone)
        for name in args.engines.split(",")
        for order in ("as shipped", "reversed")
    ]
    table = Table(title=f"contains by third of the {args.fact_set} set (its shipped order)")
    for column in ("engine", "learned", "contains", *THIRDS, "learn s"):
        table.add_column(column)
    for row in rows:
        thirds = [f"{row['by_third_of_the_set'][t]:.3f}" for t in THIRDS]
        cells = [row["engine"], row["order"], f"{row['contains']:.3f}", *thirds]
        table.add_row(*cells, f"{row['learn_seconds']:.0f}")
    Console().print(table)
    if args.json:
        record = {"command": reproducing_command(), "environment": run_environment(), "rows": rows}
        atomic_write_json(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
