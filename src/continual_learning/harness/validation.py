"""Checks that pass or fail, for the ``scripts/validate_*.py`` scripts.

A validation script measures something on the configured model (a GPU and
``configs/qwen2.5-1.5b.yaml`` for the real-size check, or the default model on a CPU with
``--quick``), compares each figure with its threshold, prints one table, writes the figures to
JSON, and exits non-zero when any check failed: a script that prints PASS without checking
cannot catch a regression.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from continual_learning.config.schema import AppConfig

if TYPE_CHECKING:
    from continual_learning.core.backbone import Backbone
    from continual_learning.types import QAItem


@dataclass(frozen=True, kw_only=True)
class Check:
    name: str
    value: Any
    passed: bool
    expected: str


@dataclass(kw_only=True)
class Validation:
    """The checks of one script run, and the figures behind them."""

    title: str
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, value: Any, passed: bool, expected: str) -> bool:
        self.checks.append(Check(name=name, value=value, passed=bool(passed), expected=expected))
        return bool(passed)

    def at_most(self, name: str, value: float, limit: float) -> bool:
        return self.check(name, round(value, 4), value <= limit, f"<= {limit:g}")

    def at_least(self, name: str, value: float, limit: float) -> bool:
        return self.check(name, round(value, 4), value >= limit, f">= {limit:g}")

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.figures[name] = round(time.perf_counter() - started, 4)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def table(self) -> Table:
        table = Table(title=self.title)
        for column in ("check", "value", "expected", "result"):
            table.add_column(column, justify="left" if column == "check" else "right")
        for c in self.checks:
            verdict = "[green]PASS[/]" if c.passed else "[red]FAIL[/]"
            table.add_row(c.name, str(c.value), c.expected, verdict)
        return table

    def finish(self, path: Path, *, config: AppConfig, device: str, quick: bool) -> int:
        """Print the table, write the JSON, return the exit code (0 only when all passed)."""
        console = Console()
        console.print(self.table())
        output = {
            "title": self.title,
            "passed": self.passed,
            "quick": quick,
            "device": device,
            "model": config.model.name,
            "checks": [dataclasses.asdict(c) for c in self.checks],
            "figures": self.figures,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(output, indent=2, default=str) + "\n", encoding="utf-8")
        verdict = "all checks passed" if self.passed else "[red]a check failed[/]"
        console.print(f"{verdict}; wrote {path}")
        return 0 if self.passed else 1


def contains_rate(answers: Sequence[str], questions: Sequence[QAItem]) -> float:
    """The share of ``answers`` that contain a gold answer of their question."""
    from continual_learning.core.scoring import score_answer, summarize

    scores = [score_answer(a, q.answers) for a, q in zip(answers, questions, strict=True)]
    return round(summarize(scores).contains, 4)


def forward_backward_seconds(backbone: Backbone, text: str, repeats: int = 3) -> float:
    """Median time of one forward+backward pass of the whole backbone over ``text``: the unit
    the benchmarks state learning costs in."""
    import statistics

    ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"].to(backbone.device)
    backbone.model.requires_grad_(True)
    try:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            backbone.model(input_ids=ids, labels=ids).loss.backward()
            times.append(time.perf_counter() - started)
            backbone.model.zero_grad(set_to_none=True)
    finally:
        backbone.model.requires_grad_(False)
    return statistics.median(times)


def validation_arguments(description: str, default_json: Path) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default="", help="cpu | cuda | mps (default: the config's)")
    parser.add_argument(
        "--profile", type=Path, help="a config profile, e.g. configs/qwen2.5-1.5b.yaml"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a CPU")
    parser.add_argument("--json", type=Path, default=default_json)
    return parser


def validation_config(args: argparse.Namespace) -> AppConfig:
    from continual_learning.config.loader import load_config

    config = load_config(profile_path=args.profile)
    if args.device:
        model = dataclasses.replace(config.model, device=args.device)
        config = dataclasses.replace(config, model=model)
    return config


def with_section(config: AppConfig, section: str, **overrides: Any) -> AppConfig:
    """``config`` with some keys of one engine section replaced."""
    replaced = dataclasses.replace(config.engine(section), **overrides)
    return dataclasses.replace(config, engines=dict(config.engines) | {section: replaced})
