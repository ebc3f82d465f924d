"""What a stream run leaves behind: JSON, heat maps of R with ACC/BWT bars, and an HTML page."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from continual_learning.core.storage import atomic_write_bytes, atomic_write_json, atomic_write_text
from continual_learning.types import StreamReport, StreamSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def write_stream_json(report: StreamReport, path: Path) -> None:
    atomic_write_json(path, report.to_dict())


def estimate_text(figure: dict[str, Any] | None) -> str:
    """``0.27 ± 0.04`` (mean, half the 95% interval), or ``-`` where undefined."""
    if figure is None:
        return "-"
    half = (figure["high"] - figure["low"]) / 2
    return f"{figure['mean']:.2f} ± {half:.2f}"


def summary_rows(report: StreamReport) -> list[list[str]]:
    """The stream table's rows, shared by the terminal and the HTML page."""

    def number(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    def before_after(before: float | None, after: float | None) -> str:
        return "-" if before is None or after is None else f"{before:.2f}→{after:.2f}"

    failures = {r.label: r.error or "" for r in report.runs if r.failed}
    rows = []
    for s in report.summaries:
        if s.acc is None:
            reason = failures.get(s.label, "no run finished")
            rows.append([s.label, reason if reason.startswith("not run") else f"failed: {reason}"])
            continue
        rows.append(
            [
                s.label,
                estimate_text(s.acc),
                estimate_text(s.immediate),
                estimate_text(s.bwt),
                estimate_text(s.fwt),
                number(max(s.forgetting) if s.forgetting else None),
                number(s.recovery),
                number(s.recovery_oracle),
                before_after(s.reading_before, s.reading_after),
                before_after(s.perplexity_before, s.perplexity_after),
            ]
        )
    return rows


STREAM_COLUMNS = (
    "engine",
    "ACC (final)",
    "immediate",
    "BWT",
    "FWT",
    "max forgetting",
    "recovery",
    "recovery (oracle)",
    "reading before→after",
    "ppl before→after",
)


def stream_title(report: StreamReport) -> str:
    orders = len(report.seeds)
    return (
        f"{report.model} on {report.dataset}: {report.episodes} episodes (by {report.split}), "
        f"{orders} order{'s' if orders != 1 else ''}, {report.questions} questions; "
        "mean ± 95% interval"
    )


def stream_png(report: StreamReport) -> bytes:
    """A heat map of R (mean over orders) per engine, then ACC and BWT bars with intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [s for s in report.summaries if s.matrix]
    columns = max(len(shown), 1) + 1
    figure, axes = plt.subplots(1, columns, figsize=(2.6 * columns + 2, 3.4), squeeze=False)
    for ax, summary in zip(axes[0], shown, strict=False):
        _heat_map(ax, summary)
    _bars(axes[0][-1], shown)
    figure.suptitle(stream_title(report), fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _heat_map(ax: Axes, summary: StreamSummary) -> None:
    size = len(summary.matrix)
    ax.imshow(summary.matrix, vmin=0.0, vmax=1.0, cmap="viridis")
    for t in range(size):
        for j in range(size):
            value = summary.matrix[t][j]
            colour = "black" if value > 0.6 else "white"
            ax.text(j, t, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(summary.label, fontsize=8)
    ax.set_xticks(range(size), [str(j + 1) for j in range(size)], fontsize=7)
    ax.set_yticks(range(size), [str(t + 1) for t in range(size)], fontsize=7)
    ax.set_xlabel("asked about episode", fontsize=7)
    ax.set_ylabel("after learning episode", fontsize=7)


def _bars(ax: Axes, summaries: list[StreamSummary]) -> None:
    positions = range(len(summaries))
    for offset, name in ((-0.2, "acc"), (0.2, "bwt")):
        figures = [getattr(s, name) or {"mean": 0.0, "low": 0.0, "high": 0.0} for s in summaries]
        means = [f["mean"] for f in figures]
        errors = [[f["mean"] - f["low"] for f in figures], [f["high"] - f["mean"] for f in figures]]
        ax.bar(
            [p + offset for p in positions], means, 0.4, yerr=errors, capsize=2, label=name.upper()
        )
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xticks(
        list(positions), [s.label for s in summaries], rotation=40, ha="right", fontsize=7
    )
    ax.set_title("ACC and BWT (95% interval)", fontsize=8)
    ax.legend(fontsize=7)


def bars_png(report: StreamReport) -> bytes:
    """ACC and BWT per engine with their intervals, alone (the HTML page draws R as tables)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [s for s in report.summaries if s.matrix]
    figure, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(shown) + 2), 3.4))
    _bars(ax, shown)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def write_stream_plot(report: StreamReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, stream_png(report))


def write_stream_html(report: StreamReport, path: Path) -> None:
    """One self-contained page: the table, each engine's mean R as a coloured table, the ACC
    and BWT bars, and each order's R, laid out in a grid that fits the window."""
    from continual_learning.harness.html_report import STYLE, table_cells

    chart = base64.b64encode(bars_png(report)).decode("ascii")
    header = "".join(f"<th>{html.escape(c)}</th>" for c in STREAM_COLUMNS)
    rows = summary_rows(report)
    body = "".join(f"<tr>{table_cells([html.escape(cell) for cell in row])}</tr>" for row in rows)
    means = "".join(
        _matrix_figure(s.label, s.matrix, "mean over orders") for s in report.summaries if s.matrix
    )
    per_order = "".join(
        _matrix_figure(run.label, run.matrix, _order_caption(run))
        for run in report.runs
        if not run.failed
    )
    title = html.escape(stream_title(report))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body><h1>{title}</h1>
<p>R[t][j]: <code>contains</code> on episode j's questions after learning episodes 1..t
(rows: after learning episode t; columns: asked about episode j).
ACC: the last row's mean. BWT: mean of R[T][j] − R[j][j]. FWT: mean of R[j−1][j] minus
closed-book's. Intervals: 95% bootstrap over orders and questions. Held-out: {
        html.escape(report.heldout_source or "none")
    }. Made with {html.escape(", ".join(f"{k} {v}" for k, v in report.environment.items()))}.</p>
<table id="stream"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>
<h2>R, mean over orders</h2><div class="grid" id="matrices">{means}</div>
<img alt="ACC and BWT per engine, 95% intervals" src="data:image/png;base64,{chart}">
<h2>Every order</h2><div class="grid" id="orders">{per_order}</div>
</body></html>
"""
    atomic_write_text(path, page)


def _order_caption(run: Any) -> str:
    episodes = " | ".join(", ".join(episode) for episode in run.episodes)
    return f"order {run.seed}: {episodes}"


def _matrix_figure(label: str, matrix: Any, caption: str) -> str:
    """R as a table whose cells are coloured as the heat maps are (viridis, 0 to 1)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    colours = colormaps["viridis"]
    size = len(matrix)
    header = "<tr><th></th>" + "".join(f"<th>{j + 1}</th>" for j in range(size)) + "</tr>"
    rows = []
    for t, row in enumerate(matrix):
        cells = "".join(
            f'<td class="number" style="background:{to_hex(colours(v))};'
            f'color:{"black" if v > 0.6 else "white"}">{v:.2f}</td>'
            for v in row
        )
        rows.append(f"<tr><th>{t + 1}</th>{cells}</tr>")
    return (
        f"<figure><figcaption><b>{html.escape(label)}</b>, {html.escape(caption)}</figcaption>"
        f"<table>{header}{''.join(rows)}</table></figure>"
    )
