"""Ask an engine a list of questions and score every answer: the yardstick all engines share."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from continual_learning.core.answer_style import AnswerStyle
from continual_learning.core.plain_replies import remembering
from continual_learning.core.scoring import score_answer, summarize
from continual_learning.engines.base import Engine
from continual_learning.types import AnswerRecord, ProgressEvent, QAItem, QASummary


@dataclass(frozen=True, kw_only=True)
class EvaluationResult:
    records: tuple[AnswerRecord, ...]
    summary: QASummary
    seconds: float

    @property
    def seconds_per_answer(self) -> float:
        return self.seconds / max(len(self.records), 1)


def evaluate(
    engine: Engine,
    questions: Sequence[QAItem],
    *,
    max_new_tokens: int | None = None,
    batch_size: int = 1,
    style: AnswerStyle = "sentence",
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> EvaluationResult:
    """Answer ``questions`` ``batch_size`` at a time in ``style`` (see :meth:`Engine.answer`).

    A batch that only the untouched backbone answers (nothing learned applies to it) and that
    was decoded before, word for word, for this or another engine, is not decoded again
    (``core/plain_replies.py``): a comparison asks every engine the same held-out questions
    before it learns. An answer's ``seconds`` is its batch's time shared equally by the batch's
    answers (so near zero for a reused batch)."""
    records: list[AnswerRecord] = []
    task = f"answer {engine.key}"
    started = time.perf_counter()
    with remembering(engine.backbone):
        for start in range(0, len(questions), max(batch_size, 1)):
            if on_event is not None:
                on_event(ProgressEvent(task=task, completed=start, total=len(questions)))
            batch = questions[start : start + max(batch_size, 1)]
            records += _answered(engine, batch, max_new_tokens, batch_size, style)
    if on_event is not None:
        on_event(ProgressEvent(task=task, completed=len(questions), total=len(questions)))
    return EvaluationResult(
        records=tuple(records),
        summary=summarize([r.score for r in records]),
        seconds=time.perf_counter() - started,
    )


def _answered(
    engine: Engine,
    batch: Sequence[QAItem],
    max_new_tokens: int | None,
    batch_size: int,
    style: AnswerStyle,
) -> list[AnswerRecord]:
    asked = time.perf_counter()
    answers = engine.answer(
        batch, max_new_tokens=max_new_tokens, batch_size=batch_size, style=style
    )
    each = (time.perf_counter() - asked) / len(batch)
    return [
        AnswerRecord(
            question_id=item.id,
            question=item.question,
            answer=answer,
            gold=item.answers,
            score=score_answer(answer, item.answers),
            seconds=each,
            kind=item.kind,
        )
        for item, answer in zip(batch, answers, strict=True)
    ]
