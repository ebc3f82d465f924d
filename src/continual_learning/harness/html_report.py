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
from continual_learning.harness.outputs import SUMMARY_COLUMNS, plot_png, summary_cells
from continual_learning.types import ComparisonReport, EngineResult

# Pages are read at a laptop's width: model output can be one long word, so the answers' cells
# wrap anywhere, others between words; charts are drawn to fit 1,400 px and shrink with the page.
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d232a; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; max-width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; vertical-align: top; }
#answers td { overflow-wrap: anywhere; }
th { background: #f3f5f7; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.right td.verdict { color: #1a7f37; } tr.wrong td.verdict { color: #cf222e; }
img { max-width: 100%; } .filters { margin: 1rem 0; } .filters label { margin-right: 1rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 1rem; }
.grid figure { margin: 0; } .grid figcaption { font-size: 0.85rem; }
.grid table { margin: 0.3rem 0; }
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


def table_cells(values: list[str], numeric_from: int = 1) -> str:
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
    if row.failed:
        label, reason = html.escape(row.label), html.escape(row.error or "")
        span = len(SUMMARY_COLUMNS) - 1
        return f'<tr><td>{label}</td><td colspan="{span}">failed: {reason}</td></tr>'
    values = summary_cells(row, within=_within)  # numbers and interval markup, but the label
    values[0] = html.escape(values[0])
    return f"<tr>{table_cells(values)}</tr>"


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
                f'data-result="{verdict}">{table_cells(values, numeric_from=4)}'
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
    header = "".join(f"<th>{html.escape(c)}</th>" for c in SUMMARY_COLUMNS)
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
