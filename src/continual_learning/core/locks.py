"""One writer at a time: an exclusive lock file per piece of workspace state, across processes.

Every command that reads a state, changes it and writes it back (learn, clear, checkpoints
load, the refresh wheel's verbs, the menu's) holds the state's lock from before it reads until
after it has written. A second writer waits, then reads the state the first one left, so both
changes survive. ``fcntl.flock`` locks belong to the open file: the kernel releases them when
the holder exits for any reason, ``kill -9`` included, so a crash never leaves a stale lock.
Readers do not lock: states are replaced by an atomic rename, so a reader sees the old one or
the new one, never half of each.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from continual_learning.errors import BusyError, StateError


@contextmanager
def exclusive_lock(
    path: Path,
    *,
    holder: str,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the lock file ``path``; ``holder`` says what the lock guards, for the messages.

    Busy: with ``wait``, ``on_wait`` hears why and the call blocks until the lock is free;
    without it, :class:`BusyError` is raised at once.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as exc:
        raise StateError(f"cannot create the lock file {path}: {exc.strerror or exc}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise BusyError(
                    f"another process is changing {holder}; try again when it has finished"
                ) from None
            if on_wait is not None:
                on_wait(f"waiting for another process changing {holder}...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
