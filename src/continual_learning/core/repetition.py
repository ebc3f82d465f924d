"""Stop an answer once it falls into a loop: a transformers ``StoppingCriteria``.

Small models answering from weights they were just trained on often fall into a loop ("Dask is
painted lime green. Dask is painted lime green. ...") and write it until the token limit. Each
decoding step, every row's new text is checked with :func:`~continual_learning.core.scoring.
loop_start`; a row in a loop is finished (transformers pads it from then on, while the other
rows of a batch go on), and the backbone's reply keeps each sentence once
(:func:`~continual_learning.core.scoring.without_repetition`). A single restated sentence
followed by something new is not a loop: the answer often comes after it.
"""

from __future__ import annotations

from typing import cast

import torch
from transformers import PreTrainedTokenizerBase, StoppingCriteria

from continual_learning.core.scoring import loop_start


class RepetitionStop(StoppingCriteria):
    """Done, per row, when the text after position ``start`` has fallen into a loop."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, start: int) -> None:
        self.tokenizer = tokenizer
        self.start = start

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object
    ) -> torch.BoolTensor:
        rows = input_ids[:, self.start :].tolist()  # (B, new tokens so far)
        texts = [str(self.tokenizer.decode(row, skip_special_tokens=True)) for row in rows]
        done = [loop_start(text, finished=False) is not None for text in texts]
        return cast(torch.BoolTensor, torch.tensor(done, dtype=torch.bool, device=input_ids.device))
