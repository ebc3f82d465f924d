"""Floor and ceiling, measured: closed-book vs in-context on the fictional facts and on SQuAD.

Every engine learns the same documents, then answers the same questions; answers are scored with
the official SQuAD metrics plus ``contains``. Prints a table and writes JSON (every answer kept).

    .venv/bin/python scripts/bench_baselines.py                      # defaults below
    .venv/bin/python scripts/bench_baselines.py --squad-n 8 --json assets/baselines.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.core.backbone import load_backbone
from continual_learning.core.evaluate import evaluate
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.squad import load_squad, sample_paragraphs
from continual_learning.engines.registry import create_engine
from continual_learning.types import Document, QAItem
from continual_learning.ui.progress import progress_bars

REPO = Path(__file__).resolve().parents[1]
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad" / "dev-v2.0.json"
ENGINES = ("closed-book", "in-context")


def squad_set(
    path: Path, n: int, per_paragraph: int, seed: int
) -> tuple[list[Document], list[QAItem]]:
    """``n`` seeded paragraphs, up to ``per_paragraph`` questions each (unanswerable included)."""
    paragraphs = sample_paragraphs(load_squad(path), n, seed=seed)
    questions = [q for p in paragraphs for q in p.questions[:per_paragraph]]
    return [p.as_document() for p in paragraphs], questions


def run_set(name, documents, questions, backbone, config, on_event) -> dict:  # type: ignore[no-untyped-def]
    rows = []
    for engine_name in ENGINES:
        engine = create_engine(engine_name, backbone, config)
        started = time.perf_counter()
        for doc in documents:
            engine.learn(doc.text, doc_id=doc.id)
        learn_seconds = time.perf_counter() - started
        result = evaluate(engine, questions, on_event=on_event)
        engine.clear()
        rows.append(
            {
                "engine": engine_name,
                **dataclasses.asdict(result.summary),
                "learn_seconds": round(learn_seconds, 3),
                "seconds_per_answer": round(result.seconds_per_answer, 3),
                "answers": [dataclasses.asdict(r) for r in result.records],
            }
        )
    return {"set": name, "documents": len(documents), "questions": len(questions), "engines": rows}


def print_table(console: Console, results: list[dict]) -> None:
    table = Table(title="Floor (closed-book) and ceiling (in-context)")
    for column in ("set", "engine", "questions", "EM", "F1", "contains", "abstain", "s/answer"):
        table.add_column(column, justify="left" if column in ("set", "engine") else "right")
    for result in results:
        for row in result["engines"]:
            table.add_row(
                result["set"],
                row["engine"],
                str(row["count"]),
                f"{row['exact_match']:.3f}",
                f"{row['f1']:.3f}",
                f"{row['contains']:.3f}",
                f"{row['abstention_rate']:.3f}",
                f"{row['seconds_per_answer']:.2f}",
            )
    console.print(table)


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
    config = dataclasses.replace(
        config,
        generation=dataclasses.replace(config.generation, max_new_tokens=args.max_new_tokens),
    )
    backbone = load_backbone(config.model)
    sets = [("fictional-facts", *fictional_fact_set())]
    if args.squad_n > 0:
        if args.squad.is_file():
            sets.append(
                (
                    f"squad-{args.squad_n}",
                    *squad_set(args.squad, args.squad_n, args.per_paragraph, args.seed),
                )
            )
        else:
            console.print(
                f"[yellow]SQuAD file not found at {args.squad}: skipping the SQuAD set[/]"
            )
    with progress_bars() as on_event:
        results = [run_set(name, docs, qs, backbone, config, on_event) for name, docs, qs in sets]
    print_table(console, results)
    report = {
        "model": config.model.name,
        "backbone_fingerprint": backbone.fingerprint(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python scripts/bench_baselines.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {platform.system()}, device {backbone.device}",
        "max_new_tokens": args.max_new_tokens,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
