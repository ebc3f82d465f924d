"""Ask an engine a list of questions and score every answer: the yardstick all engines share."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> EvaluationResult:
    records = []
    started = time.perf_counter()
    for index, item in enumerate(questions):
        if on_event is not None:
            on_event(
                ProgressEvent(task=f"answer {engine.key}", completed=index, total=len(questions))
            )
        asked = time.perf_counter()
        answer = engine.generate(item.question, max_new_tokens=max_new_tokens)
        records.append(
            AnswerRecord(
                question_id=item.id,
                question=item.question,
                answer=answer,
                gold=item.answers,
                score=score_answer(answer, item.answers),
                seconds=time.perf_counter() - asked,
            )
        )
    if on_event is not None:
        on_event(
            ProgressEvent(
                task=f"answer {engine.key}", completed=len(questions), total=len(questions)
            )
        )
    return EvaluationResult(
        records=tuple(records),
        summary=summarize([r.score for r in records]),
        seconds=time.perf_counter() - started,
    )
