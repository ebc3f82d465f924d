"""Stream mode: learn the documents episode by episode and, after each, ask about every episode.

What continual-learning papers report (the accuracy matrix of GEM): after each new episode, how
well an engine still answers about every earlier one, and how much the not-yet-learned ones it
already answers. The documents are split into ``T`` episodes (by document, or by their
``source``: a SQuAD article, a domain); nothing is cleared between episodes. After each episode
every engine answers the questions of every episode and the held-out set is measured again; the
reading probe runs before the stream and after it. ``seeds`` repeats the stream under other
document orders (seed 0 is the given order) with the training seed set to match, and every
figure becomes a mean with a 95% interval (``stream_metrics``).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import continual_learning.harness.stream_metrics as sm
from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone
from continual_learning.engines.base import Engine
from continual_learning.engines.registry import create_engine, get_spec
from continual_learning.errors import DatasetError, EngineError
from continual_learning.harness.environment import run_environment
from continual_learning.harness.evaluate import evaluate
from continual_learning.harness.inputs import ComparisonInputs
from continual_learning.harness.runner import (
    EngineRun,
    ProgressCallback,
    emit,
    failure_reason,
    learn_documents,
    measure_heldout,
    seed_everything,
    with_baselines,
)
from continual_learning.types import (
    Document,
    HeldoutPoint,
    QAItem,
    StreamReport,
    StreamRun,
    StreamSummary,
)

log = logging.getLogger(__name__)
Split = Literal["document", "source"]


def split_episodes(
    documents: Sequence[Document], episodes: int, *, by: Split = "document", seed: int = 0
) -> list[tuple[Document, ...]]:
    """``documents`` in ``episodes`` groups of near-equal size, in a seeded order (seed 0: as
    given). ``by="source"`` keeps documents of one source (article, domain) in one episode."""
    if episodes < 1:
        raise DatasetError(f"a stream needs at least 1 episode, not {episodes}")
    units = _units(documents, by)
    if episodes > len(units):
        what = "documents" if by == "document" else "sources"
        raise DatasetError(f"{episodes} episodes asked for, but there are only {len(units)} {what}")
    if seed:
        random.Random(seed).shuffle(units)
    bounds = [round(i * len(units) / episodes) for i in range(episodes + 1)]
    return [
        tuple(d for unit in units[bounds[i] : bounds[i + 1]] for d in unit) for i in range(episodes)
    ]


def _units(documents: Sequence[Document], by: Split) -> list[list[Document]]:
    if by == "document":
        return [[d] for d in documents]
    groups: dict[str, list[Document]] = {}
    for document in documents:
        groups.setdefault(document.source or document.id, []).append(document)
    return list(groups.values())


def stream(
    runs: Sequence[EngineRun],
    inputs: ComparisonInputs,
    backbone: Backbone,
    config: AppConfig,
    *,
    episodes: int,
    seeds: int = 1,
    by: Split = "document",
    on_event: ProgressCallback | None = None,
) -> StreamReport:
    """Every engine (and closed-book, in-context, oracle-context) through the stream, once per
    order; see the module docstring."""
    if seeds < 1:
        raise DatasetError(f"--seeds must be at least 1, not {seeds}")
    planned = with_baselines(runs)
    original = backbone.fingerprint()
    environment = run_environment()  # the code that runs, not the code when the report is written
    results: list[StreamRun] = []
    total = len(planned) * seeds
    for seed in range(seeds):
        for run in planned:
            emit(on_event, "stream", len(results), total, f"{run.name}, order {seed}")
            results.append(
                stream_one(
                    run, inputs, backbone, config, episodes, seed=seed, by=by, on_event=on_event
                )
            )
            if backbone.weights_changed(original):
                raise EngineError(f"{run.name} left the backbone modified after clear(): stopping")
    emit(on_event, "stream", total, total, "done")
    return stream_report(results, inputs, config, episodes=episodes, by=by, environment=environment)


def stream_report(
    runs: Sequence[StreamRun],
    inputs: ComparisonInputs,
    config: AppConfig,
    *,
    episodes: int,
    by: Split,
    environment: dict[str, str] | None = None,
) -> StreamReport:
    """The report of ``runs`` (every engine and order, baselines included), summarized;
    ``environment`` as recorded when the run started (default: now)."""
    return StreamReport(
        model=config.model.name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        dataset=inputs.dataset,
        episodes=episodes,
        split=by,
        seeds=tuple(sorted({r.seed for r in runs if not r.failed} or {r.seed for r in runs})),
        questions=max((len(r.question_ids) for r in runs), default=0),
        runs=tuple(runs),
        summaries=tuple(summarize_stream(runs)),
        heldout_source=inputs.heldout_source,
        batch_size=config.harness.batch_size,
        answer_style=config.harness.answer_style,
        environment=environment or run_environment(),
    )


def stream_one(
    run: EngineRun,
    inputs: ComparisonInputs,
    backbone: Backbone,
    config: AppConfig,
    episodes: int,
    *,
    seed: int = 0,
    by: Split = "document",
    on_event: ProgressCallback | None = None,
) -> StreamRun:
    """One engine through the stream under order ``seed``; a failure is a run with its reason."""
    order = split_episodes(inputs.documents, episodes, by=by, seed=seed)
    questions, episode_of = _stream_questions(order, inputs.questions)
    frame = StreamRun(  # what the run is; _through_stream adds what it measured
        engine=get_spec(run.engine).display_name,
        label=run.name,
        seed=seed,
        episodes=tuple(tuple(d.id for d in episode) for episode in order),
        question_ids=tuple(q.id for q in questions),
        question_episode=tuple(episode_of),
    )
    engine: Engine | None = None
    try:
        seed_everything(seed)
        engine = create_engine(run.engine, backbone, run.config(config))
        return _through_stream(engine, order, questions, inputs, config, on_event, frame)
    except Exception as exc:  # one engine failing must not stop the stream
        log.warning("engine %s failed in the stream", run.name, exc_info=True)
        return dataclasses.replace(frame, error=failure_reason(exc))
    finally:
        if engine is not None:
            engine.clear()


def _through_stream(
    engine: Engine,
    order: list[tuple[Document, ...]],
    questions: list[QAItem],
    inputs: ComparisonInputs,
    config: AppConfig,
    on_event: ProgressCallback | None,
    frame: StreamRun,
) -> StreamRun:
    batch_size, style = config.harness.batch_size, config.harness.answer_style
    start = measure_heldout(engine, inputs, batch_size, on_event, style=style)
    points = [HeldoutPoint(after_episode=0, **vars(start))]
    scores: list[tuple[float, ...]] = []
    learn_seconds = eval_seconds = 0.0
    for t, episode in enumerate(order, 1):
        began = time.perf_counter()
        learn_documents(engine, episode, on_event)
        learn_seconds += time.perf_counter() - began
        asked = evaluate(engine, questions, batch_size=batch_size, style=style, on_event=on_event)
        eval_seconds += asked.seconds
        scores.append(tuple(r.score.contains for r in asked.records))
        last = t == len(order)
        held = measure_heldout(engine, inputs, batch_size, on_event, reading=last, style=style)
        points.append(HeldoutPoint(after_episode=t, **vars(held)))
    matrix = sm.accuracy_matrix(scores, frame.question_episode)
    return dataclasses.replace(
        frame,
        scores=tuple(scores),
        matrix=tuple(tuple(round(v, 4) for v in row) for row in matrix),
        heldout=tuple(points),
        learn_seconds=round(learn_seconds, 3),
        eval_seconds=round(eval_seconds, 3),
    )


def _stream_questions(
    order: list[tuple[Document, ...]], questions: Sequence[QAItem]
) -> tuple[list[QAItem], list[int]]:
    """The questions about the stream's documents, grouped by episode, and each one's episode."""
    episode_of_doc = {d.id: t for t, episode in enumerate(order) for d in episode}
    asked = [q for q in questions if q.doc_id in episode_of_doc]
    asked.sort(key=lambda q: episode_of_doc[q.doc_id])  # stable: keeps each episode's order
    if not asked:
        raise DatasetError("no question is about a document of the stream (check doc_id)")
    return asked, [episode_of_doc[q.doc_id] for q in asked]


def summarize_stream(runs: Sequence[StreamRun]) -> list[StreamSummary]:
    """Per engine label, its figures over every order it ran under."""
    by_label: dict[str, list[StreamRun]] = {}
    for run in runs:
        by_label.setdefault(run.label, []).append(run)
    closed_book = by_label.get("closed-book", [])
    summaries = [_summary(label, rows, closed_book) for label, rows in by_label.items()]
    return _with_recovery(summaries)


def _summary(label: str, rows: list[StreamRun], closed_book: list[StreamRun]) -> StreamSummary:
    done = [r for r in rows if not r.failed]
    pairs = [(r, b) for r in done if (b := _same_seed(closed_book, r.seed)) is not None]
    if not pairs:
        return StreamSummary(label=label, acc=None, immediate=None, bwt=None, fwt=None)
    runs = [sm.SeedScores(scores=r.scores, episode_of=r.question_episode) for r, _ in pairs]
    bases = [sm.SeedScores(scores=b.scores, episode_of=b.question_episode) for _, b in pairs]

    def figure(metric: sm.MetricOf) -> dict[str, Any] | None:
        found = sm.estimate(metric, runs, bases)
        return None if found is None else vars(found) | {"per_seed": list(found.per_seed)}

    matrices = [sm.accuracy_matrix(r.scores, r.episode_of) for r in runs]
    forgotten = [sm.forgetting(m) for m in matrices]
    mean_matrix = [
        tuple(round(sum(m[t][j] for m in matrices) / len(matrices), 4) for j in range(len(m0)))
        for t, m0 in enumerate(matrices[0])
    ]
    return StreamSummary(
        label=label,
        acc=figure(lambda m, _b: sm.acc(m)),
        immediate=figure(lambda m, _b: sm.immediate(m)),
        bwt=figure(lambda m, _b: sm.bwt(m)),
        fwt=figure(sm.fwt),
        forgetting=tuple(round(sum(col) / len(col), 4) for col in zip(*forgotten, strict=True)),
        matrix=tuple(mean_matrix),
        reading_before=_mean([r.heldout[0].reading for r, _ in pairs]),
        reading_after=_mean([r.heldout[-1].reading for r, _ in pairs]),
        perplexity_before=_mean([r.heldout[0].perplexity for r, _ in pairs]),
        perplexity_after=_mean([r.heldout[-1].perplexity for r, _ in pairs]),
    )


def _same_seed(rows: list[StreamRun], seed: int) -> StreamRun | None:
    return next((r for r in rows if r.seed == seed and not r.failed), None)


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known and len(known) == len(values) else None


def _with_recovery(summaries: list[StreamSummary]) -> list[StreamSummary]:
    """Final ACC against the two ceilings' final ACC (closed-book the floor)."""
    acc = {s.label: s.acc["mean"] for s in summaries if s.acc is not None}
    floor = acc.get("closed-book")

    def against(ceiling: float | None, value: float | None) -> float | None:
        if floor is None or ceiling is None or value is None or ceiling == floor:
            return None
        return round((value - floor) / (ceiling - floor), 4)

    return [
        dataclasses.replace(
            s,
            recovery=against(acc.get("in-context"), acc.get(s.label)),
            recovery_oracle=against(acc.get("oracle-context"), acc.get(s.label)),
        )
        for s in summaries
    ]
