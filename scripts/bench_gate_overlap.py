"""How much TTT-E2E's documents write over each other: the neurons its TF-IDF gate opens for each
document of a fact set, learned in order, and how many of them an earlier document had opened.

The gate scores neurons on the frozen backbone (the deltas are not applied when it looks), so
the neurons each document gets are computed here exactly as ``learn`` would choose them, without
training. For each ``gate_fraction`` and ``protect_learned`` it reports the share of a
document's opened neurons that earlier documents already changed (what it rewrites), and how
many distinct neurons per layer the whole set uses. Prints a table and writes JSON.

    .venv/bin/python scripts/bench_gate_overlap.py --fact-set tuning --json assets/gate-overlap.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.core.backbone import load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.storage import atomic_write_json
from continual_learning.data import FACT_SETS
from continual_learning.engines.registry import create_engine
from continual_learning.engines.ttt_e2e.tfidf_gate import document_activity
from continual_learning.harness.outputs import reproducing_command

REPO = Path(__file__).resolve().parents[1]
SETTINGS = ((0.05, 0.0), (0.05, 0.5), (0.05, 1.0), (0.02, 0.0), (0.02, 1.0))
"""(gate_fraction, protect_learned) pairs for ``memory: shared``, where documents share neurons
(routed documents each start from the frozen model); the first was its default."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fact-set", choices=FACT_SETS, default="tuning")
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "gate-overlap.json")
    args = parser.parse_args()
    config = load_config()
    backbone = load_backbone(config.model)
    engine = create_engine("ttt-e2e", backbone, config)
    gate = engine._calibrated_gate(None)  # type: ignore[attr-defined]
    layers = [layer for layer, _ in engine.layers]  # type: ignore[attr-defined]
    documents, _ = fictional_fact_set(args.fact_set)
    tokenize = backbone.tokenizer
    activity = [
        document_activity(backbone, layers, tokenize(d.text, return_tensors="pt")["input_ids"])
        for d in documents
    ]
    width = int(backbone.model.config.intermediate_size)
    rows = [_replay_selection(gate, activity, layers, width, *s) for s in SETTINGS]
    Console().print(_table(rows, args.fact_set, len(documents)))
    atomic_write_json(
        args.json,
        {"command": reproducing_command(), "fact_set": args.fact_set, "rows": rows},
    )
    print(f"wrote {args.json}")
    return 0


def _replay_selection(gate, activity, layers, width, fraction, protect) -> dict:  # type: ignore[no-untyped-def]
    """Select each document's neurons in order, as ``learn`` would; the overlap with what the
    documents before it hold."""
    held = {layer: torch.empty(0, dtype=torch.long) for layer in layers}
    rewritten = []
    for document in activity:
        opened = gate.select(document, fraction, held=held, protect=protect)
        shared = sum(int(torch.isin(opened[i], held[i]).sum()) for i in layers)
        rewritten.append(shared / sum(int(opened[i].numel()) for i in layers))
        held = {i: torch.cat([held[i], opened[i]]).unique() for i in layers}
    distinct = statistics.mean(int(held[i].numel()) for i in layers)
    return {
        "gate_fraction": fraction,
        "protect_learned": protect,
        "opened_per_document": max(1, round(fraction * width)),
        "rewritten_share_mean": round(statistics.mean(rewritten[1:] or [0.0]), 4),
        "rewritten_share_last": round(rewritten[-1], 4),
        "distinct_neurons_per_layer": round(distinct, 1),
        "layer_width": width,
    }


def _table(rows: list[dict], fact_set: str, documents: int) -> Table:
    table = Table(title=f"TTT-E2E's gate on the {fact_set} set ({documents} documents, in order)")
    columns = ("gate_fraction", "protect_learned", "opened / doc / layer", "rewritten (mean)")
    for column in (*columns, "rewritten (last doc)", "distinct / layer"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            f"{r['gate_fraction']:.0%}",
            f"{r['protect_learned']:g}",
            str(r["opened_per_document"]),
            f"{r['rewritten_share_mean']:.0%}",
            f"{r['rewritten_share_last']:.0%}",
            f"{r['distinct_neurons_per_layer']:.0f} of {r['layer_width']}",
        )
    return table


if __name__ == "__main__":
    sys.exit(main())
