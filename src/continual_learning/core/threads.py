"""How many CPU threads torch computes with, and whether other workbench processes compete.

torch's intra-op pool defaults to every logical CPU it sees. Decoding a small model is bound by
memory bandwidth, and two hyper-threads of one core share it, so the workbench uses one thread
per physical core (``model.threads: 0``) unless told otherwise. Two workbench processes on one
machine (a comparison and a menu, two sweeps) would each take every core and slow both down
more than they gain; each process therefore records its thread count in a small file per
process under the system's temporary folder, and :func:`thread_usage` reports the others, so the
``info`` screen (and the log, with ``--verbose``) says when the machine is oversubscribed.
"""

from __future__ import annotations

import atexit
import logging
import os
import tempfile
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

    @property
    def oversubscribed(self) -> bool:
        return self.threads + sum(self.others.values()) > self.cores

    def describe(self) -> str:
        text = f"{self.threads} of {self.cores} physical cores"
        if self.others:
            text += (
                f"; {len(self.others)} other workbench process(es) use "
                f"{sum(self.others.values())} more"
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
    return ThreadUsage(threads=torch.get_num_threads(), cores=physical_cores(), others=others)


def configure_threads(requested: int) -> ThreadUsage:
    """Set torch's intra-op threads (0: physical cores), register them, warn on oversubscription."""
    import torch

    torch.set_num_threads(requested or physical_cores())
    entry = _registry() / str(os.getpid())
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text(str(torch.get_num_threads()))
        atexit.register(entry.unlink, missing_ok=True)
    except OSError:  # a read-only temp folder only costs the oversubscription warning
        log.debug("cannot register threads in %s", entry.parent)
    usage = thread_usage()
    if usage.oversubscribed:  # `info` shows it; a warning here would garble every command
        log.info("torch threads: %s", usage.describe())
    return usage
