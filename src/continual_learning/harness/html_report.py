"""A comparison as one self-contained HTML page: the table, the charts, and every answer.

Nothing is fetched when the page opens (no fonts, scripts or images from a network): the chart
is an inline PNG and the few lines of script that filter the answers are in the page. Every
string from a report (answers are model output) is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from continual_learning.core.storage import atomic_write_text
from continual_learning.harness.outputs import plot_png
from continual_learning.types import ComparisonReport, EngineResult

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d232a; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; vertical-align: top; }
th { background: #f3f5f7; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.right td.verdict { color: #1a7f37; } tr.wrong td.verdict { color: #cf222e; }
img { max-width: 100%; } .filters { margin: 1rem 0; } .filters label { margin-right: 1rem; }
"""

_SCRIPT = """
function applyFilters() {
  const engine = document.getElementById("engine-filter").value;
  const result = document.getElementById("result-filter").value;
  let shown = 0;
  for (const row of document.querySelectorAll("#answers tbody tr")) {
    const visible = (engine === "all" || row.dataset.engine === engine)
      && (result === "all" || row.dataset.result === result);
    row.hidden = !visible;
    if (visible) shown += 1;
  }
  document.getElementById("shown").textContent = shown;
}
document.getElementById("engine-filter").addEventListener("change", applyFilters);
document.getElementById("result-filter").addEventListener("change", applyFilters);
applyFilters();
"""

_STYLE_WORDS = {
    "sentence": "each in the model's own sentences",
    "short": "each asked for the answer alone (short style)",
}

_SUMMARY_COLUMNS = (
    "engine", "EM", "F1", "contains", "first / mid / last third", "paraphrase",
    "locality [95%]", "abstain acc", "recovery",
    "recovery (oracle)", "repeats", "learn s", "eval s", "held-out QA before → after",
    "reading before → after", "held-out ppl before → after",
)  # fmt: skip


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _cells(values: list[str], numeric_from: int = 1) -> str:
    return "".join(
        f'<td class="number">{v}</td>' if i >= numeric_from else f"<td>{v}</td>"
        for i, v in enumerate(values)
    )


def _within(interval: Sequence[float] | None) -> str:
    """A 95% interval after a figure, small: how far a share over these questions can move."""
    if not interval:
        return ""
    low, high = interval
    return f" <small>({low:.2f}–{high:.2f})</small>"


def _summary_row(row: EngineResult) -> str:
    label = html.escape(row.label)
    if row.failed:
        reason = html.escape(row.error or "")
        span = len(_SUMMARY_COLUMNS) - 1
        return f'<tr><td>{label}</td><td colspan="{span}">failed: {reason}</td></tr>'
    f = row.forgetting
    qa = (
        "-"
        if f is None or f.qa_before is None
        else f"{f.qa_before:.2f} → {f.qa_after:.2f}{_within(f.qa_after_interval)}"
    )
    ppl = (
        "-"
        if f is None or f.perplexity_before is None
        else f"{f.perplexity_before:.2f} → {f.perplexity_after:.2f}"
    )
    reading = (
        "-"
        if f is None or f.reading_before is None
        else f"{f.reading_before:.2f} → {f.reading_after:.2f}{_within(f.reading_after_interval)}"
    )
    values = [
        label,
        _number(row.exact_match),
        _number(row.f1),
        _number(row.contains),
        row.by_position_text(),
        _number(row.paraphrase_contains),
        row.locality_text(),
        _number(row.abstain_accuracy),
        _number(row.recovery, 2),
        _number(row.recovery_oracle, 2),
        _number(row.repeating, 2),
        _number(row.learn_seconds, 1),
        _number(row.eval_seconds, 1),
        qa,
        reading,
        ppl,
    ]
    return f"<tr>{_cells(values)}</tr>"


def _answer_rows(report: ComparisonReport) -> list[str]:
    rows = []
    for result in report.engines:
        for answer in result.answers:
            verdict = "right" if answer.score.contains >= 1.0 else "wrong"
            gold = " | ".join(answer.gold) if answer.gold else "(unanswerable)"
            values = [
                html.escape(answer.question),
                html.escape(gold),
                html.escape(result.label),
                html.escape(answer.answer),
                f"{answer.score.exact_match:.0f}",
                f"{answer.score.f1:.2f}",
            ]
            rows.append(
                f'<tr class="{verdict}" data-engine="{html.escape(result.label, quote=True)}" '
                f'data-result="{verdict}">{_cells(values, numeric_from=4)}'
                f'<td class="verdict">{verdict}</td></tr>'
            )
    return rows


def render_html(report: ComparisonReport) -> str:
    """The page for ``report``."""
    chart = base64.b64encode(plot_png(report)).decode("ascii")
    labels = [r.label for r in report.engines if not r.failed]
    options = "".join(
        f'<option value="{html.escape(label, quote=True)}">{html.escape(label)}</option>'
        for label in labels
    )
    answers = _answer_rows(report)
    header = "".join(f"<th>{html.escape(c)}</th>" for c in _SUMMARY_COLUMNS)
    answer_header = "".join(
        f"<th>{c}</th>" for c in ("question", "gold", "engine", "answer", "EM", "F1", "contains")
    )
    title = html.escape(f"{report.model} on {report.dataset}")
    heldout = html.escape(report.heldout_source or "none")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{title}</h1>
<p>{report.documents} documents, {report.questions} questions,
created {html.escape(report.created)}, answered {report.batch_size} at a time,
{_STYLE_WORDS.get(report.answer_style, "")}.
Held-out material: {heldout}.
Recovery = (contains − closed-book) / (ceiling − closed-book), against in-context
(every learned document that fits) and oracle-context (only the question's own document).</p>
<table id="summary"><thead><tr>{header}</tr></thead>
<tbody>{"".join(_summary_row(r) for r in report.engines)}</tbody></table>
<img alt="accuracy against learning cost, and forgetting" src="data:image/png;base64,{chart}">
<h2>Every answer</h2>
<div class="filters">
<label>engine <select id="engine-filter"><option value="all">all</option>{options}</select></label>
<label>result <select id="result-filter"><option value="all">all</option>
<option value="right">right (contains the gold answer)</option><option value="wrong">wrong</option>
</select></label>
<span id="shown">{len(answers)}</span> of {len(answers)} answers shown
</div>
<table id="answers"><thead><tr>{answer_header}</tr></thead>
<tbody>{"".join(answers)}</tbody></table>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def write_html(report: ComparisonReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_html(report))
