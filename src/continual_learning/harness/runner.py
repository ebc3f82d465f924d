"""Run engines one after another on the same inputs, each on a clean backbone, and score them.

For every engine: measure held-out QA and perplexity on the untouched engine, learn the documents
(episode by episode), answer the questions, measure the held-out material again, clear, and check
the backbone's weights fingerprint is what it was. An engine that raises is reported with its
reason and the next one runs. ``closed-book``, ``in-context`` and ``oracle-context`` always run:
the floor and the two ceilings that ``recovery = (score - floor) / (ceiling - floor)`` (on
``contains``) needs. In-context must find the right documents among all it holds; oracle-context
is handed the question's own one, so it is how well the model reads.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from continual_learning.config.fields import build_section
from continual_learning.config.schema import AnswerStyle, AppConfig
from continual_learning.core.backbone import Backbone
from continual_learning.core.forgetting import backward_transfer, forgetting_ratio, perplexity_bwt
from continual_learning.core.perplexity import perplexity
from continual_learning.core.plain_replies import kept_replies
from continual_learning.core.scoring import repeats_itself, summarize, wilson_interval
from continual_learning.engines.base import Engine
from continual_learning.engines.registry import create_engine, get_spec
from continual_learning.errors import EngineError
from continual_learning.harness.environment import run_environment
from continual_learning.harness.evaluate import evaluate
from continual_learning.harness.inputs import ComparisonInputs
from continual_learning.types import (
    AnswerRecord,
    ComparisonReport,
    Document,
    EngineResult,
    ForgettingResult,
    ProgressCallback,
    emit,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

log = logging.getLogger(__name__)
BASELINES = ("closed-book", "in-context", "oracle-context")


@dataclass(frozen=True, kw_only=True)
class EngineRun:
    """An engine to run, under a label, with overrides for its config section."""

    engine: str
    label: str = ""
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.label or get_spec(self.engine).display_name

    def config(self, base: AppConfig) -> AppConfig:
        spec = get_spec(self.engine)
        section = dataclasses.asdict(base.engine(spec.key)) | dict(self.overrides)
        built: DataclassInstance = build_section(spec.config_cls, section, spec.key)
        return dataclasses.replace(base, engines=dict(base.engines) | {spec.key: built})


def with_baselines(runs: Sequence[EngineRun]) -> list[EngineRun]:
    """The baselines first (unless already asked for, unmodified), then the rest in order."""
    present = {get_spec(r.engine).key for r in runs if not r.overrides}
    missing = [EngineRun(engine=b) for b in BASELINES if get_spec(b).key not in present]
    return [*missing, *runs]


def compare(
    runs: Sequence[EngineRun],
    inputs: ComparisonInputs,
    backbone: Backbone,
    config: AppConfig,
    *,
    on_event: ProgressCallback | None = None,
) -> ComparisonReport:
    environment = run_environment()  # the code that runs, not the code when the report is written
    results = []
    original = backbone.fingerprint()
    planned = with_baselines(runs)
    for index, run in enumerate(planned):
        emit(on_event, "engines", index, len(planned), run.name)
        results.append(run_one(run, inputs, backbone, config, original, on_event))
    emit(on_event, "engines", len(results), len(results), "done")
    return comparison_report(results, inputs, config, environment=environment)


def comparison_report(
    results: Sequence[EngineResult],
    inputs: ComparisonInputs,
    config: AppConfig,
    *,
    environment: dict[str, str] | None = None,
) -> ComparisonReport:
    """The report of ``results`` (baselines included), with recovery against both ceilings;
    ``environment`` as recorded when the run started (default: now)."""
    results = with_locality(with_recovery(list(results)))
    return ComparisonReport(
        model=config.model.name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        dataset=inputs.dataset,
        documents=len(inputs.documents),
        questions=len(inputs.questions),
        engines=tuple(results),
        batch_size=config.harness.batch_size,
        answer_style=config.harness.answer_style,
        heldout_source=inputs.heldout_source,
        environment=environment or run_environment(),
    )


def seed_everything(seed: int) -> None:
    """Python's and torch's generators, so a training run under one seed is repeatable."""
    import random

    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def run_one(
    run: EngineRun,
    inputs: ComparisonInputs,
    backbone: Backbone,
    config: AppConfig,
    original_fingerprint: str,
    on_event: ProgressCallback | None,
) -> EngineResult:
    engine: Engine | None = None
    try:
        engine = create_engine(run.engine, backbone, run.config(config))
        return _measure(run, engine, inputs, config, on_event)
    except Exception as exc:  # one engine failing must not stop the comparison
        log.warning("engine %s failed", run.name, exc_info=True)
        return EngineResult(
            engine=get_spec(run.engine).display_name, label=run.name, error=failure_reason(exc)
        )
    finally:
        if engine is not None:
            engine.clear()
        if backbone.weights_changed(original_fingerprint):
            raise EngineError(f"{run.name} left the backbone modified after clear(): stopping")


def _measure(
    run: EngineRun,
    engine: Engine,
    inputs: ComparisonInputs,
    config: AppConfig,
    on_event: ProgressCallback | None,
) -> EngineResult:
    batch_size, style = config.harness.batch_size, config.harness.answer_style
    replies = kept_replies(engine.backbone)
    reused = replies.reused
    before = measure_heldout(engine, inputs, batch_size, on_event, style=style)
    learn_seconds, eval_seconds, tokens = 0.0, 0.0, 0
    records: list[AnswerRecord] = []
    for documents, questions in inputs.episodes():
        engine.clear()
        started = time.perf_counter()
        tokens += learn_documents(engine, documents, on_event)
        learn_seconds += time.perf_counter() - started
        asked = (*questions, *inputs.probes_for(documents))
        result = evaluate(engine, asked, batch_size=batch_size, style=style, on_event=on_event)
        eval_seconds += result.seconds
        records.extend(result.records)
    after = measure_heldout(engine, inputs, batch_size, on_event, style=style)
    facts = [r for r in records if r.kind == "fact"]
    summary = summarize([r.score for r in facts])
    impossible = [r for r in facts if not r.gold]
    paraphrases = [r.score.contains for r in records if r.kind == "paraphrase"]
    return EngineResult(
        engine=get_spec(run.engine).display_name,
        label=run.name,
        exact_match=summary.exact_match,
        f1=summary.f1,
        contains=summary.contains,
        contains_by_position=contains_by_position(inputs, facts),
        paraphrase_contains=(
            round(sum(paraphrases) / len(paraphrases), 4) if paraphrases else None
        ),
        abstain_accuracy=(
            sum(r.score.abstained for r in impossible) / len(impossible) if impossible else None
        ),
        learn_seconds=round(learn_seconds, 3),
        eval_seconds=round(eval_seconds, 3),
        tokens_learned=tokens,
        repeating=round(sum(repeats_itself(r.answer) for r in facts) / max(len(facts), 1), 4),
        forgetting=_forgetting(before, after, inputs),
        reused_answers=replies.reused - reused,
        answers=tuple(records),
    )


def contains_by_position(
    inputs: ComparisonInputs, records: Sequence[AnswerRecord]
) -> tuple[float | None, ...]:
    """``contains`` on the questions about the first, middle and last third of each episode's
    documents, in learning order: what an engine that forgets earlier documents loses first."""
    third: dict[str, int] = {}
    for documents, _ in inputs.episodes():
        third |= {d.id: 3 * i // len(documents) for i, d in enumerate(documents)}
    doc_of = {q.id: q.doc_id for q in inputs.questions}
    scores: list[list[float]] = [[], [], []]
    for record in records:
        position = third.get(doc_of.get(record.question_id, ""))
        if position is not None and record.gold:
            scores[position].append(record.score.contains)
    return tuple(round(sum(s) / len(s), 4) if s else None for s in scores)


def learn_documents(
    engine: Engine, documents: Sequence[Document], on_event: ProgressCallback | None
) -> int:
    """Learn ``documents`` in order, with a progress line per document (and the engine's own
    progress within it); returns the tokens learned."""
    task = f"learn {engine.key}"
    tokens = 0
    for done, document in enumerate(documents):
        emit(on_event, task, done, len(documents), document.id)
        tokens += engine.learn(document.text, doc_id=document.id, on_event=on_event).tokens
    emit(on_event, task, len(documents), len(documents), "done")
    return tokens


@dataclass(frozen=True)
class HeldoutScore:
    """What an engine does on material it never learned: closed-book questions, questions with
    their paragraph in the prompt (reading), and perplexity."""

    qa: float | None
    perplexity: float | None
    reading: float | None = None


def measure_heldout(
    engine: Engine,
    inputs: ComparisonInputs,
    batch_size: int,
    on_event: ProgressCallback | None,
    *,
    reading: bool = True,
    style: AnswerStyle = "sentence",
) -> HeldoutScore:
    def contains(questions: Sequence[Any]) -> float | None:
        if not questions:
            return None
        asked = evaluate(engine, questions, batch_size=batch_size, style=style, on_event=on_event)
        return asked.summary.contains

    ppl = None
    if inputs.heldout_texts:
        texts = inputs.heldout_texts
        routes = [engine.route(text) for text in texts]
        ppl = perplexity(engine.backbone, texts, applied=engine.applied_for, routes=routes)
    return HeldoutScore(
        qa=contains(inputs.heldout_questions),
        perplexity=ppl,
        reading=contains(inputs.reading_questions) if reading else None,
    )


def _forgetting(
    before: HeldoutScore, after: HeldoutScore, inputs: ComparisonInputs
) -> ForgettingResult | None:
    """Held-out figures before and after; perplexity alone when there were no questions."""
    qa = None if before.qa is None or after.qa is None else (before.qa, after.qa)
    ppl = (
        None
        if before.perplexity is None or after.perplexity is None
        else (before.perplexity, after.perplexity)
    )
    if qa is None and ppl is None and before.reading is None:
        return None
    return ForgettingResult(
        heldout_questions=len(inputs.heldout_questions),
        heldout_texts=len(inputs.heldout_texts),
        qa_before=before.qa,
        qa_after=after.qa,
        qa_metric="contains",
        perplexity_before=before.perplexity,
        perplexity_after=after.perplexity,
        forgetting_ratio=None if qa is None else forgetting_ratio(*qa),
        bwt=None if qa is None else backward_transfer(*qa),
        perplexity_bwt=None if ppl is None else perplexity_bwt(*ppl),
        reading_questions=len(inputs.reading_questions),
        reading_before=before.reading,
        reading_after=after.reading,
        qa_after_interval=_interval(after.qa, len(inputs.heldout_questions)),
        reading_after_interval=_interval(after.reading, len(inputs.reading_questions)),
    )


def _interval(share: float | None, questions: int) -> tuple[float, float] | None:
    """The Wilson interval of a ``contains`` share (each question scores 0 or 1)."""
    if share is None or questions == 0:
        return None
    return wilson_interval(round(share * questions), questions)


def with_recovery(results: list[EngineResult]) -> list[EngineResult]:
    by_label = {r.label: r for r in results if not r.failed}
    floor = by_label.get("closed-book")
    in_context = _recovery_against(floor, by_label.get("in-context"))
    oracle = _recovery_against(floor, by_label.get("oracle-context"))
    return [
        r if r.failed else dataclasses.replace(r, recovery=in_context(r), recovery_oracle=oracle(r))
        for r in results
    ]


def with_locality(results: list[EngineResult]) -> list[EngineResult]:
    """Each row's ``locality``: of the neighbour questions closed-book answers (``contains``),
    the share the row still answers, with a Wilson 95% interval. No closed-book row, or no
    neighbour it answers: not measured."""
    floor = next((r for r in results if r.label == "closed-book" and not r.failed), None)
    known = set() if floor is None else _answered_neighbours(floor)
    if not known:
        return results

    def measured(row: EngineResult) -> EngineResult:
        kept = len(known & _answered_neighbours(row))
        return dataclasses.replace(
            row,
            locality=round(kept / len(known), 4),
            locality_interval=wilson_interval(kept, len(known)),
            locality_neighbours=len(known),
        )

    return [row if row.failed else measured(row) for row in results]


def _answered_neighbours(row: EngineResult) -> set[str]:
    return {a.question_id for a in row.answers if a.kind == "neighbour" and a.score.contains}


def _recovery_against(
    floor: EngineResult | None, ceiling: EngineResult | None
) -> Callable[[EngineResult], float | None]:
    """``(contains - floor) / (ceiling - floor)``, or None when there is no gap to recover."""
    if floor is None or ceiling is None or ceiling.contains == floor.contains:
        return lambda _: None
    low, gap = floor.contains or 0.0, (ceiling.contains or 0.0) - (floor.contains or 0.0)
    return lambda row: round(((row.contains or 0.0) - low) / gap, 4)


def failure_reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
