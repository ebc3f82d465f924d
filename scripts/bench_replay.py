"""Replay-LoRA measured: does replay (and EWC) make LoRA forget less across a sequence of domains?

The fictional-fact set's twelve documents are split, in order, into three domains of four
documents (sixteen questions each). Each run learns the domains one after another, one refresh
cycle per domain, into one adapter, and after every step answers every domain's questions: the
accuracy matrix ``A[step][domain]`` (contains). Runs, side by side in one process:

- plain LoRA (no replay, no EWC), LoRA + replay, LoRA + replay + EWC,
  LoRA + replay + EWC + self-edits (the backbone's own facts and QA pairs);

with, from the matrix, the mean final accuracy and the accuracy BWT (mean change on the earlier
domains between just after learning them and the end; negative means forgetting), and from the
refresh cycles the anchor-perplexity BWT, FWT and KRS, and how often the rollback guard
(off in these runs, so the matrix shows each method unguarded) would have fired.

    .venv/bin/python scripts/bench_replay.py --json assets/replay.json --plot assets/replay.png
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

from continual_learning.config.fields import parse_text_value, section_fields
from continual_learning.config.loader import load_config
from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone, load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.engines.registry import create_engine
from continual_learning.engines.replay_lora import ReplayLoraConfig
from continual_learning.harness.evaluate import evaluate
from continual_learning.harness.outputs import reproducing_command
from continual_learning.types import Document, QAItem
from continual_learning.ui.progress import progress_bars

REPO = Path(__file__).resolve().parents[1]
DOMAINS = 3
# Rollback off so the matrix shows what each method itself does; the cycles whose BWT is below
# ``rollback_bwt`` (where the guard would have undone the cycle) are counted instead.
RUNS: dict[str, dict[str, Any]] = {
    "plain LoRA": {"min_replay_ratio": 0.0, "ewc": False, "auto_rollback": False},
    "LoRA + replay": {"ewc": False, "auto_rollback": False},
    "LoRA + replay + EWC": {"ewc": True, "auto_rollback": False},
    "LoRA + replay + EWC + self-edits": {"ewc": True, "self_edit": True, "auto_rollback": False},
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainData:
    name: str
    documents: list[Document]
    questions: list[QAItem]


def fact_domains() -> list[DomainData]:
    documents, questions = fictional_fact_set()
    size = len(documents) // DOMAINS
    domains = []
    for index in range(DOMAINS):
        group = documents[index * size : (index + 1) * size]
        ids = {d.id for d in group}
        domains.append(
            DomainData(
                name=f"domain {index + 1}",
                documents=group,
                questions=[q for q in questions if q.doc_id in ids],
            )
        )
    return domains


def accuracies(  # type: ignore[no-untyped-def]
    engine, domains: list[DomainData], max_new_tokens: int, batch_size: int
) -> list[float]:
    return [
        round(
            evaluate(
                engine, d.questions, max_new_tokens=max_new_tokens, batch_size=batch_size
            ).summary.contains,
            4,
        )
        for d in domains
    ]


def run_sequence(
    label: str,
    backbone: Backbone,
    config: AppConfig,
    domains: list[DomainData],
    base_row: list[float],
    max_new_tokens: int,
    on_event,  # type: ignore[no-untyped-def]
) -> dict[str, Any]:
    engine = create_engine("replay-lora", backbone, config)
    matrix = [base_row]
    started = time.perf_counter()
    for domain in domains:
        examples = []
        for document in domain.documents:
            examples += engine.new_examples(
                document.text, source=document.id, first=len(examples), on_event=on_event
            )
        engine.cycle(examples, on_event=on_event)
        matrix.append(accuracies(engine, domains, max_new_tokens, config.harness.batch_size))
    seconds = time.perf_counter() - started
    cycles = engine.cycles()
    engine.clear()
    return {
        "run": label,
        "config": dataclasses.asdict(config.engine("replay_lora")),
        "matrix": matrix,
        "final_mean_accuracy": round(statistics.mean(matrix[-1]), 4),
        "accuracy_bwt": accuracy_bwt(matrix),
        "cycles": [c.to_dict() for c in cycles],
        "anchor_bwt": [c.bwt for c in cycles],
        "fwt": [c.fwt for c in cycles],
        "krs": cycles[-1].krs,
        "rollbacks": sum(c.rolled_back for c in cycles),
        "rollback_would_fire": sum(
            c.bwt < config.engine("replay_lora").rollback_bwt for c in cycles
        ),
        "seconds": round(seconds, 1),
    }


def accuracy_bwt(matrix: list[list[float]]) -> float:
    """Mean over earlier domains j of A[final][j] - A[after j][j] (matrix row 0 = before)."""
    final = matrix[-1]
    steps = len(matrix) - 1
    return round(statistics.mean(final[j] - matrix[j + 1][j] for j in range(steps - 1)), 4)


def with_settings(config: AppConfig, overrides: dict[str, Any]) -> AppConfig:
    section = dataclasses.replace(config.engine("replay_lora"), **overrides)
    return dataclasses.replace(config, engines=dict(config.engines) | {"replay_lora": section})


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``--set epochs=4`` style overrides of the replay_lora section, typed by the schema."""
    fields = section_fields(ReplayLoraConfig)
    overrides = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        if key not in fields:
            raise SystemExit(f"--set {pair}: replay_lora has no setting '{key}'")
        overrides[key] = parse_text_value(text, fields[key][1])
    return overrides


def matrix_table(result: dict[str, Any], domains: list[DomainData]) -> Table:
    table = Table(title=f"{result['run']}: contains accuracy after each step")
    table.add_column("after")
    for domain in domains:
        table.add_column(domain.name, justify="right")
    for step, row in enumerate(result["matrix"]):
        label = "nothing learned" if step == 0 else f"learning {domains[step - 1].name}"
        table.add_row(label, *(f"{a:.3f}" for a in row))
    return table


def summary_table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="Replay-LoRA: forgetting across three domains")
    for column in (
        "run",
        "final mean acc",
        "acc BWT",
        "anchor BWT per cycle",
        "FWT per cycle",
        "KRS",
        "rollback would fire",
        "seconds",
    ):
        table.add_column(column, justify="left" if column == "run" else "right")
    for r in results:
        table.add_row(
            r["run"],
            f"{r['final_mean_accuracy']:.3f}",
            f"{r['accuracy_bwt']:+.3f}",
            " ".join(f"{b:+.2f}" for b in r["anchor_bwt"]),
            " ".join("-" if f is None else f"{f:+.2f}" for f in r["fwt"]),
            f"{r['krs']:.1f}",
            str(r["rollback_would_fire"]),
            f"{r['seconds']:.0f}",
        )
    return table


def write_plot(results: list[dict[str, Any]], domains: list[DomainData], path: Path) -> None:
    """One panel per domain: its accuracy after each step, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(domains), figsize=(4.2 * len(domains), 3.6), sharey=True)
    steps = list(range(len(domains) + 1))
    for j, (axis, domain) in enumerate(zip(axes, domains, strict=True)):
        for r in results:
            axis.plot(steps, [row[j] for row in r["matrix"]], marker="o", label=r["run"])
        axis.axvline(j + 1, color="grey", linestyle=":", linewidth=1)
        axis.set_title(f"{domain.name} (learned at step {j + 1})")
        axis.set_xlabel("domains learned")
        axis.set_xticks(steps)
    axes[0].set_ylabel("contains accuracy")
    axes[-1].legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="all", help="comma-separated run names, or all")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "replay.json")
    parser.add_argument("--plot", type=Path, default=None, help="forgetting curves (.png)")
    args = parser.parse_args()

    console = Console()
    config = with_settings(load_config(), parse_sets(args.set))
    backbone = load_backbone(config.model)
    domains = fact_domains()
    runs = RUNS if args.runs == "all" else {k: RUNS[k] for k in args.runs.split(",")}
    closed = create_engine("closed-book", backbone, config)
    base_row = accuracies(closed, domains, args.max_new_tokens, config.harness.batch_size)
    results = []
    with progress_bars() as on_event:
        for label, overrides in runs.items():
            run_config = with_settings(config, overrides)
            results.append(
                run_sequence(
                    label, backbone, run_config, domains, base_row, args.max_new_tokens, on_event
                )
            )
    for result in results:
        console.print(matrix_table(result, domains))
    console.print(summary_table(results))
    output = {
        "command": reproducing_command(),
        "model": config.model.name,
        "device": str(backbone.device),
        "torch_threads": torch.get_num_threads(),
        "domains": [
            {
                "name": d.name,
                "documents": [doc.id for doc in d.documents],
                "questions": len(d.questions),
            }
            for d in domains
        ],
        "runs": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {args.json}")
    if args.plot is not None:
        write_plot(results, domains, args.plot)
        console.print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
