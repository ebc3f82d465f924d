"""Torch threads: physical cores by default, and other workbench processes are seen."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import torch

from continual_learning.core.threads import configure_threads, physical_cores, thread_usage

OTHER_PROCESS = """
import sys, time
from continual_learning.core.threads import configure_threads
configure_threads(int(sys.argv[1]))
print("ready", flush=True)
time.sleep(60)
"""


def test_default_is_one_thread_per_physical_core() -> None:
    previous = torch.get_num_threads()
    try:
        usage = configure_threads(0)
        assert usage.threads == physical_cores() == torch.get_num_threads()
        assert 1 <= usage.cores <= (os.cpu_count() or 1)
    finally:
        torch.set_num_threads(previous)


def test_another_workbench_process_is_reported_and_forgotten_when_it_ends() -> None:
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(physical_cores())],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "ready"
        usage = thread_usage()
        assert usage.others.get(other.pid) == physical_cores()
        assert usage.oversubscribed
        assert "oversubscribed" in usage.describe()
    finally:
        other.kill()
        other.wait()
    deadline = time.monotonic() + 10
    while other.pid in thread_usage().others and time.monotonic() < deadline:
        time.sleep(0.1)
    assert other.pid not in thread_usage().others
