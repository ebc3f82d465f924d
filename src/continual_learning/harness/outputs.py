"""What a comparison leaves behind: JSON, official SQuAD prediction files, and a chart."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from continual_learning.config.loader import configuring_environment
from continual_learning.core.scoring import official_prediction
from continual_learning.core.storage import atomic_write_bytes, atomic_write_json, safe_name
from continual_learning.types import ComparisonReport, EngineResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

JSON_SCHEMA_DOC = """\
{"model", "created", "dataset", "documents", "questions", "batch_size", "answer_style",
 "heldout_source",
 "engines": [{"engine", "label", "exact_match", "f1", "contains",
              "contains_by_position": [first, middle, last third of the documents learned],
              "paraphrase_contains", "locality", "locality_interval": [low, high],
              "locality_neighbours", "abstain_accuracy",
              "recovery", "learn_seconds", "eval_seconds", "tokens_learned", "repeating",
              "forgetting": {"heldout_questions", "heldout_texts", "qa_before" | null,
                             "qa_after" | null, "qa_metric",
                             "perplexity_before", "perplexity_after", "forgetting_ratio",
                             "bwt" | null, "perplexity_bwt"} | null,
              "answers": [{"question_id", "question", "answer", "gold", "kind",
                           "score": {"exact_match", "f1", "contains", "abstained"}, "seconds"}],
              "error": null | "why it failed"}]}
Scores are fractions in [0, 1]; recovery = (contains - closed-book) / (in-context - closed-book)."""


SUMMARY_COLUMNS = (
    "engine", "EM", "F1", "contains", "first / mid / last third", "paraphrase",
    "locality [95%]", "abstain acc", "recovery", "recovery (oracle)", "repeats", "learn s",
    "eval s", "held-out QA before → after", "reading before → after",
    "held-out ppl before → after",
)  # fmt: skip
"""The comparison table's columns, in the terminal and on the HTML page."""


def summary_cells(
    row: EngineResult, within: Callable[[Sequence[float] | None], str] = lambda _: ""
) -> list[str]:
    """One engine's row of the comparison table (``SUMMARY_COLUMNS``), for a finished engine;
    ``within`` writes a 95% interval after held-out QA and reading (the HTML page does)."""

    def number(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    def before_after(before: float | None, after: float | None, interval: str = "") -> str:
        if before is None or after is None:
            return "-"
        return f"{before:.2f} → {after:.2f}{interval}"

    f = row.forgetting
    return [
        row.label,
        number(row.exact_match),
        number(row.f1),
        number(row.contains),
        row.by_position_text(),
        number(row.paraphrase_contains),
        row.locality_text(),
        number(row.abstain_accuracy),
        number(row.recovery, 2),
        number(row.recovery_oracle, 2),
        number(row.repeating, 2),
        number(row.learn_seconds, 2),
        number(row.eval_seconds, 1),
        "-" if f is None else before_after(f.qa_before, f.qa_after, within(f.qa_after_interval)),
        "-"
        if f is None
        else before_after(f.reading_before, f.reading_after, within(f.reading_after_interval)),
        "-" if f is None else before_after(f.perplexity_before, f.perplexity_after),
    ]


def reproducing_command(argv: Sequence[str] | None = None) -> str:
    """How to run this script again as it ran now, for the JSON it writes: the configuring
    environment variables (a hypernetwork's shape, the dtype: they change what a run does),
    then ``.venv/bin/python``, the script and its arguments, quoted for a shell."""
    script, *arguments = sys.argv if argv is None else argv
    settings = [f"{name}={shlex.quote(value)}" for name, value in configuring_environment().items()]
    invocation = shlex.join([".venv/bin/python", Path(script).as_posix(), *arguments])
    return " ".join([*settings, invocation])


def write_json(report: ComparisonReport, path: Path) -> None:
    atomic_write_json(path, report.to_dict())


def write_predictions(report: ComparisonReport, folder: Path) -> list[Path]:
    """One official-format file per engine: ``{"question_id": "answer"}``, "" for abstentions."""
    written = []
    for result in report.engines:
        if result.failed:
            continue
        name = safe_name(
            result.label.replace(" ", "_").replace("(", "").replace(")", ""), what="engine label"
        )
        path = folder / f"{name}.json"
        atomic_write_json(
            path,
            {
                a.question_id: official_prediction(a.answer)
                for a in result.answers
                if a.kind == "fact"
            },
        )
        written.append(path)
    return written


def _forgetting_bars(axes: Axes, rows: list[EngineResult]) -> None:
    """Held-out questions before / after; held-out perplexity when there were no questions."""
    results = [(r.label, r.forgetting) for r in rows if r.forgetting is not None]
    by_qa = all(f.qa_before is not None for _, f in results)
    before = [(f.qa_before if by_qa else f.perplexity_before) or 0.0 for _, f in results]
    after = [(f.qa_after if by_qa else f.perplexity_after) or 0.0 for _, f in results]
    positions = range(len(results))
    axes.bar([p - 0.2 for p in positions], before, 0.4, label="before")
    axes.bar([p + 0.2 for p in positions], after, 0.4, label="after")
    labels = [label for label, _ in results]
    axes.set_xticks(list(positions), labels, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("held-out contains" if by_qa else "held-out perplexity")
    what = "questions" if by_qa else "perplexity"
    axes.set_title(f"Forgetting: held-out {what} before / after learning")
    # Headroom above the tallest bar, so that the legend never covers one.
    tallest = max([*before, *after], default=1.0)
    axes.set_ylim(0.0, tallest * 1.3 or 1.0)
    axes.legend(loc="upper center", ncol=2)


def write_plot(report: ComparisonReport, path: Path) -> None:
    """Accuracy against learn time, and held-out accuracy before and after learning (PNG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, plot_png(report))


def plot_png(report: ComparisonReport) -> bytes:
    """The comparison chart as PNG bytes (for a file, or inline in the HTML report)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report.engines if not r.failed]
    # 11 x 4.8 inches at 120 dpi: 1,320 px, the width of a page in a 1,400 px window.
    figure, (speed, forget) = plt.subplots(1, 2, figsize=(11, 4.8))
    for row in rows:
        x = max(row.learn_seconds or 0.0, 1e-3)
        speed.scatter(x, row.contains, s=60)
        speed.annotate(
            row.label, (x, row.contains), textcoords="offset points", xytext=(5, 5), fontsize=8
        )
    speed.set_xscale("log")
    speed.set_xlabel("learn seconds (log)")
    speed.set_ylabel("contains (fraction of questions)")
    speed.set_title("Accuracy vs learning cost")
    _forgetting_bars(forget, rows)
    figure.suptitle(f"{report.model} on {report.dataset}", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    return buffer.getvalue()
