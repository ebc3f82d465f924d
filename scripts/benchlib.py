"""What the benchmark scripts share: data sets, engine variants, the run loop, table and JSON.

Scripts only know the engine registry and interface; a variant is an engine name plus config
overrides for its section, so "MVP without bias" is ``Variant("jitrl-mvp (no bias)",
"jitrl-mvp", {"bias_strength": 0.0})``.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from continual_learning.config.fields import build_section
from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone
from continual_learning.core.evaluate import evaluate
from continual_learning.core.squad import load_squad, sample_paragraphs
from continual_learning.engines.registry import create_engine, get_spec
from continual_learning.types import Document, ProgressEvent, QAItem

REPO = Path(__file__).resolve().parents[1]
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad" / "dev-v2.0.json"


@dataclass(frozen=True)
class Variant:
    label: str
    engine: str
    overrides: dict[str, Any] = field(default_factory=dict)

    def config(self, base: AppConfig) -> AppConfig:
        spec = get_spec(self.engine)
        section = dataclasses.asdict(base.engine(spec.key)) | self.overrides
        engines = dict(base.engines) | {spec.key: build_section(spec.config_cls, section, spec.key)}
        return dataclasses.replace(base, engines=engines)


@dataclass(frozen=True)
class QASet:
    name: str
    documents: list[Document]
    questions: list[QAItem]


def squad_set(path: Path, n: int, per_paragraph: int, seed: int) -> QASet:
    """``n`` seeded paragraphs, up to ``per_paragraph`` questions each (unanswerable included)."""
    paragraphs = sample_paragraphs(load_squad(path), n, seed=seed)
    questions = [q for p in paragraphs for q in p.questions[:per_paragraph]]
    return QASet(f"squad-{n}", [p.as_document() for p in paragraphs], questions)


def run_variant(
    variant: Variant,
    qa_set: QASet,
    backbone: Backbone,
    base: AppConfig,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> dict[str, Any]:
    """Learn every document of the set, answer every question, clear; one row of results."""
    engine = create_engine(variant.engine, backbone, variant.config(base))
    started = time.perf_counter()
    tokens = sum(engine.learn(d.text, doc_id=d.id).tokens for d in qa_set.documents)
    learn_seconds = time.perf_counter() - started
    result = evaluate(engine, qa_set.questions, on_event=on_event)
    engine.clear()
    return {
        "variant": variant.label,
        "engine": get_spec(variant.engine).display_name,
        "overrides": variant.overrides,
        **dataclasses.asdict(result.summary),
        "tokens_learned": tokens,
        "learn_seconds": round(learn_seconds, 3),
        "seconds_per_answer": round(result.seconds_per_answer, 3),
        "answers": [dataclasses.asdict(r) for r in result.records],
    }


def add_recovery(rows: list[dict[str, Any]], metric: str = "contains") -> None:
    """recovery = (score - closed-book) / (in-context - closed-book), when both baselines ran."""
    floor = next((r[metric] for r in rows if r["variant"] == "closed-book"), None)
    ceiling = next((r[metric] for r in rows if r["variant"] == "in-context"), None)
    for row in rows:
        gap = None if floor is None or ceiling is None else ceiling - floor
        row["recovery"] = None if not gap else round((row[metric] - floor) / gap, 3)


def print_table(console: Console, title: str, results: Sequence[dict[str, Any]]) -> None:
    table = Table(title=title)
    columns = (
        "set",
        "variant",
        "n",
        "EM",
        "F1",
        "contains",
        "abstain",
        "recovery",
        "learn s",
        "s/answer",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("set", "variant") else "right")
    for result in results:
        for row in result["rows"]:
            recovery = "-" if row.get("recovery") is None else f"{row['recovery']:.2f}"
            table.add_row(
                result["set"],
                row["variant"],
                str(row["count"]),
                f"{row['exact_match']:.3f}",
                f"{row['f1']:.3f}",
                f"{row['contains']:.3f}",
                f"{row['abstention_rate']:.3f}",
                recovery,
                f"{row['learn_seconds']:.2f}",
                f"{row['seconds_per_answer']:.2f}",
            )
    console.print(table)


def write_report(
    path: Path, backbone: Backbone, base: AppConfig, results: list[dict[str, Any]], **extra: Any
) -> None:
    report = {
        "model": base.model.name,
        "backbone_fingerprint": backbone.fingerprint(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": f"{platform.machine()} {platform.system()}, device {backbone.device}",
        "max_new_tokens": base.generation.max_new_tokens,
        **extra,
        "results": results,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
