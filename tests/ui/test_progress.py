"""Progress: plain lines for logs (a line per phase, and one every few seconds in between), and
Rich bars in a terminal."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from continual_learning.types import ProgressEvent
from continual_learning.ui.progress import PlainProgress, ProgressRenderer


class SteppedClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_at_start_every_interval_and_at_the_end() -> None:
    stream, clock = io.StringIO(), SteppedClock()
    progress = PlainProgress(stream, every=5.0, clock=clock)
    progress(ProgressEvent(task="answer ttt_e2e", completed=0, total=40))
    for done in range(1, 41):
        clock.now += 0.5  # two answers a second: a line every ten answers
        progress(ProgressEvent(task="answer ttt_e2e", completed=done, total=40))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 + 4  # started, three intervals, done (the fourth interval is the end)
    assert lines[0].endswith("answer ttt_e2e  0/40  started")
    assert "answer ttt_e2e  10/40  2.00/s  ETA 15 s" in lines[1]
    assert "answer ttt_e2e  40/40  2.00/s  done in 20 s" in lines[-1]


def test_slow_steps_show_seconds_each_and_the_loss() -> None:
    stream, clock = io.StringIO(), SteppedClock()
    progress = PlainProgress(stream, every=5.0, clock=clock)
    progress(ProgressEvent(task="learn", completed=0, total=3))
    clock.now += 12.0
    progress(ProgressEvent(task="learn", completed=1, total=3, loss=2.5))
    assert "learn  1/3  12.0 s each  ETA 24 s  loss 2.500" in stream.getvalue()


def test_a_task_name_used_again_starts_afresh() -> None:
    stream, clock = io.StringIO(), SteppedClock()
    progress = PlainProgress(stream, every=5.0, clock=clock)
    for _ in range(2):
        progress(ProgressEvent(task="answer in_context", completed=0, total=1))
        clock.now += 1.0
        progress(ProgressEvent(task="answer in_context", completed=1, total=1))
    assert stream.getvalue().count("started") == 2
    assert stream.getvalue().count("done in 1 s") == 2


def test_work_done_within_a_second_shows_no_rate() -> None:
    stream, clock = io.StringIO(), SteppedClock()
    progress = PlainProgress(stream, every=5.0, clock=clock)
    progress(ProgressEvent(task="learn closed_book", completed=0, total=1))
    clock.now += 0.001
    progress(ProgressEvent(task="learn closed_book", completed=1, total=1))
    assert stream.getvalue().splitlines()[-1].endswith("learn closed_book  1/1  done in 0.0 s")


def test_lines_of_a_sweep_job_name_the_job() -> None:
    stream, clock = io.StringIO(), SteppedClock()
    progress = PlainProgress(stream, every=5.0, clock=clock)
    for job in ("facts ttt-e2e s0", "facts ttt-e2e s1"):  # the same task in two jobs at once
        progress(ProgressEvent(task="learn", completed=0, total=2, source=job))
    clock.now += 2.0
    progress(ProgressEvent(task="learn", completed=2, total=2, source="facts ttt-e2e s1"))
    lines = stream.getvalue().splitlines()
    assert [line.split("] ")[1] for line in lines] == [
        "facts ttt-e2e s0: learn  0/2  started",
        "facts ttt-e2e s1: learn  0/2  started",
        "facts ttt-e2e s1: learn  2/2  1.00/s  done in 2 s",
    ]


def test_a_terminal_keeps_one_bar_per_sweep_job_showing_its_current_task() -> None:
    progress = Progress(console=Console(file=io.StringIO(), force_terminal=True))
    render = ProgressRenderer(progress)
    render(ProgressEvent(task="sweep", completed=0, total=2))
    for job in ("facts ace s0", "facts ttt-e2e s0"):
        for task in ("learn", "answer", "held-out perplexity"):
            render(ProgressEvent(task=task, completed=0, total=4, source=job))
            render(ProgressEvent(task=task, completed=4, total=4, source=job))
    render(ProgressEvent(task="answer", completed=1, total=4, source="facts ace s0"))
    bars = {bar.description: (bar.completed, bar.total) for bar in progress.tasks}
    assert bars == {
        "sweep": (0, 2),
        "facts ace s0: answer": (1, 4),
        "facts ttt-e2e s0: held-out perplexity": (4, 4),
    }
