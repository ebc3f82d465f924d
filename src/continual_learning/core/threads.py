"""How many CPU threads torch computes with, and whether other workbench processes compete.

torch's intra-op pool defaults to every logical CPU it sees. Decoding a small model is bound by
memory bandwidth, and two hyper-threads of one core share it, so the workbench uses one thread
per physical core (``model.threads: 0``) unless told otherwise. Two workbench processes on one
machine (a comparison and a menu, two sweeps) would each take every core and slow both down
more than they gain (a TTT-E2E learn took 88 s beside a running comparison against 15 s alone);
each process therefore records its thread count in a small file per process under the system's
temporary folder, and :func:`thread_usage` reports the others and how many of their threads
were busy over the last tenth of a second. A process started with ``model.threads: 0`` takes
only the cores the busy ones leave free (at least one; an idle menu leaves them all), and
:meth:`ThreadUsage.notice` says so in plain words: the CLI and the menu print it, because
timings taken while the machine is shared are not worth quoting.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


def physical_cores() -> int:
    """Distinct (package, core) pairs among the CPUs this process may run on."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    cores: set[tuple[str, str]] = set()
    for block in text.split("\n\n"):
        pairs = (line.partition(":") for line in block.splitlines())
        fields = {key.strip(): value.strip() for key, _, value in pairs}
        if "processor" not in fields or "core id" not in fields:
            continue
        if allowed is not None and int(fields["processor"]) not in allowed:
            continue
        cores.add((fields.get("physical id", "0"), fields["core id"]))
    if cores:
        return len(cores)
    return len(allowed) if allowed else (os.cpu_count() or 1)


@dataclass(frozen=True, kw_only=True)
class ThreadUsage:
    """This process's threads, the machine's cores, and what other workbench processes use."""

    threads: int
    cores: int
    others: dict[int, int]
    """pid -> threads of every other live workbench process on this machine."""
    busy: dict[int, int]
    """pid -> how many of its threads that process kept busy just now (an idle menu: 0)."""

    @property
    def busy_elsewhere(self) -> int:
        return sum(self.busy.values())

    @property
    def oversubscribed(self) -> bool:
        return self.threads + self.busy_elsewhere > self.cores

    def notice(self) -> str | None:
        """One line for the user when other workbench processes compute on the cores now."""
        if not self.busy_elsewhere:
            return None
        text = (
            f"{sum(1 for b in self.busy.values() if b)} other workbench process(es) compute on "
            f"{self.busy_elsewhere} of this machine's {self.cores} cores; this one uses "
            f"{self.threads} thread(s)"
        )
        if self.oversubscribed:
            return text + ": the cores are oversubscribed, timings are unreliable until they end"
        return text + ", so timings are slower than on an idle machine"

    def describe(self) -> str:
        text = f"{self.threads} of {self.cores} physical cores"
        if self.others:
            text += (
                f"; {len(self.others)} other workbench process(es) hold "
                f"{sum(self.others.values())} more, {self.busy_elsewhere} busy now"
            )
        if self.oversubscribed:
            text += ": oversubscribed, set model.threads so the sum fits the cores"
        return text


def _registry() -> Path:
    return Path(tempfile.gettempdir()) / f"continual-learning-{os.getuid()}" / "threads"


def _alive(pid: int) -> bool:
    """Signal 0 checks a process exists; PermissionError means it does (another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def thread_usage() -> ThreadUsage:
    """What this process uses now and what the other registered, live processes use."""
    import torch

    others: dict[int, int] = {}
    folder = _registry()
    for entry in folder.glob("*") if folder.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            threads = int(entry.read_text().strip() or 0)
        except (OSError, ValueError):
            continue
        if _alive(int(entry.name)):
            others[int(entry.name)] = threads
        else:
            entry.unlink(missing_ok=True)  # a process that died without cleaning up
    return ThreadUsage(
        threads=torch.get_num_threads(),
        cores=physical_cores(),
        others=others,
        busy=_busy_threads(others),
    )


def _busy_threads(others: dict[int, int], interval: float = 0.1) -> dict[int, int]:
    """How many threads each process kept busy over ``interval`` seconds (from the CPU time
    /proc reports), at most what it registered; where /proc cannot say, all of them."""
    if not others:
        return {}
    before = {pid: _cpu_seconds(pid) for pid in others}
    time.sleep(interval)
    busy = {}
    for pid, threads in others.items():
        start, end = before[pid], _cpu_seconds(pid)
        used = threads if start is None or end is None else round((end - start) / interval)
        busy[pid] = max(0, min(threads, used))
    return busy


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of process ``pid`` so far, or None where /proc has none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def configure_threads(requested: int) -> ThreadUsage:
    """Set torch's intra-op threads and register them. ``0``: the physical cores that other
    workbench processes busy now leave free, at least one (an idle one takes none)."""
    import torch

    found = thread_usage()
    torch.set_num_threads(requested or max(1, found.cores - found.busy_elsewhere))
    entry = _registry() / str(os.getpid())
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text(str(torch.get_num_threads()))
        atexit.register(entry.unlink, missing_ok=True)
    except OSError:  # a read-only temp folder only costs the oversubscription warning
        log.debug("cannot register threads in %s", entry.parent)
    usage = dataclasses.replace(found, threads=torch.get_num_threads())
    if usage.others:
        log.info("torch threads: %s", usage.describe())
    return usage
