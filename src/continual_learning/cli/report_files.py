"""A comparison's or a stream's table, its failures and its files: one way for the CLI and
the menu to show and save what a run produced. Where each file went is said on stderr, so that
``--json`` leaves stdout to the data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from continual_learning.types import ComparisonReport, StreamReport
from continual_learning.ui.console import console, err_console


@dataclass(frozen=True)
class ReportFiles:
    """Where to write a run's outputs; None: not that one."""

    report: Path | None = None
    """The full report as JSON (every answer): what ``report`` reads back."""
    plot: Path | None = None
    html: Path | None = None
    predictions: Path | None = None
    """A folder of official SQuAD prediction files (comparisons only)."""

    @classmethod
    def in_folder(cls, folder: Path, stem: str) -> ReportFiles:
        """Every output of a run, named ``stem.*`` in ``folder`` (the menu's choice)."""
        return cls(
            report=folder / f"{stem}.json",
            plot=folder / f"{stem}.png",
            html=folder / f"{stem}.html",
            predictions=folder / "predictions",
        )


def show_comparison(report: ComparisonReport) -> None:
    from continual_learning.ui.render import comparison_table

    console.print(comparison_table(report))
    for result in report.engines:
        if result.failed:
            console.print(f"[red]{result.label} failed:[/] {result.error}")


def show_stream(report: StreamReport) -> None:
    from continual_learning.ui.render import stream_table

    console.print(stream_table(report))
    for run in report.runs:
        if run.failed:
            console.print(f"[red]{run.label} (order {run.seed}) failed:[/] {run.error}")


def save_comparison(report: ComparisonReport, files: ReportFiles) -> None:
    from continual_learning.harness.html_report import write_html
    from continual_learning.harness.outputs import write_json, write_plot, write_predictions

    if files.report:
        write_json(report, files.report)
        err_console.print(f"report: {files.report}")
    if files.plot:
        write_plot(report, files.plot)
        err_console.print(f"chart: {files.plot}")
    if files.html:
        write_html(report, files.html)
        err_console.print(f"HTML page: {files.html}")
    if files.predictions:
        written = write_predictions(report, files.predictions)
        err_console.print(f"predictions: {len(written)} files in {files.predictions}")


def save_stream(report: StreamReport, files: ReportFiles) -> None:
    from continual_learning.harness.stream_outputs import (
        write_stream_html,
        write_stream_json,
        write_stream_plot,
    )

    for path, writer, what in (
        (files.report, write_stream_json, "report"),
        (files.plot, write_stream_plot, "heat maps"),
        (files.html, write_stream_html, "HTML page"),
    ):
        if path:
            writer(report, path)
            err_console.print(f"{what}: {path}")
