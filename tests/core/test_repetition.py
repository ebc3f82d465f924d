"""Stopping an answer that repeats itself, per row of a batch."""

from __future__ import annotations

import torch

from continual_learning.core.repetition import RepetitionStop
from continual_learning.core.scoring import first_repeat, without_repetition

from helpers import build_tiny_backbone

LOOP = "The Bridge in the town of Dask is painted lime green. Dask is painted lime green. Dask is"


def test_only_the_row_that_loops_is_done() -> None:
    tokenizer = build_tiny_backbone().tokenizer
    prompt = [1, 2, 3]
    rows = [
        prompt + tokenizer(LOOP, add_special_tokens=False)["input_ids"],
        prompt
        + tokenizer("Zorblax Quentaro is the capital.", add_special_tokens=False)["input_ids"],
    ]
    width = max(map(len, rows))
    ids = torch.tensor([row + [0] * (width - len(row)) for row in rows])
    done = RepetitionStop(tokenizer, start=len(prompt))(ids, torch.zeros(2, 5))
    assert done.tolist() == [True, False]


def test_an_unfinished_sentence_is_not_yet_a_repeat() -> None:
    assert first_repeat("It rains in Dask. It rains in", finished=False) is None
    assert first_repeat("It rains in Dask. It rains in Dask. It", finished=False) == 18
    assert without_repetition(LOOP + " painted lime green.") == (
        "The Bridge in the town of Dask is painted lime green."
    )
