"""Torch threads: physical cores by default, and other workbench processes are seen."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import torch

from continual_learning.core.threads import configure_threads, physical_cores, thread_usage

from helpers import cli

OTHER_PROCESS = """
import sys, time
import torch
from continual_learning.core.threads import configure_threads
configure_threads(int(sys.argv[1]))
print("ready", flush=True)
if sys.argv[2] == "idle":
    time.sleep(60)
matrix = torch.rand(512, 512)
while True:  # busy on every thread it took, as a comparison is
    matrix = torch.tanh(matrix @ matrix)
"""


def _other(state: str) -> subprocess.Popen[str]:
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(physical_cores()), state],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None and other.stdout.readline().strip() == "ready"
    return other


def test_default_is_one_thread_per_physical_core_the_others_leave_free() -> None:
    previous = torch.get_num_threads()
    try:
        usage = configure_threads(0)
        free = max(1, physical_cores() - usage.busy_elsewhere)
        assert usage.threads == free == torch.get_num_threads()
        assert 1 <= usage.cores <= (os.cpu_count() or 1)
    finally:
        torch.set_num_threads(previous)


def test_an_idle_workbench_process_is_seen_but_leaves_every_core() -> None:
    other = _other("idle")
    try:
        usage = thread_usage()
        assert usage.others.get(other.pid) == physical_cores()
        assert usage.busy.get(other.pid) == 0  # holds threads, computes nothing: takes no core
    finally:
        other.kill()
        other.wait()
    deadline = time.monotonic() + 10
    while other.pid in thread_usage().others and time.monotonic() < deadline:
        time.sleep(0.1)
    assert other.pid not in thread_usage().others


def test_a_busy_workbench_process_keeps_its_cores_and_the_cli_says_so(
    real_backbone: object,
) -> None:
    other = _other("busy")
    try:
        time.sleep(0.5)  # let it start computing
        previous = torch.get_num_threads()
        try:
            started_now = configure_threads(0)  # the other computes on every core
        finally:
            torch.set_num_threads(previous)
        # The other takes every core it can get; how many it gets depends on what else runs
        # (the other test worker, an install): this process takes the cores it leaves free.
        busy = started_now.busy_elsewhere
        assert busy >= 1 and started_now.threads == max(1, started_now.cores - busy)
        wording = "unreliable" if started_now.oversubscribed else "slower than on an idle"
        assert wording in (started_now.notice() or "")
        if started_now.oversubscribed:
            assert "oversubscribed" in started_now.describe()
        notice = cli("ask", "--engine", "closed-book", "What is 2 + 2?").stderr
        # Its own start-up competes with the other process, which may then be seen busy on one
        # core only: the CLI then says "slower" rather than "unreliable"; either way, it says so.
        assert "other workbench process" in notice and "timings are" in notice
    finally:
        other.kill()
        other.wait()
