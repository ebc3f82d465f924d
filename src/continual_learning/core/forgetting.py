"""Forgetting metrics shared by the harness, the benchmarks, the menu and the Replay-LoRA engine.

- ``forgetting_ratio(before, after) = (before - after) / before`` (the reference project's
  measure): 0 means nothing was forgotten, negative means the score improved.
- ``backward_transfer(before, after) = after - before`` for a score (higher is better): negative
  means forgetting. For perplexity, where lower is better, the Replay-LoRA engine's
  ``BWT_t = PPL_before - PPL_after`` is the same sign convention: use :func:`perplexity_bwt`.
"""

from __future__ import annotations


def forgetting_ratio(before: float, after: float) -> float | None:
    """None when ``before`` is zero: there was nothing to forget."""
    if before == 0:
        return None
    return (before - after) / before


def backward_transfer(before: float, after: float) -> float:
    return after - before


def perplexity_bwt(before: float, after: float) -> float:
    """Negative when perplexity rose, i.e. when held-out text became less predictable."""
    return before - after
