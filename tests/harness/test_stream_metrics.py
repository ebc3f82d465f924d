"""The accuracy-matrix arithmetic against a case worked by hand, and the bootstrap's intervals."""

from __future__ import annotations

import numpy as np
import pytest

from continual_learning.harness import stream_metrics as sm

# Three episodes, two questions each; scores[t][q] after learning episode t.
EPISODE_OF = [0, 0, 1, 1, 2, 2]
SCORES = [
    [1, 1, 0, 0, 0, 1],  # after episode 0: R[0] = [1.0, 0.0, 0.5]
    [1, 0, 1, 1, 0, 0],  # after episode 1: R[1] = [0.5, 1.0, 0.0]
    [0, 0, 1, 0, 1, 1],  # after episode 2: R[2] = [0.0, 0.5, 1.0]
]
CLOSED_BOOK = [[0, 0, 0, 0, 0, 1]] * 3  # R = [0, 0, 0.5] in every row


def test_the_matrix_and_its_figures_match_the_hand_computed_case() -> None:
    matrix = sm.accuracy_matrix(SCORES, EPISODE_OF)
    assert matrix == [[1.0, 0.0, 0.5], [0.5, 1.0, 0.0], [0.0, 0.5, 1.0]]
    assert sm.acc(matrix) == pytest.approx(0.5)  # (0 + 0.5 + 1) / 3
    assert sm.immediate(matrix) == pytest.approx(1.0)  # the diagonal
    assert sm.bwt(matrix) == pytest.approx(-0.75)  # ((0 - 1) + (0.5 - 1)) / 2
    baseline = sm.accuracy_matrix(CLOSED_BOOK, EPISODE_OF)
    # R[0][1] - b[1] = 0 - 0, R[1][2] - b[2] = 0 - 0.5
    assert sm.fwt(matrix, baseline) == pytest.approx(-0.25)
    # episode 0: best before the end 1.0, final 0.0; episode 1: best 1.0, final 0.5
    assert sm.forgetting(matrix) == pytest.approx([1.0, 0.5])


def test_one_episode_has_no_bwt_or_fwt_and_an_empty_episode_is_refused() -> None:
    single = sm.accuracy_matrix([[1, 0]], [0, 0])
    assert sm.bwt(single) is None and sm.fwt(single, single) is None
    with pytest.raises(ValueError, match="no questions"):
        sm.accuracy_matrix(SCORES, [0, 0, 0, 0, 2, 2])


def _toy_order(seed: int) -> sm.SeedScores:
    """A fixed toy: 3 episodes of 8 questions whose scores differ from order to order."""
    rng = np.random.default_rng(seed)
    return sm.SeedScores(
        scores=(rng.random((3, 24)) < 0.5).astype(float), episode_of=[0] * 8 + [1] * 8 + [2] * 8
    )


def test_the_interval_contains_the_mean_and_narrows_with_more_orders() -> None:
    widths = []
    for count in (2, 8, 32):
        runs = [_toy_order(seed) for seed in range(count)]
        bases = [sm.SeedScores(scores=np.zeros((3, 24)), episode_of=r.episode_of) for r in runs]
        found = sm.estimate(lambda m, _b: sm.acc(m), runs, bases, draws=400)
        assert found is not None and found.low <= found.mean <= found.high
        assert len(found.per_seed) == count
        widths.append(found.high - found.low)
    assert widths[0] > widths[1] > widths[2]
    assert str(found).count("±") == 1


def test_an_undefined_figure_has_no_estimate() -> None:
    one = [sm.SeedScores(scores=[[1.0, 0.0]], episode_of=[0, 0])]
    assert sm.estimate(lambda m, _b: sm.bwt(m), one, one) is None
