"""The arithmetic of the continual-learning protocol, on per-question scores (no torch, no model).

After learning episode ``t`` of ``T`` (``t`` counted from 0 here), the engine answers every
question of every episode; ``scores[t][q]`` is question ``q``'s score then and ``episode_of[q]``
the episode its document is in. From those (GEM, Lopez-Paz & Ranzato 2017; forgetting as in
Chaudhry et al. 2018):

- ``R[t][j]``: the mean score on episode ``j``'s questions after learning up to episode ``t``;
- **ACC** = mean of the last row, ``R[T-1][j]`` over all ``j`` (the "final" score);
- **immediate** = mean of the diagonal ``R[j][j]`` (each episode just after it was learned);
- **BWT** = mean over ``j < T-1`` of ``R[T-1][j] - R[j][j]`` (negative: later learning undid
  earlier learning);
- **FWT** = mean over ``j >= 1`` of ``R[j-1][j] - b[j]``, ``b[j]`` being closed-book's
  ``R[j-1][j]`` (positive: what was learned helps answer what was not learned yet);
- **forgetting** of episode ``j < T-1`` = ``max over t < T-1 of R[t][j]`` minus ``R[T-1][j]``.

Intervals: a percentile bootstrap over document orders (seeds) *and* questions: each draw picks
orders with replacement and, within each, an episode's questions with replacement (the same
draw for every row, so a question's before and after stay paired), then averages the metric
over the orders drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Matrix = list[list[float]]


@dataclass(frozen=True, kw_only=True)
class SeedScores:
    """One document order's per-question scores: ``scores[t][q]``, and each question's episode."""

    scores: Sequence[Sequence[float]]
    episode_of: Sequence[int]


def accuracy_matrix(
    scores: Sequence[Sequence[float]] | np.ndarray, episode_of: Sequence[int] | np.ndarray
) -> Matrix:
    """``R[t][j]``: the mean score on episode ``j``'s questions after episode ``t``."""
    table = np.asarray(scores, dtype=float)
    episodes = np.asarray(episode_of)
    count = table.shape[0]
    missing = [j for j in range(count) if not (episodes == j).any()]
    if missing:
        raise ValueError(f"episodes {missing} have no questions: every episode needs one")
    return [[float(table[t, episodes == j].mean()) for j in range(count)] for t in range(count)]


def acc(matrix: Matrix) -> float:
    return float(np.mean(matrix[-1]))


def immediate(matrix: Matrix) -> float:
    return float(np.mean([matrix[j][j] for j in range(len(matrix))]))


def bwt(matrix: Matrix) -> float | None:
    last = len(matrix) - 1
    if last == 0:
        return None
    return float(np.mean([matrix[last][j] - matrix[j][j] for j in range(last)]))


def fwt(matrix: Matrix, baseline: Matrix) -> float | None:
    if len(matrix) == 1:
        return None
    gains = [matrix[j - 1][j] - baseline[j - 1][j] for j in range(1, len(matrix))]
    return float(np.mean(gains))


def forgetting(matrix: Matrix) -> list[float]:
    """Per episode ``j < T-1``: the best it ever scored before the end, minus its final score."""
    last = len(matrix) - 1
    return [max(matrix[t][j] for t in range(j, last)) - matrix[last][j] for j in range(last)]


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """A figure over several orders: its mean, a 95% bootstrap interval, and each order's value."""

    mean: float
    low: float
    high: float
    per_seed: tuple[float, ...]

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.half_width:.2f}"


MetricOf = Callable[[Matrix, Matrix], float | None]
"""A metric of (engine's R, closed-book's R)."""


def estimate(
    metric: MetricOf,
    runs: Sequence[SeedScores],
    baselines: Sequence[SeedScores],
    *,
    draws: int = 1000,
    seed: int = 0,
) -> Estimate | None:
    """``metric`` per order, averaged, with its 95% interval; None where it is undefined (BWT
    and FWT of a single episode)."""
    point = [
        metric(accuracy_matrix(r.scores, r.episode_of), accuracy_matrix(b.scores, b.episode_of))
        for r, b in zip(runs, baselines, strict=True)
    ]
    if not point or any(p is None for p in point):
        return None
    rng = np.random.default_rng(seed)
    samples = [_bootstrap_draw(metric, runs, baselines, rng) for _ in range(draws)]
    low, high = np.percentile(samples, [2.5, 97.5])
    values = tuple(float(p) for p in point if p is not None)
    return Estimate(mean=float(np.mean(values)), low=float(low), high=float(high), per_seed=values)


def _bootstrap_draw(
    metric: MetricOf,
    runs: Sequence[SeedScores],
    baselines: Sequence[SeedScores],
    rng: np.random.Generator,
) -> float:
    chosen = rng.integers(0, len(runs), size=len(runs))
    values = []
    for index in chosen:
        run, baseline = runs[index], baselines[index]
        episodes = np.asarray(run.episode_of)
        picked = _resample_questions(episodes, rng)
        matrix = accuracy_matrix(np.asarray(run.scores)[:, picked], episodes[picked])
        base = accuracy_matrix(np.asarray(baseline.scores)[:, picked], episodes[picked])
        value = metric(matrix, base)
        values.append(0.0 if value is None else value)
    return float(np.mean(values))


def _resample_questions(episode_of: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Question indices drawn with replacement within each episode (each keeps its size)."""
    picked = [
        rng.choice(np.flatnonzero(episode_of == j), size=int((episode_of == j).sum()))
        for j in np.unique(episode_of)
    ]
    return np.concatenate(picked)
