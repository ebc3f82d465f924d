"""TTT-E2E learning a fact document with the frozen layers run once per row
(``core/frozen_prefix.py``) and with the whole model run at every step, alternating in one
process: seconds and the losses of every step, which must be the same.

    .venv/bin/python scripts/bench_frozen_prefix.py --json assets/frozen-prefix.json
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
from continual_learning.core.frozen_prefix import FrozenPrefix
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.storage import atomic_write_json
from continual_learning.engines.registry import create_engine
from continual_learning.harness.environment import run_environment
from continual_learning.harness.outputs import reproducing_command


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = load_config()
    backbone = load_backbone(config.model)
    documents, _ = fictional_fact_set()
    engine = create_engine("ttt-e2e", backbone, config)
    engine.learn(documents[5].text, doc_id="warm-up")  # the gate and the guard's targets
    rows = []
    for _ in range(args.repeats):
        for prefix in (False, True):
            engine.clear()
            engine._prefix = FrozenPrefix(backbone.model, engine.layers.start)  # type: ignore[attr-defined]
            engine._prefix.enabled = prefix  # type: ignore[attr-defined]
            started = time.perf_counter()
            report = engine.learn(documents[0].text, doc_id=documents[0].id)
            seconds = time.perf_counter() - started
            rows.append({"frozen_prefix": prefix, "seconds": round(seconds, 2)})
            rows[-1]["losses"] = list(report.losses)
    engine.clear()
    table = Table(title="TTT-E2E learning one fact document")
    for column in ("frozen layers", "seconds", "losses"):
        table.add_column(column)
    for row in rows:
        kept = "run once" if row["frozen_prefix"] else "run every step"
        table.add_row(kept, f"{row['seconds']:.2f}", ", ".join(map(str, row["losses"])))
    Console().print(table)
    if args.json:
        record = {"command": reproducing_command(), "environment": run_environment(), "runs": rows}
        atomic_write_json(args.json, record)
    same = len({tuple(r["losses"]) for r in rows}) == 1
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
