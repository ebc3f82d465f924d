"""What a comparison leaves behind: JSON, official SQuAD prediction files, and a chart."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from continual_learning.config.loader import configuring_environment
from continual_learning.core.scoring import official_prediction
from continual_learning.core.storage import atomic_write_bytes, atomic_write_json, safe_name
from continual_learning.types import ComparisonReport, EngineResult

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


def _forgetting_bars(axes, rows: list[EngineResult]) -> None:  # type: ignore[no-untyped-def]
    """Held-out questions before / after; held-out perplexity when there were no questions."""
    results = [(r.label, r.forgetting) for r in rows if r.forgetting is not None]
    by_qa = all(f.qa_before is not None for _, f in results)
    before = [f.qa_before if by_qa else f.perplexity_before for _, f in results]
    after = [f.qa_after if by_qa else f.perplexity_after for _, f in results]
    positions = range(len(results))
    axes.bar([p - 0.2 for p in positions], before, 0.4, label="before")
    axes.bar([p + 0.2 for p in positions], after, 0.4, label="after")
    labels = [label for label, _ in results]
    axes.set_xticks(list(positions), labels, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("held-out contains" if by_qa else "held-out perplexity")
    what = "questions" if by_qa else "perplexity"
    axes.set_title(f"Forgetting: held-out {what} before / after learning")
    axes.legend()


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
    figure, (speed, forget) = plt.subplots(1, 2, figsize=(12, 4.8))
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
