"""How fast the workbench answers: every engine against the plain backbone, and the harness at
batch size 1 against the default, side by side in one run.

1. **Milliseconds per generated token.** Every engine learns the same documents and answers the
   same questions, each answer exactly ``--tokens`` tokens long (``generation.min_new_tokens``,
   no stop on a repeat), greedy. Beside each engine, in the same loop, the plain backbone
   answers the very prompt the engine sends (``Engine.prepared_messages``): for an engine that
   changes weights that is closed-book's prompt, for one that adds context it is in-context at
   the same prompt length.
   The ratio is the engine's cost over the backbone's, at batch size 1 and at the default.
2. **Batch sizes** (``--sweep 1,8,16,32``): the plain backbone on closed-book's and in-context's
   prompts at each batch size, tokens per second, with answers decoded in the weights' float32
   and in bfloat16 (``model.answer_dtype``), in one process: what ``harness.batch_size`` and the
   answer dtype are chosen from; the speedup is against float32 one question at a time.
3. **The harness** (``--harness``): ``continual-learning bench facts --engines all``, run by the
   real CLI, at ``--batch-size 1`` and at the configured default, with its progress written to a
   log file (the JSON records how many progress lines each log got while it ran): wall seconds,
   each engine's contains and F1, and how many answers differ.

    .venv/bin/python scripts/bench_speed.py --sweep 1,8,16,32 --json assets/speed.json
    .venv/bin/python scripts/bench_speed.py --engines closed-book --questions 2 --harness \
        --json assets/speed-harness.json
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.config.schema import AppConfig
from continual_learning.core.answer_precision import AnswerPrecision
from continual_learning.core.backbone import Backbone, GenerationOptions, load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.core.storage import atomic_write_json
from continual_learning.engines.base import Engine
from continual_learning.engines.registry import create_engine, engine_specs, get_spec
from continual_learning.harness.outputs import reproducing_command
from continual_learning.types import QAItem

REPO = Path(__file__).resolve().parents[1]
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad" / "dev-v2.0.json"
CLI = Path(sys.executable).with_name("continual-learning")
ANSWER_DTYPES = {"float32": None, "bfloat16": torch.bfloat16}
"""``model.answer_dtype`` settings the sweep times (float32: the weights as loaded)."""


def fixed_length(config: AppConfig, tokens: int) -> AppConfig:
    """Every answer exactly ``tokens`` long: no end-of-answer, no stop on a repeat."""
    generation = dataclasses.replace(
        config.generation, max_new_tokens=tokens, min_new_tokens=tokens, stop_repeats=False
    )
    return dataclasses.replace(config, generation=generation)


def plain_answers(
    backbone: Backbone, messages: list, options: GenerationOptions, batch_size: int
) -> None:
    """The backbone alone on the given prompts: no engine, no processors, no learned weights."""
    encoded = [backbone.encode_chat(m) for m in messages]
    for start in range(0, len(encoded), batch_size):
        backbone.generate_batch(encoded[start : start + batch_size], options)


def timed(work) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def per_token(
    engine: Engine, questions: list[QAItem], tokens: int, batch_size: int, repeats: int
) -> dict[str, float]:
    """ms per generated token for the engine and for the plain backbone on the same prompts.

    The two alternate (plain first, then engine first, ...) and each keeps its fastest repeat:
    the least disturbed by whatever else the machine did."""
    prompts = [q.question for q in questions]
    messages = [engine.prepared_messages(p) for p in prompts]
    options = engine.generation_options()
    generated = len(prompts) * tokens

    def run_plain() -> float:
        if batch_size == 1:
            return timed(lambda: [engine.backbone.chat(m, options) for m in messages])
        return timed(lambda: plain_answers(engine.backbone, messages, options, batch_size))

    def run_engine() -> float:
        return timed(lambda: engine.generate_many(prompts, batch_size=batch_size))

    plain_times, engine_times = [], []
    for repeat in range(repeats):
        if repeat % 2 == 0:
            plain_times.append(run_plain())
            engine_times.append(run_engine())
        else:
            engine_times.append(run_engine())
            plain_times.append(run_plain())
    plain, learned = min(plain_times), min(engine_times)
    return {
        "engine_ms_per_token": round(1000 * learned / generated, 2),
        "backbone_ms_per_token": round(1000 * plain / generated, 2),
        "ratio": round(learned / plain, 3),
    }


def measure_engines(
    args: argparse.Namespace, config: AppConfig, backbone: Backbone, console: Console
) -> list[dict]:
    documents, questions = fictional_fact_set()
    documents = documents[: args.documents]
    asked = [q for q in questions if q.doc_id in {d.id for d in documents}][: args.questions]
    rows = []
    for name in args.engines.split(","):
        spec = get_spec(name)
        engine = create_engine(spec.key, backbone, fixed_length(config, args.tokens))
        for document in documents:
            engine.learn(document.text, doc_id=document.id)
        row = {"engine": spec.display_name, "changes_weights": engine.changes_weights}
        for batch_size in sorted({1, config.harness.batch_size}):
            row[f"batch_{batch_size}"] = per_token(
                engine, asked, args.tokens, batch_size, args.repeats
            )
        engine.clear()
        rows.append(row)
        console.print(f"{spec.display_name}: {row}")
    return rows


def batch_size_sweep(
    args: argparse.Namespace, config: AppConfig, backbone: Backbone, console: Console
) -> list[dict[str, float]]:
    """The plain backbone on closed-book's and in-context's prompts at each batch size: what
    ``harness.batch_size`` was chosen from."""
    documents, questions = fictional_fact_set()
    documents = documents[: args.documents]
    asked = [q for q in questions if q.doc_id in {d.id for d in documents}][: args.questions]
    rows = []
    for name in ("closed-book", "in-context"):
        engine = create_engine(name, backbone, fixed_length(config, args.tokens))
        for document in documents:
            engine.learn(document.text, doc_id=document.id)
        messages = [engine.prepared_messages(q.question) for q in asked]
        options = engine.generation_options()
        one_at_a_time = None
        for dtype, size in itertools.product(ANSWER_DTYPES, args.sweep):
            backbone.precision = AnswerPrecision(ANSWER_DTYPES[dtype])
            times = [
                timed(lambda: plain_answers(backbone, messages, options, size))  # noqa: B023
                for _ in range(args.repeats)
            ]
            seconds = min(times)
            one_at_a_time = one_at_a_time or seconds  # float32, batch 1: the first row
            row = {"prompt": name, "answer_dtype": dtype, "batch_size": size}
            row |= {"seconds": round(seconds, 2), "speedup": round(one_at_a_time / seconds, 2)}
            row["tokens_per_second"] = round(len(asked) * args.tokens / seconds, 1)
            rows.append(row)
            console.print(row)
        backbone.precision = AnswerPrecision()
    return rows


def run_harness(batch_size: int, engines: str, folder: Path) -> dict:
    """``bench facts --engines ENGINES`` through the real CLI; progress goes to a log file."""
    report, log = folder / f"facts-b{batch_size}.json", folder / f"facts-b{batch_size}.log"
    command = [str(CLI), "--workspace", str(folder / f"ws-{batch_size}"), "bench", "facts"]
    command += ["--engines", engines, "--batch-size", str(batch_size), "--report", str(report)]
    environment = dict(os.environ)
    if SQUAD_DEV.is_file() and "CL__SQUAD__PATH" not in environment:
        environment["CL__SQUAD__PATH"] = str(SQUAD_DEV)
    lines_while_running = 0
    started = time.perf_counter()
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=environment)
        while process.poll() is None:
            time.sleep(5)
            lines_while_running = max(lines_while_running, len(log.read_text().splitlines()))
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"bench facts at batch size {batch_size} failed; see {log}")
    return {
        "batch_size": batch_size,
        "wall_seconds": round(seconds, 1),
        "log": str(log),
        "log_lines_while_running": lines_while_running,
        "report": json.loads(report.read_text()),
    }


def harness_summary(one: dict, default: dict) -> list[dict]:
    rows = []
    slow = {e["label"]: e for e in one["report"]["engines"]}
    for fast in default["report"]["engines"]:
        before = slow[fast["label"]]
        if fast.get("error") or before.get("error"):
            rows.append({"engine": fast["label"], "error": fast.get("error") or before["error"]})
            continue
        facts = [
            [a for a in row["answers"] if a.get("kind", "fact") == "fact"] for row in (before, fast)
        ]
        pairs = list(zip(*facts, strict=True))
        rows.append(
            {
                "engine": fast["label"],
                "contains_batch_1": round(before["contains"], 4),
                "contains_default": round(fast["contains"], 4),
                "f1_batch_1": round(before["f1"], 4),
                "f1_default": round(fast["f1"], 4),
                "answers_that_differ": sum(a["answer"] != b["answer"] for a, b in pairs),
                "answers": len(pairs),
                "seconds_batch_1": round(before["learn_seconds"] + before["eval_seconds"], 1),
                "seconds_default": round(fast["learn_seconds"] + fast["eval_seconds"], 1),
            }
        )
    return rows


def speed_table(rows: list[dict], batch_sizes: list[int]) -> Table:
    table = Table(title="ms per generated token: engine / plain backbone on the same prompt")
    table.add_column("engine")
    for size in batch_sizes:
        for column in (f"b{size} engine", f"b{size} backbone", f"b{size} ratio"):
            table.add_column(column, justify="right")
    for row in rows:
        cells = [row["engine"]]
        for size in batch_sizes:
            m = row[f"batch_{size}"]
            cells += [
                f"{m['engine_ms_per_token']:.1f}",
                f"{m['backbone_ms_per_token']:.1f}",
                f"{m['ratio']:.2f}x",
            ]
        table.add_row(*cells)
    return table


def harness_table(rows: list[dict], one: dict, default: dict) -> Table:
    table = Table(
        title=(
            f"bench facts: {one['wall_seconds']:.0f} s at batch 1, "
            f"{default['wall_seconds']:.0f} s at batch {default['batch_size']} "
            f"({one['wall_seconds'] / default['wall_seconds']:.2f}x faster)"
        )
    )
    columns = ("engine", "contains b1", "contains", "F1 b1", "F1", "differ", "s b1", "s")
    for column in columns:
        table.add_column(column, justify="left" if column == "engine" else "right")
    for r in rows:
        if "error" in r:
            table.add_row(r["engine"], f"failed: {r['error']}", *[""] * (len(columns) - 2))
            continue
        table.add_row(
            r["engine"],
            f"{r['contains_batch_1']:.3f}",
            f"{r['contains_default']:.3f}",
            f"{r['f1_batch_1']:.3f}",
            f"{r['f1_default']:.3f}",
            f"{r['answers_that_differ']}/{r['answers']}",
            f"{r['seconds_batch_1']:.0f}",
            f"{r['seconds_default']:.0f}",
        )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    all_engines = ",".join(s.display_name for s in engine_specs())
    parser.add_argument("--engines", default=all_engines, help="comma-separated (default: all)")
    parser.add_argument("--documents", type=int, default=4, help="fictional documents learned")
    parser.add_argument("--questions", type=int, default=16, help="questions per engine")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes; the fastest counts")
    parser.add_argument("--tokens", type=int, default=32, help="tokens in every answer")
    parser.add_argument(
        "--sweep",
        type=lambda text: [int(x) for x in text.split(",") if x],
        default=[],
        help="batch sizes to time the plain backbone at, e.g. 1,4,8,16 (default: none)",
    )
    parser.add_argument("--harness", action="store_true", help="also time bench facts (long)")
    parser.add_argument("--harness-engines", default="all", help="engines bench facts runs")
    parser.add_argument("--work-dir", type=Path, help="harness reports and logs (default: temp)")
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "speed.json")
    args = parser.parse_args()

    console = Console()
    config = load_config()
    backbone = load_backbone(config.model)
    rows = measure_engines(args, config, backbone, console)
    batch_sizes = sorted({1, config.harness.batch_size})
    console.print(speed_table(rows, batch_sizes))
    output: dict = {
        "command": reproducing_command(),
        "model": config.model.name,
        "tokens_per_answer": args.tokens,
        "documents": args.documents,
        "questions": args.questions,
        "repeats": args.repeats,
        "default_batch_size": config.harness.batch_size,
        "engines": rows,
    }
    if args.sweep:
        output["batch_size_sweep"] = batch_size_sweep(args, config, backbone, console)
    if args.harness:
        folder = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-speed-"))
        folder.mkdir(parents=True, exist_ok=True)
        one = run_harness(1, args.harness_engines, folder)
        default = run_harness(config.harness.batch_size, args.harness_engines, folder)
        summary = harness_summary(one, default)
        console.print(harness_table(summary, one, default))
        output["harness"] = {
            "speedup": round(one["wall_seconds"] / default["wall_seconds"], 3),
            "runs": [{k: v for k, v in run.items() if k != "report"} for run in (one, default)],
            "engines": summary,
        }
    atomic_write_json(args.json, output)
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
