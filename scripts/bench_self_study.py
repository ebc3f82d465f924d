"""Self-study measured: what each objective and the forgetting guard do to the weight engines.

In one run on the default model, on one set (the shipped fictional facts, or SQuAD paragraphs of
the held-out articles), closed-book and in-context beside every variant asked for: each weight
engine under each objective (``nll``: next-token loss on the document; ``distill``: KL to the
in-context teacher on self-study prompts; ``mixed``: both), with each guard share, and for
Doc-to-LoRA each number of refinement steps (from the hypernetwork's LoRA, and from a zero LoRA):
``contains``, F1, recovery, held-out perplexity and QA before/after, learn seconds per document
and that as a multiple of one forward+backward pass over a document.

    .venv/bin/python scripts/bench_self_study.py --set facts --json assets/self-study-facts.json \\
        --plot assets/self-study-facts.png
    .venv/bin/python scripts/bench_self_study.py --set squad --n 20 --last-articles 5 \\
        --json assets/self-study-squad.json --plot assets/self-study-squad.png
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.core.backbone import load_backbone
from continual_learning.harness import EngineRun, compare, fictional_fact_inputs, squad_inputs
from continual_learning.harness.outputs import reproducing_command, write_plot
from continual_learning.harness.validation import forward_backward_seconds
from continual_learning.types import ComparisonReport
from continual_learning.ui.progress import progress_bars
from continual_learning.ui.render import comparison_table, forgetting_table

REPO = Path(__file__).resolve().parents[1]
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad" / "dev-v2.0.json"
SECTIONS = {"ttt-e2e": "ttt_e2e", "replay-lora": "replay_lora"}


def variant_runs(
    engines: list[str], objectives: list[str], guards: list[float], refine: list[str]
) -> list[EngineRun]:
    """Every engine x objective x guard share (TTT-E2E, Replay-LoRA), and Doc-to-LoRA's
    refinement variants ("0", "N" from the hypernetwork, "N-zero" from a zero LoRA)."""
    runs = []
    for engine in engines:
        if engine == "doc2lora":
            for variant in refine:
                steps, _, start = variant.partition("-")
                source = "training" if start else "hypernetwork"
                overrides = {"refine_steps": int(steps), "lora_source": source}
                label = f"doc2lora refine {steps}" + (" from zero" if start else "")
                runs.append(EngineRun(engine=engine, label=label, overrides=overrides))
            continue
        for objective in objectives:
            for guard in guards:
                overrides = {"objective": objective, "guard_share": guard}
                label = f"{engine} {objective}" + (f" guard {guard:g}" if guard else "")
                runs.append(EngineRun(engine=engine, label=label, overrides=overrides))
    return runs


def custom_run(text: str) -> EngineRun:
    """``ENGINE:KEY=VALUE,...`` as a run labelled with its overrides (values read as YAML)."""
    import yaml

    engine, _, assignments = text.partition(":")
    overrides = {}
    for assignment in filter(None, assignments.split(",")):
        key, _, value = assignment.partition("=")
        overrides[key.strip()] = yaml.safe_load(value)
    label = f"{engine} " + " ".join(f"{k}={v}" for k, v in overrides.items())
    return EngineRun(engine=engine, label=label.strip(), overrides=overrides)


def cost_table(report: ComparisonReport, documents: int, reference: float) -> tuple[Table, dict]:
    table = Table(title="Learning cost per document")
    for column in ("engine", "learn s / document", "x forward+backward"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    costs = {}
    for result in report.engines:
        if result.error:
            continue
        per_document = result.learn_seconds / max(1, documents)
        costs[result.label] = {
            "learn_seconds_per_document": round(per_document, 3),
            "over_forward_backward": round(per_document / reference, 1),
        }
        table.add_row(result.label, f"{per_document:.2f}", f"{per_document / reference:.1f}")
    return table, costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("facts", "squad"), default="facts")
    parser.add_argument(
        "--engines", default="ttt-e2e,replay-lora,doc2lora", help="'' for --variant runs only"
    )
    parser.add_argument("--objectives", default="nll,distill,mixed")
    parser.add_argument("--guards", default="0,0.2", help="guard shares, comma-separated")
    parser.add_argument(
        "--refine", default="0,8,8-zero", help="Doc-to-LoRA: steps, or steps-zero (from zero)"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="ENGINE:KEY=VALUE,...",
        help="a further run with these overrides, e.g. ttt-e2e:guard_share=0.7,learning_rate=0.005",
    )
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--heldout", type=int, default=10, help="held-out SQuAD paragraphs")
    parser.add_argument("--n", type=int, default=20, help="SQuAD paragraphs learned (--set squad)")
    parser.add_argument("--last-articles", type=int, default=5)
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "self-study.json")
    parser.add_argument("--plot", type=Path, default=None, help="bar chart (.png)")
    args = parser.parse_args()

    console = Console()
    config = load_config()
    squad = args.squad if args.squad.is_file() else None
    if squad is None:
        console.print(f"[yellow]SQuAD not found at {args.squad}: shipped held-out text only[/]")
        if args.set == "squad":
            console.print("[red]--set squad needs the SQuAD file[/]")
            return 2
    if args.set == "facts":
        inputs = fictional_fact_inputs(squad_path=squad, heldout=args.heldout)
    else:
        inputs = squad_inputs(
            squad, n=args.n, heldout=args.heldout, last_articles=args.last_articles
        )
    runs = variant_runs(
        [e for e in args.engines.split(",") if e],
        args.objectives.split(","),
        [float(g) for g in args.guards.split(",")],
        args.refine.split(","),
    )
    runs += [custom_run(text) for text in args.variant]
    backbone = load_backbone(config.model)
    longest = max(inputs.documents, key=lambda d: len(d.text)).text
    reference = forward_backward_seconds(backbone, longest)
    with progress_bars() as on_event:
        report = compare(runs, inputs, backbone, config, on_event=on_event)
    costs_table, costs = cost_table(report, len(inputs.documents), reference)
    console.print(comparison_table(report))
    console.print(forgetting_table(report))
    console.print(costs_table)
    output = {
        "command": reproducing_command(),
        "set": args.set,
        "device": str(backbone.device),
        "torch_threads": torch.get_num_threads(),
        "forward_backward_seconds_longest_document": round(reference, 4),
        "configs": {
            section: dataclasses.asdict(config.engine(section))
            for section in ("ttt_e2e", "replay_lora", "doc2lora")
        },
        "learning_cost": costs,
        "report": report.to_dict(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {args.json}")
    if args.plot is not None:
        write_plot(report, args.plot)
        console.print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
