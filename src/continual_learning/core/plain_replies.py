"""The untouched backbone's greedy replies, kept by what was asked, while a harness measures.

A comparison asks every engine the same held-out questions before it learns, and asks the
baselines the same questions again after; a stream asks them after every episode. Whenever
nothing an engine learned takes part in an answer (no learned weights apply to the prompt, no
logits processor, no hook) the reply depends only on the token ids, the generation settings,
the batch it was decoded in and the backbone's weights, so it is decoded once and every later
identical request gets the same text. That is exact, not approximate: the same batch on the same
weights gives the same bits.

It is only active inside :func:`remembering` (the harness's ``evaluate`` enters it), so code that
changes the backbone's weights on purpose between calls (a script merging a LoRA) never gets an
old reply: the key also holds the weights' fingerprint, taken when the block is entered, and the
dtype answers are decoded in.
Sampled replies are never kept: they are not a function of their prompt.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import astuple, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from continual_learning.core.backbone import Backbone, GenerationOptions


@dataclass
class PlainReplies:
    """Replies by request key, and how many requests were answered from them."""

    replies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reused: int = 0

    def replies_for(self, key: str, decode: Callable[[], Sequence[str]]) -> list[str]:
        """The replies kept under ``key``, or ``decode()``'s, kept for next time."""
        if key in self.replies:
            self.reused += len(self.replies[key])
        else:
            self.replies[key] = tuple(decode())
        return list(self.replies[key])


_KEPT: weakref.WeakKeyDictionary[Backbone, PlainReplies] = weakref.WeakKeyDictionary()
_ACTIVE: ContextVar[tuple[PlainReplies, str] | None] = ContextVar("plain_replies", default=None)


def kept_replies(backbone: Backbone) -> PlainReplies:
    """The replies kept for ``backbone`` (one store per loaded model, for its lifetime)."""
    return _KEPT.setdefault(backbone, PlainReplies())


@contextmanager
def remembering(backbone: Backbone) -> Iterator[PlainReplies]:
    """Inside this block, plain replies of ``backbone`` are kept and reused (see the module)."""
    from continual_learning.core.backbone import weights_fingerprint

    store = kept_replies(backbone)
    weights = f"{weights_fingerprint(backbone.model)} answered in {backbone.precision.name}"
    token = _ACTIVE.set((store, weights))
    try:
        yield store
    finally:
        _ACTIVE.reset(token)


def plain_replies(
    how: str,
    rows: Sequence[Sequence[int]],
    options: GenerationOptions,
    decode: Callable[[], Sequence[str]],
) -> list[str]:
    """``decode()``'s replies to the prompts ``rows`` (token ids, in decoding order), decoded
    ``how`` (one at a time or as one batch), reused when the very same request was decoded
    before inside :func:`remembering`. The caller vouches that nothing but the untouched
    backbone computes them."""
    active = _ACTIVE.get()
    if active is None or options.do_sample:
        return list(decode())
    store, weights = active
    request = json.dumps([weights, how, astuple(options), [list(r) for r in rows]])
    return store.replies_for(hashlib.sha256(request.encode()).hexdigest(), decode)
