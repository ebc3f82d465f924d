"""Plain progress lines for logs: a line per phase, and one every few seconds in between."""

from __future__ import annotations

import io

from continual_learning.types import ProgressEvent
from continual_learning.ui.progress import PlainProgress


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
