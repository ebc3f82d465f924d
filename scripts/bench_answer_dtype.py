"""What answering in bfloat16, and in larger batches, does to each engine's answers and speed.

Each engine learns the shipped fact set once; then, in the same process, it answers every
question once per setting (``model.answer_dtype`` x ``harness.batch_size``, the first setting
being the reference). Per engine and setting: `contains` and F1, how many answers differ from the
reference's, answer seconds and tokens/s. The default is chosen from this table: a setting
whose `contains` stays within 0.02 of the reference for every engine.

    .venv/bin/python scripts/bench_answer_dtype.py --json assets/answer-dtype.json
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.core.answer_precision import AnswerPrecision
from continual_learning.core.backbone import Backbone, load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.scoring import score_answer, summarize
from continual_learning.core.storage import atomic_write_json
from continual_learning.engines.registry import create_engine, engine_names, get_spec
from continual_learning.harness.environment import run_environment
from continual_learning.harness.outputs import reproducing_command

REPO = Path(__file__).resolve().parents[1]
DTYPES = {"weights": None, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class Setting:
    dtype: str
    batch_size: int

    @property
    def label(self) -> str:
        return f"{self.dtype} b{self.batch_size}"


def parse_settings(text: str) -> list[Setting]:
    settings = []
    for part in text.split(","):
        dtype, _, size = part.partition(":")
        if dtype not in DTYPES or not size.isdigit():
            raise SystemExit(f"--settings: '{part}' is not DTYPE:BATCH (DTYPE: weights, bfloat16)")
        settings.append(Setting(dtype, int(size)))
    return settings


def answer_all(
    backbone: Backbone, engine: object, questions: list, setting: Setting
) -> tuple[list[str], float, int]:
    """Every question's answer in ``setting``, the seconds it took and the tokens generated."""
    backbone.precision = AnswerPrecision(DTYPES[setting.dtype])
    started = time.perf_counter()
    answers = engine.generate_many(  # type: ignore[attr-defined]
        [q.question for q in questions], batch_size=setting.batch_size
    )
    seconds = time.perf_counter() - started
    tokens = sum(backbone.count_tokens(a) for a in answers)
    return answers, seconds, tokens


def measure_engine(
    name: str, backbone: Backbone, config: object, settings: list[Setting], console: Console
) -> dict:
    documents, questions = fictional_fact_set()
    engine = create_engine(get_spec(name).key, backbone, config)  # type: ignore[arg-type]
    started = time.perf_counter()
    for document in documents:
        engine.learn(document.text, doc_id=document.id)
    learned = time.perf_counter() - started
    rows, reference = [], None
    for setting in settings:
        answers, seconds, tokens = answer_all(backbone, engine, questions, setting)
        scores = [score_answer(a, q.answers) for a, q in zip(answers, questions, strict=True)]
        summary = summarize(scores)
        reference = reference or answers
        rows.append(
            {
                "setting": setting.label,
                "answer_dtype": setting.dtype,
                "batch_size": setting.batch_size,
                "contains": round(summary.contains, 4),
                "f1": round(summary.f1, 4),
                "differ": sum(a != r for a, r in zip(answers, reference, strict=True)),
                "seconds": round(seconds, 2),
                "tokens_per_second": round(tokens / seconds, 1),
                "answers": answers,
            }
        )
        console.print(f"{name} {setting.label}: contains {summary.contains:.3f} {seconds:.1f} s")
    backbone.precision = AnswerPrecision()
    engine.clear()
    return {"engine": name, "learn_seconds": round(learned, 1), "settings": rows}


def table(results: list[dict], settings: list[Setting]) -> Table:
    out = Table(title="contains / F1 / answers that differ from the first setting / answer s")
    out.add_column("engine")
    for setting in settings:
        out.add_column(setting.label, justify="right")
    for result in results:
        cells = [
            f"{r['contains']:.3f} / {r['f1']:.3f} / {r['differ']} / {r['seconds']:.1f}"
            for r in result["settings"]
        ]
        out.add_row(result["engine"], *cells)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="all", help="comma-separated, or all")
    parser.add_argument(
        "--settings",
        default="weights:8,weights:32,bfloat16:32",
        help="DTYPE:BATCH, comma-separated; the first is the reference",
    )
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "answer-dtype.json")
    args = parser.parse_args()
    settings = parse_settings(args.settings)
    names = engine_names() if args.engines == "all" else args.engines.split(",")
    console = Console()
    config = load_config()
    backbone = load_backbone(config.model)
    started = time.perf_counter()
    results = [measure_engine(n, backbone, config, settings, console) for n in names]
    console.print(table(results, settings))
    output = {
        "command": reproducing_command(),
        "environment": run_environment(),
        "model": config.model.name,
        "settings": [s.label for s in settings],
        "seconds": round(time.perf_counter() - started, 1),
        "engines": results,
    }
    atomic_write_json(args.json, output)
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
