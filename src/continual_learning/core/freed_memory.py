"""Keep freed memory in the process, so decoding does not pay the kernel for fresh pages.

glibc's ``malloc`` serves every block above its mmap threshold (128 KiB, raised on the fly up
to 32 MiB) with a fresh ``mmap`` and hands it back to the kernel on ``free``. Decoding a batch
frees and allocates tensors of that size at every step (the key/value cache grows by a
concatenation per layer, the logits, the attention scores), so each step maps new pages, and
the kernel zeroes every one of them on first touch: on these CPUs a batch of 32 long prompts
spent a third of its CPU time in the kernel doing so. With ``model.reuse_freed_memory`` the process
fixes the threshold at glibc's largest (32 MiB), so blocks up to that size come from its heap,
and never trims the heap, so what is freed serves the next step (``mallopt``). The numbers
computed do not change, only where their memory comes from; the cost is that the process keeps
its peak heap until it exits (measured: docs/speed.md#freed-memory).

Nothing happens where the C library is not glibc (macOS, musl): there is no such setting.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

log = logging.getLogger(__name__)

# mallopt's parameter numbers, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGEST_MMAP_THRESHOLD = 32 * 1024 * 1024
"""glibc refuses a larger threshold on 64-bit systems (HEAP_MAX_SIZE / 2)."""

_applied = False


def reuse_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse (once per process); whether it took."""
    global _applied
    if _applied:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # Both return 1 on success. The trim threshold is the largest int: never give the top
        # of the heap back to the kernel.
        took = (
            libc.mallopt(M_MMAP_THRESHOLD, LARGEST_MMAP_THRESHOLD) == 1
            and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1
        )
    except (OSError, AttributeError) as exc:
        log.debug("mallopt is not available: %s", exc)
        return False
    _applied = took
    return took
