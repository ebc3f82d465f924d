"""Stopping an answer that repeats itself, per row of a batch."""

from __future__ import annotations

import torch

from continual_learning.core.repetition import RepetitionStop
from continual_learning.core.scoring import first_repeat, loop_start, without_repetition

from helpers import build_tiny_backbone

LOOP = (
    "The Bridge in the town of Dask is painted lime green. It is in Dask. It is in Dask. "
    "It is in Dask. It"
)
STUTTER = (
    "The course is 88 kilometers long. The course is 88 kilometers long. The record was set in "
    "2015 by Aksel Brandt."
)


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
    assert loop_start("It rains in Dask. It rains in Dask. It rains in", finished=False) is None


def test_a_loop_is_two_repeats_in_a_row_and_the_reply_says_each_sentence_once() -> None:
    assert loop_start(LOOP) == LOOP.index("It is in Dask. It is in Dask. It", 60)  # 2nd, 3rd
    assert (
        without_repetition(LOOP)
        == "The Bridge in the town of Dask is painted lime green. It is in Dask."
    )


def test_a_stutter_is_not_a_loop_and_what_follows_it_is_kept() -> None:
    assert loop_start(STUTTER) is None
    assert without_repetition(STUTTER) == (
        "The course is 88 kilometers long. The record was set in 2015 by Aksel Brandt."
    )


def test_a_loop_without_punctuation_is_cut_after_its_first_turn() -> None:
    loop = "lime green and " * 8 + "more"
    assert without_repetition(loop) == "lime green and"
