"""ACE's adaptation: Generate-Reflect-Curate passes over one document's questions.

Each pass answers every question with the Generator (the documents and the playbook in its
prompt), has the Reflector judge each answer and draw a lesson, and the Curator turn the lesson
into delta operations on a draft of the playbook; ``questions_per_step`` questions go through
each role together. A pass in which every answer is right ends the loops early: there is nothing
left to learn from them. The playbook a run ends with is returned, never written into the
engine part-way, so a role call that fails changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from continual_learning.core.backbone import ChatMessage
from continual_learning.engines.ace.config import AceConfig
from continual_learning.engines.ace.curator import Curation, curate_all
from continual_learning.engines.ace.generator import read_generation
from continual_learning.engines.ace.llm import ChatModel
from continual_learning.engines.ace.playbook import DeltaOp, Playbook
from continual_learning.engines.ace.reflector import Attempt, Reflection, reflect_all
from continual_learning.types import ProgressCallback, QAItem, emit


@dataclass(frozen=True, kw_only=True)
class LoopRecord:
    """One Generate-Reflect-Curate pass over one document's questions."""

    doc_id: str
    loop: int
    questions: int
    correct: int
    bullets: int
    """Playbook size after the pass."""
    helpful_tags: int
    harmful_tags: int
    added: int
    merged: int
    evicted: int
    curator: dict[str, int]
    """How many Curator replies were parsed, repaired, replaced by the fallback, rejected."""
    seconds: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True, kw_only=True)
class Adaptation:
    """The roles' LLM and settings, and how the engine words a Generator prompt."""

    llm: ChatModel
    config: AceConfig
    generator_messages: Callable[[Playbook, str], list[ChatMessage]]
    """The Generator's messages for a question, with this playbook."""
    answer_tokens: int
    count_tokens: Callable[[str], int]

    def run(
        self,
        playbook: Playbook,
        questions: Sequence[QAItem],
        *,
        document: str,
        doc_id: str = "",
        on_event: ProgressCallback | None = None,
    ) -> tuple[Playbook, list[LoopRecord]]:
        """``num_loops`` Generate-Reflect-Curate passes over ``questions`` about ``document``,
        starting from ``playbook`` (left as it is): the playbook they end with, and a record
        of each pass. Questions without answers are judged against the document by the
        Reflector. A pass that fails part-way raises, and nothing is returned."""
        records: list[LoopRecord] = []
        for loop in range(1, self.config.num_loops + 1 if questions else 1):
            playbook, record = self._one_loop(playbook, questions, document, doc_id, loop, on_event)
            records.append(record)
            if record.correct == record.questions:
                break
        return playbook, records

    def _one_loop(
        self,
        playbook: Playbook,
        questions: Sequence[QAItem],
        document: str,
        doc_id: str,
        loop: int,
        on_event: ProgressCallback | None,
    ) -> tuple[Playbook, LoopRecord]:
        started = time.perf_counter()
        draft = Playbook.from_json(playbook.to_json(), where="the playbook")
        correct = 0
        curations: list[tuple[Curation, Any]] = []
        tags: list[DeltaOp] = []
        step = self.config.questions_per_step
        for first in range(0, len(questions), step):
            emit(on_event, f"ACE loop {loop}", first, len(questions))
            for reflection, curation in self._step(
                draft, questions[first : first + step], document
            ):
                # Edits go into the draft at once, so the next step already sees them (the
                # paper's online setting); the engine's playbook changes after the last loop.
                ops = _still_valid([*reflection.tags, *curation.ops], draft)
                result = draft.apply(ops, dedup_threshold=self.config.dedup_threshold)
                correct += reflection.correct
                curations.append((curation, result))
                tags.extend(op for op in ops if op.op == "tag")
        emit(on_event, f"ACE loop {loop}", len(questions), len(questions))
        evicted = draft.enforce_budget(
            max_bullets=self.config.max_bullets,
            max_tokens=self.config.max_playbook_tokens,
            count_tokens=self.count_tokens,
        )
        record = _loop_record(
            doc_id, loop, questions, correct, draft, tags, curations, evicted, started
        )
        return draft, record

    def _step(
        self, draft: Playbook, items: Sequence[QAItem], document: str
    ) -> list[tuple[Reflection, Curation]]:
        """Generate, Reflect and Curate for ``items`` against one playbook, each role's calls as
        one batch."""
        conversations = [self.generator_messages(draft, item.question) for item in items]
        replies = self.llm.chat_many(conversations, max_tokens=self.answer_tokens)
        generations = [read_generation(reply, draft) for reply in replies]
        attempts = [
            Attempt(
                question=item.question,
                answer=generation.answer,
                references=tuple(item.answers),
                used=generation.used,
            )
            for item, generation in zip(items, generations, strict=True)
        ]
        max_role = self.config.role_max_tokens
        reflections = reflect_all(self.llm, attempts, document=document, max_tokens=max_role)
        curations = curate_all(
            self.llm,
            draft,
            [r.lesson for r in reflections],
            max_tokens=max_role,
            fallback=self.config.curator_fallback,
        )
        return list(zip(reflections, curations, strict=True))


def _loop_record(
    doc_id: str,
    loop: int,
    questions: Sequence[QAItem],
    correct: int,
    playbook: Playbook,
    tags: Sequence[DeltaOp],
    curations: Sequence[tuple[Curation, Any]],
    evicted: Sequence[Any],
    started: float,
) -> LoopRecord:
    outcomes: dict[str, int] = {}
    for curation, _ in curations:
        outcomes[curation.outcome] = outcomes.get(curation.outcome, 0) + 1
    return LoopRecord(
        doc_id=doc_id,
        loop=loop,
        questions=len(questions),
        correct=correct,
        bullets=len(playbook),
        helpful_tags=sum(t.tag == "helpful" for t in tags),
        harmful_tags=sum(t.tag == "harmful" for t in tags),
        added=sum(len(result.added) for _, result in curations),
        merged=sum(len(result.merged) for _, result in curations),
        evicted=len(evicted),
        curator=outcomes,
        seconds=time.perf_counter() - started,
    )


def _still_valid(ops: Sequence[DeltaOp], playbook: Playbook) -> list[DeltaOp]:
    """``ops`` without those naming a bullet that is gone: in a batched step, a bullet one
    question's Curator removed may still be named by the next question's tags or edits."""
    gone: set[str] = set()
    kept = []
    for op in ops:
        if op.bullet_id and (op.bullet_id in gone or playbook.get(op.bullet_id) is None):
            continue
        if op.op == "remove":
            gone.add(op.bullet_id)
        kept.append(op)
    return kept
