"""Stop an answer once it starts repeating itself: a transformers ``StoppingCriteria``.

Small models answering from weights they were just trained on often fall into a loop ("Dask is
painted lime green. Dask is painted lime green. ...") and write it until the token limit. Each
decoding step, every row's new text is checked with :func:`~continual_learning.core.scoring.
first_repeat`; a row that repeats itself is finished (transformers pads it from then on, while
the other rows of a batch go on), and the backbone cuts the repeat from the reply. What was said
once is kept, so a correct answer before the loop stays correct, and the loop costs no more
decoding steps.
"""

from __future__ import annotations

import torch
from transformers import StoppingCriteria

from continual_learning.core.scoring import first_repeat


class RepetitionStop(StoppingCriteria):
    """Done, per row, when the text after position ``start`` repeats a sentence of its own."""

    def __init__(self, tokenizer, start: int) -> None:  # type: ignore[no-untyped-def]
        self.tokenizer = tokenizer
        self.start = start

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object
    ) -> torch.BoolTensor:
        rows = input_ids[:, self.start :].tolist()  # (B, new tokens so far)
        texts = [self.tokenizer.decode(row, skip_special_tokens=True) for row in rows]
        done = [first_repeat(text, finished=False) is not None for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]
