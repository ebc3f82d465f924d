"""Tables for results: learn reports, engine info, models, config, history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from continual_learning.types import EngineInfo, LearnReport


def learn_table(
    reports: Sequence[LearnReport], *, title: str = "Learned", notes: bool = True
) -> Table:
    """One row per learned document; the engines' notes (e.g. self-study prompts and the
    teacher's answers) as the caption."""
    lines = [f"{r.doc_id}: {note}" for r in reports for note in r.notes] if notes else []
    table = Table(title=title, caption="\n".join(lines) or None, caption_justify="left")
    for column in ("document", "engine", "tokens", "chunks", "final loss", "seconds"):
        table.add_column(
            column, justify="right" if column not in ("document", "engine") else "left"
        )
    for report in reports:
        loss = "-" if report.final_loss is None else f"{report.final_loss:.3f}"
        table.add_row(
            report.doc_id,
            report.engine.replace("_", "-"),
            str(report.tokens),
            str(report.chunks),
            loss,
            f"{report.seconds:.2f}",
        )
    return table


def _headline(report: LearnReport) -> str:
    """The final loss for engines that train, else the engine's first reported figure."""
    if report.final_loss is not None:
        return f"loss {report.final_loss:.3f}"
    if report.figures:
        figure = report.figures[0]
        return f"{figure.name} {figure.value:g}{figure.unit}"
    return "-"


def info_table(info: EngineInfo) -> Table:
    table = Table(title=f"Engine {info.engine.replace('_', '-')}", show_header=False)
    table.add_column("label", style="bold")
    table.add_column("value")
    table.add_row("summary", info.summary)
    table.add_row("backbone", info.backbone)
    table.add_row("changes weights", "yes" if info.changes_weights else "no")
    table.add_row("documents learned", str(info.documents_learned))
    table.add_row("tokens learned", str(info.tokens_learned))
    for item in info.details:
        table.add_row(item.label, item.value)
    return table


def backbone_table(rows: Sequence[tuple[str, str]]) -> Table:
    table = Table(title="Backbone", show_header=False)
    table.add_column("label", style="bold")
    table.add_column("value")
    for label, value in rows:
        table.add_row(label, value)
    return table


def models_table(statuses: Sequence[Any]) -> Table:
    table = Table(title="Models")
    table.add_column("name", no_wrap=True)
    table.add_column("status")
    table.add_column("GGUF sha256", overflow="fold")
    for status in statuses:
        if not status.provisioned:
            state = "not fetched"
        elif status.verified:
            state = "[green]provisioned, hash verified[/]"
        else:
            state = "[red]provisioned, HASH MISMATCH[/]"
        table.add_row(status.name, state, status.gguf_sha256)
    return table


def config_table(rows: Sequence[tuple[str, Any, str]]) -> Table:
    table = Table(title="Configuration")
    for column in ("key", "value", "from"):
        table.add_column(column)
    for key, value, source in rows:
        table.add_row(key, repr(value) if isinstance(value, str) else str(value), source)
    return table


def comparison_table(report: Any) -> Table:
    """One row per engine: scores, recovery, cost, and forgetting on held-out material (the
    HTML page's columns, ``harness/outputs.py``)."""
    from continual_learning.harness.outputs import SUMMARY_COLUMNS, summary_cells

    title = f"{report.model} on {report.dataset}: {report.questions} questions"
    if getattr(report, "heldout_source", ""):
        title += f"\nheld-out: {report.heldout_source}"
    table = Table(title=title)
    for column in SUMMARY_COLUMNS:
        if column == "engine":  # a wrapped engine name is hard to read and to search for
            table.add_column(column, justify="left", no_wrap=True)
        else:
            table.add_column(column, justify="right")
    for row in report.engines:
        if row.failed:
            table.add_row(row.label, *["failed"] + [""] * (len(SUMMARY_COLUMNS) - 2))
            continue
        table.add_row(*summary_cells(row))
    return table


def checkpoints_table(infos: Sequence[Any]) -> Table:
    table = Table(title="Checkpoints")
    for column in ("name", "engine", "backbone", "documents", "size", "created"):
        table.add_column(column, justify="right" if column in ("documents", "size") else "left")
    for info in infos:
        if info.problem:
            table.add_row(info.name, "[red]unreadable[/]", info.problem, "", "", "")
            continue
        table.add_row(
            info.name,
            info.engine,
            info.backbone,
            str(info.documents),
            f"{info.total_bytes / 1024:.1f} KiB",
            info.created,
        )
    return table


def forgetting_table(report: Any) -> Table:
    """Held-out QA and perplexity before and after learning, per engine of a comparison."""
    table = Table(title=f"Forgetting on {report.dataset}")
    for column in (
        "engine",
        "held-out before",
        "after",
        "forgetting ratio",
        "BWT",
        "ppl before",
        "ppl after",
    ):
        table.add_column(column, justify="left" if column == "engine" else "right")
    for row in report.engines:
        f = row.forgetting
        if row.failed or f is None:
            continue
        ratio = "-" if f.forgetting_ratio is None else f"{f.forgetting_ratio:.3f}"
        ppl = (
            ("-", "-")
            if f.perplexity_before is None
            else (f"{f.perplexity_before:.2f}", f"{f.perplexity_after:.2f}")
        )
        qa = ("-", "-", "-")
        if f.qa_before is not None:
            qa = (f"{f.qa_before:.3f}", f"{f.qa_after:.3f}", f"{f.bwt:+.3f}")
        table.add_row(row.label, qa[0], qa[1], ratio, qa[2], *ppl)
    return table


def stream_table(report: Any) -> Table:
    """One row per engine of a stream: ACC, BWT, FWT with intervals, forgetting, recovery."""
    from continual_learning.harness.stream_outputs import STREAM_COLUMNS, stream_title, summary_rows

    table = Table(title=stream_title(report))
    for column in STREAM_COLUMNS:
        justify: Literal["left", "right"] = "left" if column == "engine" else "right"
        table.add_column(column, justify=justify, no_wrap=column == "engine")
    for row in summary_rows(report):
        table.add_row(*row)
    return table


def show_outcome(outcome: Any) -> None:
    """An engine action's ``ActionOutcome`` (``engines/actions.py``), the same in the menu and
    on the command line: its table, warning and message, the forgetting curve it asks for, and
    the files it wrote."""
    from continual_learning.ui.console import console

    if outcome.rows:
        table = Table(title=outcome.title or None, show_header=any(outcome.columns))
        for column in outcome.columns:
            table.add_column(column)
        for row in outcome.rows:
            table.add_row(*row)
        console.print(table)
    if outcome.warning:
        console.print(f"[yellow]{outcome.warning}[/]", highlight=False)
    if outcome.message:
        console.print(outcome.message, highlight=False)
    save_outcome_files(outcome, console)


def save_outcome_files(outcome: Any, where: Console) -> None:
    """Draw the forgetting curve an outcome asks for, and name on ``where`` every file the
    action wrote (with ``--json``, stderr: stdout is the data's)."""
    files = outcome.files
    if outcome.curve and outcome.curve_path is not None:
        from continual_learning.ui.plots import forgetting_curve

        forgetting_curve(list(outcome.curve), outcome.curve_path)
        files = (*files, outcome.curve_path)
    for path in files:
        where.print(f"Saved {path}", highlight=False)
