"""Rich progress bars driven by the ``ProgressEvent`` callbacks of UI-blind code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from continual_learning.types import ProgressEvent
from continual_learning.ui.console import err_console


class ProgressRenderer:
    """A callable ``on_event`` target: one bar per task name, with the latest message and loss."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, event: ProgressEvent) -> None:
        detail = event.message
        if event.loss is not None:
            detail = f"{detail} loss {event.loss:.3f}".strip()
        if event.task not in self._tasks:
            self._tasks[event.task] = self._progress.add_task(
                event.task, total=event.total, detail=detail
            )
        self._progress.update(
            self._tasks[event.task], completed=event.completed, total=event.total, detail=detail
        )


@contextmanager
def progress_bars() -> Iterator[ProgressRenderer]:
    """``with progress_bars() as on_event: work(on_event=on_event)``: bars on stderr."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=err_console,
        transient=False,
    )
    with progress:
        yield ProgressRenderer(progress)
