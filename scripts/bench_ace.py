"""ACE measured: what do 0, 1 and 3 Generate-Reflect-Curate loops buy on the fictional-fact set?

Each of the twelve documents gets its questions written once by the role LLM (timed), and the
same questions drive every run, so the runs differ only in the number of loops. A run learns
all twelve documents with ``num_loops`` loops each, then answers the set's 48 questions
(``harness/evaluate.py``: exact match, F1, contains). Reported per run: accuracy, playbook size,
bullets marked helpful (and harmful), how the Curator's replies were read (parsed / repaired /
fallback / rejected), the accuracy on the self-written questions at each loop, and the seconds
per loop. The in-context baseline (the documents without a playbook) is run beside them.

    .venv/bin/python scripts/bench_ace.py --json assets/ace.json --plot assets/ace.png

``--backend openai --base-url URL --model NAME`` (or ``ollama``) runs the roles on a server.
``--steps 1,4`` runs every loop count once per ``ace.questions_per_step`` (1: each question sees
the previous one's edits; 4: a document's four questions go through each role as one batch).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone, load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.engines.ace.engine import AceEngine
from continual_learning.engines.registry import create_engine
from continual_learning.harness.evaluate import evaluate
from continual_learning.harness.outputs import reproducing_command
from continual_learning.types import Document, QAItem
from continual_learning.ui.progress import progress_bars

REPO = Path(__file__).resolve().parents[1]


def answer(engine, questions, config: AppConfig, max_new_tokens: int, on_event):  # type: ignore[no-untyped-def]
    """The questions, answered as the harness answers them (``harness.batch_size`` at a time)."""
    return evaluate(
        engine,
        questions,
        max_new_tokens=max_new_tokens,
        batch_size=config.harness.batch_size,
        on_event=on_event,
    )


def with_ace(config: AppConfig, **overrides: Any) -> AppConfig:
    ace = dataclasses.replace(config.engine("ace"), **overrides)  # type: ignore[type-var]
    return dataclasses.replace(config, engines={**config.engines, "ace": ace})


def write_all_questions(
    engine: AceEngine, documents: list[Document]
) -> tuple[dict[str, list[QAItem]], float]:
    started = time.perf_counter()
    questions = {d.id: engine.write_questions(d.text, doc_id=d.id) for d in documents}
    return questions, time.perf_counter() - started


def run_with_loops(
    loops: int,
    step: int,
    backbone: Backbone,
    config: AppConfig,
    documents: list[Document],
    written: dict[str, list[QAItem]],
    questions: list[QAItem],
    max_new_tokens: int,
    on_event,  # type: ignore[no-untyped-def]
) -> dict[str, Any]:
    engine: AceEngine = create_engine(
        "ace", backbone, with_ace(config, num_loops=loops, questions_per_step=step)
    )  # type: ignore[assignment]
    started = time.perf_counter()
    for document in documents:
        engine.learn_with_questions(
            document.text, written[document.id], doc_id=document.id, on_event=on_event
        )
    learn_seconds = time.perf_counter() - started
    result = answer(engine, questions, config, max_new_tokens, on_event)
    records = engine.loops
    playbook = engine.playbook
    curator: dict[str, int] = {}
    for record in records:
        for outcome, count in record.curator.items():
            curator[outcome] = curator.get(outcome, 0) + count
    by_loop = {}
    for n in range(1, loops + 1):
        at = [r for r in records if r.loop == n]
        if at:
            by_loop[n] = round(sum(r.correct for r in at) / max(sum(r.questions for r in at), 1), 4)
    output = {
        "loops": loops,
        "questions_per_step": step,
        "exact_match": round(result.summary.exact_match, 4),
        "f1": round(result.summary.f1, 4),
        "contains": round(result.summary.contains, 4),
        "playbook_bullets": len(playbook),
        "bullets_marked_helpful": sum(b.helpful > 0 for b in playbook.bullets),
        "bullets_marked_harmful": sum(b.harmful > 0 for b in playbook.bullets),
        "helpful_tags": sum(r.helpful_tags for r in records),
        "harmful_tags": sum(r.harmful_tags for r in records),
        "loops_run": len(records),
        "self_question_accuracy_by_loop": by_loop,
        "curator": curator,
        "seconds_per_loop": round(statistics.mean(r.seconds for r in records), 2)
        if records
        else 0.0,
        "learn_seconds": round(learn_seconds, 1),
        "eval_seconds": round(result.seconds, 1),
        "playbook": playbook.to_json(),
        "loop_records": [dataclasses.asdict(r) for r in records],
        "answers": [dataclasses.asdict(a) for a in result.records],
    }
    engine.clear()
    return output


def in_context(
    backbone: Backbone,
    config: AppConfig,
    documents: list[Document],
    questions: list[QAItem],
    max_new_tokens: int,
    on_event,  # type: ignore[no-untyped-def]
) -> dict[str, float]:
    engine = create_engine("in-context", backbone, config)
    for document in documents:
        engine.learn(document.text, doc_id=document.id)
    result = answer(engine, questions, config, max_new_tokens, on_event)
    return {
        "exact_match": round(result.summary.exact_match, 4),
        "f1": round(result.summary.f1, 4),
        "contains": round(result.summary.contains, 4),
    }


def results_table(runs: list[dict[str, Any]], ceiling: dict[str, float]) -> Table:
    table = Table(title="ACE on the fictional-fact set (12 documents, 48 questions)")
    columns = (
        "run",
        "EM",
        "F1",
        "contains",
        "bullets",
        "helpful",
        "harmful",
        "self-Q acc by loop",
        "curator replies",
        "s/loop",
        "learn s",
    )
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("run", "curator replies") else "right"
        )
    table.add_row(
        "in-context (no playbook)",
        f"{ceiling['exact_match']:.3f}",
        f"{ceiling['f1']:.3f}",
        f"{ceiling['contains']:.3f}",
        *["-"] * 7,
    )
    for r in runs:
        by_loop = " ".join(f"{v:.2f}" for v in r["self_question_accuracy_by_loop"].values())
        curator = ", ".join(f"{k} {v}" for k, v in sorted(r["curator"].items()))
        table.add_row(
            f"ACE, {r['loops']} loops"
            + (f", {r['questions_per_step']} per step" if r["loops"] else ""),
            f"{r['exact_match']:.3f}",
            f"{r['f1']:.3f}",
            f"{r['contains']:.3f}",
            str(r["playbook_bullets"]),
            str(r["bullets_marked_helpful"]),
            str(r["bullets_marked_harmful"]),
            by_loop or "-",
            curator or "-",
            f"{r['seconds_per_loop']:.1f}",
            f"{r['learn_seconds']:.0f}",
        )
    return table


def write_plot(runs: list[dict[str, Any]], ceiling: dict[str, float], path: Path) -> None:
    """Accuracy and playbook size against the number of loops."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in runs if r["questions_per_step"] == runs[0]["questions_per_step"]]
    loops = [r["loops"] for r in runs]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for metric in ("contains", "f1", "exact_match"):
        left.plot(loops, [r[metric] for r in runs], marker="o", label=metric)
    left.axhline(ceiling["contains"], color="grey", linestyle=":", label="in-context contains")
    left.set_xlabel("loops per document")
    left.set_ylabel("accuracy on 48 questions")
    left.set_xticks(loops)
    left.legend(fontsize=7)
    right.bar([str(n) for n in loops], [r["playbook_bullets"] for r in runs], label="bullets")
    right.bar(
        [str(n) for n in loops], [r["bullets_marked_helpful"] for r in runs], label="marked helpful"
    )
    right.set_xlabel("loops per document")
    right.set_ylabel("playbook bullets")
    right.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", default="0,1,3", help="comma-separated loop counts")
    parser.add_argument(
        "--steps", default="1", help="comma-separated ace.questions_per_step values"
    )
    parser.add_argument("--backend", choices=("local", "ollama", "openai"), default=None)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--model", default=None, help="the server's model name")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: config")
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "ace.json")
    parser.add_argument("--plot", type=Path, default=None, help="accuracy vs loops (.png)")
    args = parser.parse_args()

    console = Console()
    config = load_config()
    server = {
        k: v
        for k, v in (("backend", args.backend), ("base_url", args.base_url), ("model", args.model))
        if v is not None
    }
    config = with_ace(config, **server)
    max_new_tokens = args.max_new_tokens or config.generation.max_new_tokens
    backbone = load_backbone(config.model)
    documents, questions = fictional_fact_set()
    writer: AceEngine = create_engine("ace", backbone, config)  # type: ignore[assignment]
    written, writing_seconds = write_all_questions(writer, documents)
    runs = []
    with progress_bars() as on_event:
        ceiling = in_context(backbone, config, documents, questions, max_new_tokens, on_event)
        steps = [int(n) for n in args.steps.split(",")]
        for loops in (int(n) for n in args.loops.split(",")):
            for step in steps if loops else steps[:1]:  # without loops the step changes nothing
                runs.append(
                    run_with_loops(
                        loops,
                        step,
                        backbone,
                        config,
                        documents,
                        written,
                        questions,
                        max_new_tokens,
                        on_event,
                    )
                )
    console.print(results_table(runs, ceiling))
    total = sum(len(q) for q in written.values())
    console.print(
        f"questions written: {total} for {len(documents)} documents in {writing_seconds:.1f} s "
        f"({writer.llm.name})"
    )
    output = {
        "command": reproducing_command(),
        "model": config.model.name,
        "role_llm": writer.llm.name,
        "device": str(backbone.device),
        "torch_threads": torch.get_num_threads(),
        "max_new_tokens": max_new_tokens,
        "ace_config": dataclasses.asdict(config.engine("ace")),
        "questions_written": {k: [dataclasses.asdict(q) for q in v] for k, v in written.items()},
        "question_writing_seconds": round(writing_seconds, 1),
        "in_context": ceiling,
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {args.json}")
    if args.plot:
        write_plot(runs, ceiling, args.plot)
        console.print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
