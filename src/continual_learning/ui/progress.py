"""Progress of long work, driven by the ``ProgressEvent`` callbacks of UI-blind code.

In a terminal: Rich bars. Redirected to a file (``> run.log 2>&1``), a bar would show nothing
until it ends, so :class:`PlainProgress` writes plain lines instead: one when a task starts and
ends, and one every few seconds in between with done/total, rate and time left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

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
    """A callable ``on_event`` target: one bar per task name, with the latest message and loss.

    Events that name a source (a sweep's jobs) get one bar per source instead, showing the
    task it is on now: a sweep of 20 jobs keeps 20 bars, not one for every phase of every job.
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, event: ProgressEvent) -> None:
        detail = event.message
        if event.loss is not None:
            detail = f"{detail} loss {event.loss:.3f}".strip()
        bar = event.source or event.task
        if bar not in self._tasks:
            self._tasks[bar] = self._progress.add_task(event.title, detail=detail)
        self._progress.update(
            self._tasks[bar],
            description=event.title,
            completed=event.completed,
            total=event.total,
            detail=detail,
        )


@dataclass
class _TaskClock:
    started: float
    last_line: float


class PlainProgress:
    """A callable ``on_event`` target that writes a line per phase and every ``every`` seconds.

    ``clock`` is injectable so that a test can step time instead of sleeping.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._every = every
        self._clock = clock
        self._tasks: dict[str, _TaskClock] = {}

    def __call__(self, event: ProgressEvent) -> None:
        now = self._clock()
        task = self._tasks.get(event.title)
        if task is None:
            self._tasks[event.title] = _TaskClock(started=now, last_line=now)
            self._write(event, now - now, "started")
            return
        finished = event.total is not None and event.completed >= event.total
        if finished or now - task.last_line >= self._every:
            task.last_line = now
            self._write(event, now - task.started, "done" if finished else "")
        if finished:
            del self._tasks[event.title]  # a task name used again later starts afresh

    def _write(self, event: ProgressEvent, elapsed: float, state: str) -> None:
        parts = [f"[{time.strftime('%H:%M:%S')}] {event.title}"]
        total = "?" if event.total is None else str(event.total)
        parts.append(f"{event.completed}/{total}")
        if state == "started":
            parts.append("started")
        elif elapsed >= 1.0 and event.completed:  # a rate over less than a second says nothing
            rate = event.completed / elapsed
            parts.append(f"{rate:.2f}/s" if rate >= 1 else f"{1 / rate:.1f} s each")
            if state == "done":
                parts.append(f"done in {elapsed:.0f} s")
            elif event.total is not None:
                parts.append(f"ETA {(event.total - event.completed) / rate:.0f} s")
        elif state == "done":
            parts.append(f"done in {elapsed:.1f} s")
        if event.message:
            parts.append(event.message)
        if event.loss is not None:
            parts.append(f"loss {event.loss:.3f}")
        print("  ".join(parts), file=self._stream, flush=True)


@contextmanager
def progress_bars() -> Iterator[Callable[[ProgressEvent], None]]:
    """``with progress_bars() as on_event: work(on_event=on_event)``: progress on stderr.

    Rich bars in a terminal; plain timestamped lines when stderr is a file or a pipe.
    """
    if not err_console.is_terminal:
        yield PlainProgress(sys.stderr)
        return
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
