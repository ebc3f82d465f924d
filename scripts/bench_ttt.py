"""TTT-E2E measured: does it learn, does the TF-IDF gate protect, do self-edits help, how fast?

In one run on the default model:

1. the fictional-fact set (12 documents, 48 questions): closed-book, in-context, TTT-E2E as
   configured (gate, no self-edits), without the gate, with self-edits, with self-edits and
   without the gate (same steps and learning rate), with held-out SQuAD questions and
   held-out SQuAD paragraphs' perplexity before and after learning (forgetting);
2. speed: learning a 1,000-token document (self-edits off, gate already calibrated) against one
   forward+backward pass of the whole backbone over the same tokens, and what writing the
   self-edits and calibrating the gate cost on top.

    .venv/bin/python scripts/bench_ttt.py --json assets/ttt.json --plot assets/ttt.png
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone, load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.self_edit import write_self_edits
from continual_learning.engines.registry import create_engine
from continual_learning.harness import EngineRun, compare, fictional_fact_inputs
from continual_learning.harness.outputs import reproducing_command, write_plot
from continual_learning.harness.validation import forward_backward_seconds
from continual_learning.ui.progress import progress_bars
from continual_learning.ui.render import comparison_table, forgetting_table

REPO = Path(__file__).resolve().parents[1]
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad" / "dev-v2.0.json"
RUNS = [
    EngineRun(engine="ttt-e2e"),
    EngineRun(engine="ttt-e2e", label="ttt-e2e (no gate)", overrides={"gate": False}),
    EngineRun(engine="ttt-e2e", label="ttt-e2e (+ self-edits)", overrides={"self_edit": True}),
    EngineRun(
        engine="ttt-e2e",
        label="ttt-e2e (no gate, + self-edits)",
        overrides={"gate": False, "self_edit": True},
    ),
]


def thousand_token_document(backbone: Backbone) -> str:
    """The fictional documents joined and cut to exactly 1,000 tokens."""
    documents, _ = fictional_fact_set()
    ids = backbone.tokenizer(" ".join(d.text for d in documents * 4))["input_ids"][:1000]
    return backbone.tokenizer.decode(ids)


def measure_speed(backbone: Backbone, config: AppConfig) -> dict[str, float]:
    text = thousand_token_document(backbone)
    engine = create_engine("ttt-e2e", backbone, _with(config, self_edit=False))
    started = time.perf_counter()
    engine.learn("A short warm-up document that triggers the gate calibration once.")
    calibration = time.perf_counter() - started
    engine.clear()  # keeps the calibration: it is not learned knowledge
    reference = forward_backward_seconds(backbone, text)
    learn = engine.learn(text).seconds
    engine.clear()
    started = time.perf_counter()
    write_self_edits(backbone, text, max_new_tokens=config.engine("ttt_e2e").self_edit_tokens)
    self_edit = time.perf_counter() - started
    return {
        "document_tokens": backbone.count_tokens(text),
        "forward_backward_seconds": round(reference, 3),
        "learn_seconds": round(learn, 3),
        "learn_over_forward_backward": round(learn / reference, 3),
        "self_edit_seconds": round(self_edit, 3),
        "first_learn_with_calibration_seconds": round(calibration, 3),
    }


def _with(config: AppConfig, **overrides: object) -> AppConfig:
    section = dataclasses.replace(config.engine("ttt_e2e"), **overrides)
    return dataclasses.replace(config, engines=dict(config.engines) | {"ttt_e2e": section})


def speed_table(speed: dict[str, float]) -> Table:
    table = Table(title="TTT-E2E speed (1,000-token document)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in speed.items():
        table.add_row(key.replace("_", " "), f"{value:g}")
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV, help="SQuAD JSON for held-out")
    parser.add_argument("--heldout", type=int, default=20, help="held-out SQuAD paragraphs")
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "ttt.json")
    parser.add_argument("--plot", type=Path, default=None, help="bar chart (.png)")
    args = parser.parse_args()

    console = Console()
    config = load_config()
    generation = dataclasses.replace(config.generation, max_new_tokens=args.max_new_tokens)
    config = dataclasses.replace(config, generation=generation)
    backbone = load_backbone(config.model)
    squad = args.squad if args.squad.is_file() else None
    if squad is None:
        console.print(f"[yellow]SQuAD not found at {args.squad}: no held-out forgetting[/]")
    inputs = fictional_fact_inputs(squad_path=squad, heldout=args.heldout)
    speed = None
    with progress_bars() as on_event:
        if not args.skip_speed:
            speed = measure_speed(backbone, config)
        report = compare(RUNS, inputs, backbone, config, on_event=on_event)
    console.print(comparison_table(report))
    console.print(forgetting_table(report))
    if speed is not None:
        console.print(speed_table(speed))
    output = {
        "command": reproducing_command(),
        "device": str(backbone.device),
        "torch_threads": torch.get_num_threads(),
        "ttt_e2e_config": dataclasses.asdict(config.engine("ttt_e2e")),
        "speed": speed,
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
