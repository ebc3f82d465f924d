"""Where a scope threshold falls: how TF-IDF-similar questions and held-out text are to the learned.

A weight engine with ``scope_threshold`` answers with its learning only prompts at least that
similar to a learned passage (``core/scope.py``). This prints, for the fictional-fact set and for
SQuAD paragraphs of the held-out articles (as ``bench_self_study.py --set squad`` draws them),
the share of the learned documents' questions that each threshold keeps in scope (the learning
answers them) and the share of held-out paragraphs and questions it lets in (the learning
touches them). No model runs: it is the scope alone.

    .venv/bin/python scripts/bench_scope.py --json assets/scope-thresholds.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from continual_learning.core.scope import Scope
from continual_learning.harness.inputs import ComparisonInputs, fictional_fact_inputs, squad_inputs
from continual_learning.harness.outputs import reproducing_command

REPO = Path(__file__).resolve().parents[1]
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad" / "dev-v2.0.json"
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3)


def similarities(inputs: ComparisonInputs) -> dict[str, list[float]]:
    scope = Scope(THRESHOLDS[0])
    for document in inputs.documents:
        scope.add(document.text)
    learned = [q.question for q in inputs.questions if q.answers]
    return {
        "learned questions": [scope.similarity(q) for q in learned],
        "held-out paragraphs": [scope.similarity(t) for t in inputs.heldout_texts],
        "held-out questions": [scope.similarity(q.question) for q in inputs.heldout_questions],
    }


def shares(values: list[float]) -> dict[str, float]:
    return {
        f"{t:g}": round(sum(v >= t for v in values) / max(len(values), 1), 3) for t in THRESHOLDS
    }


def table(name: str, measured: dict[str, list[float]]) -> Table:
    result = Table(title=f"{name}: share in scope at each threshold")
    result.add_column("texts")
    result.add_column("n", justify="right")
    for threshold in THRESHOLDS:
        result.add_column(f">= {threshold:g}", justify="right")
    for kind, values in measured.items():
        row = shares(values)
        result.add_row(kind, str(len(values)), *(f"{row[f'{t:g}']:.2f}" for t in THRESHOLDS))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV)
    parser.add_argument("--n", type=int, default=50, help="SQuAD paragraphs learned")
    parser.add_argument("--last-articles", type=int, default=5)
    parser.add_argument("--heldout", type=int, default=10)
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "scope-thresholds.json")
    args = parser.parse_args()

    console = Console()
    squad = args.squad if args.squad.is_file() else None
    sets = {"facts": fictional_fact_inputs(squad_path=squad, heldout=args.heldout)}
    if squad is None:
        console.print(f"[yellow]SQuAD not found at {args.squad}: the fact set only[/]")
    else:
        sets["squad held-out articles"] = squad_inputs(
            squad, n=args.n, heldout=args.heldout, last_articles=args.last_articles
        )
    output: dict[str, object] = {"command": reproducing_command(), "thresholds": THRESHOLDS}
    for name, inputs in sets.items():
        measured = similarities(inputs)
        console.print(table(name, measured))
        output[name] = {
            kind: {"in_scope": shares(values), "similarities": [round(v, 4) for v in values]}
            for kind, values in measured.items()
        }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2) + "\n")
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
