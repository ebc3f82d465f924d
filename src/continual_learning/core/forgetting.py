"""Forgetting metrics shared by the harness, the benchmarks, the menu and the Replay-LoRA engine.

For a score (higher is better):

- ``forgetting_ratio(before, after) = (before - after) / before`` (the reference project's
  measure): 0 means nothing was forgotten, negative means the score improved.
- ``backward_transfer(before, after) = after - before``: negative means forgetting.

For perplexity (lower is better), with the refresh wheel's sign conventions:

- ``BWT_t = PPL_anchor_before - PPL_anchor_after`` (:func:`perplexity_bwt`): negative when the
  anchor set, text the model must keep predicting, got harder during cycle ``t``;
- ``FWT_t = PPL_pre_(t-1) - PPL_pre_t`` (:func:`perplexity_fwt`): the perplexity of each cycle's
  new data measured *before* training on it, compared with the previous cycle's; positive when
  what was learned so far makes new data easier to predict;
- ``KRS = 100 * exp(-lambda * sum(|BWT_t| for BWT_t < 0))`` (:func:`knowledge_retention_score`):
  100 when nothing was ever forgotten, falling towards 0 as forgetting accumulates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


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


def perplexity_fwt(previous_pre: float, pre: float) -> float:
    """Positive when this cycle's new data started out easier than the last cycle's."""
    return previous_pre - pre


def knowledge_retention_score(bwts: Iterable[float], lam: float) -> float:
    """100 with no forgetting; every negative BWT lowers it, by ``exp(-lam * |BWT|)``."""
    forgotten = sum(abs(b) for b in bwts if b < 0)
    return 100.0 * math.exp(-lam * forgotten)
