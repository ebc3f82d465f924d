"""Batched answering: what every engine's prepared prompts go through to become replies.

One sequence decodes at the speed of reading every weight once per token; a batch reads them
once per step for all its rows. So the prompts are sorted by length (a batch pads little, as
lm-evaluation-harness does), grouped by the part of what the engine learned that answers them
(``Engine.route``), and decoded ``batch_size`` at a time inside ``Engine.applied_for`` that
route, each row with its own logits processors (``core/row_logits.py``). Rows that only the
untouched backbone computes are shared across engines (``core/plain_replies.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from contextlib import AbstractContextManager, ExitStack
from functools import partial
from typing import Any, Protocol

from continual_learning.core.answer_style import AnswerStyle, styled_messages
from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.plain_replies import plain_replies

ALL_LEARNED = "all"
"""The route (``Engine.route``) of a prompt that everything an engine learned answers."""


class Answerer(Protocol):
    """What answering needs of an engine (``engines/base.py``'s ``Engine`` is one)."""

    backbone: Backbone

    @property
    def changes_weights(self) -> bool: ...

    def applied_for(self, route: Hashable | None) -> AbstractContextManager[None]: ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class PreparedPrompt:
    """What ``Engine.generate`` sends to the backbone for one prompt."""

    messages: list[ChatMessage]
    logits_processors: tuple[Any, ...] = ()
    """transformers ``LogitsProcessor`` objects applied at every decoding step."""
    contexts: tuple[AbstractContextManager[Any], ...] = ()
    """Entered around decoding, e.g. hooks that let a logits processor read hidden states."""


def styled(prepared: PreparedPrompt, style: AnswerStyle) -> PreparedPrompt:
    """``prepared`` asked in ``style``: its processors and hooks as they were."""
    messages = styled_messages(prepared.messages, style)
    if messages is prepared.messages:
        return prepared
    return dataclasses.replace(prepared, messages=messages)


def answer_one(
    engine: Answerer, prepared: PreparedPrompt, route: Hashable | None, options: GenerationOptions
) -> str:
    """One prompt, alone, with the learned part ``route`` names applied."""
    backbone = engine.backbone
    if untouched(engine, route, [prepared]):
        ids = backbone.encode_chat(prepared.messages)
        decode = partial(_decode_one, backbone, ids, options)
        return plain_replies("one", ids.tolist(), options, decode)[0]
    with ExitStack() as stack:
        stack.enter_context(engine.applied_for(route))
        for context in prepared.contexts:
            stack.enter_context(context)
        return backbone.chat(
            prepared.messages, options, logits_processors=prepared.logits_processors
        )


def answer_prepared(
    engine: Answerer,
    prepared: Sequence[PreparedPrompt],
    options: GenerationOptions,
    batch_size: int,
    *,
    routes: Sequence[Hashable | None] | None = None,
) -> list[str]:
    """Decode prepared prompts ``batch_size`` at a time, shortest first, in their order; the
    prompts of each route (default: all of what was learned) together, inside
    ``engine.applied_for`` that route."""
    encoded = [engine.backbone.encode_chat(p.messages) for p in prepared]
    order = sorted(range(len(prepared)), key=lambda i: encoded[i].shape[1])
    groups: dict[Hashable | None, list[int]] = {}
    for i in order:
        groups.setdefault(ALL_LEARNED if routes is None else routes[i], []).append(i)
    answers: dict[int, str] = {}
    for route, rows in groups.items():
        with engine.applied_for(route):
            answers |= _decode_rows(engine, prepared, encoded, rows, options, batch_size, route)
    return [answers[i] for i in range(len(prepared))]


def untouched(engine: Answerer, route: Hashable | None, prepared: Sequence[PreparedPrompt]) -> bool:
    """Whether only the untouched backbone computes these answers: nothing learned in weights
    applies (``route``) and no row has a logits processor or a hook. Such replies are the same
    for every engine that asks the same (``core/plain_replies.py``)."""
    weights_apply = engine.changes_weights and route is not None
    return not weights_apply and not any(p.logits_processors or p.contexts for p in prepared)


def _decode_rows(
    engine: Answerer,
    prepared: Sequence[PreparedPrompt],
    encoded: Sequence[Any],
    order: Sequence[int],
    options: GenerationOptions,
    batch_size: int,
    route: Hashable | None,
) -> dict[int, str]:
    """Row index -> reply for the rows in ``order``, ``batch_size`` per ``generate`` call."""
    answers: dict[int, str] = {}
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        batch, tensors = [prepared[i] for i in rows], [encoded[i] for i in rows]
        decode = partial(_decode_batch, engine.backbone, batch, tensors, options)
        if untouched(engine, route, batch):
            token_ids = [t[0].tolist() for t in tensors]
            replies = plain_replies("batch", token_ids, options, decode)
        else:
            replies = decode()
        answers.update(zip(rows, replies, strict=True))
    return answers


def _decode_one(backbone: Backbone, ids: Any, options: GenerationOptions) -> list[str]:
    return [backbone.generate_from_ids(ids, options)]


def _decode_batch(
    backbone: Backbone,
    prepared: Sequence[PreparedPrompt],
    encoded: Sequence[Any],
    options: GenerationOptions,
) -> list[str]:
    """One left-padded ``generate`` call, each row with its own processors and hooks."""
    from continual_learning.core.row_logits import RowwiseLogits

    processors = RowwiseLogits([p.logits_processors for p in prepared])
    with ExitStack() as stack:
        for row in prepared:
            for context in row.contexts:
                stack.enter_context(context)
        return backbone.generate_batch(
            encoded, options, logits_processors=(processors,) if processors else ()
        )
