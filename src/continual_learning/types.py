"""Results that cross module borders: frozen, typed, serialisable at the edges only.

Engines return these; the CLI, the menu, the harness and the benchmarks read them. Nothing here
knows about terminals (rendering lives in ``ui/``) or about torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Figure:
    """One named number an engine reports (a loss, a fraction, a rank), with its unit."""

    name: str
    value: float
    unit: str = ""


@dataclass(frozen=True, kw_only=True)
class Document:
    """A piece of text to learn, with a stable id and where it came from."""

    id: str
    text: str
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class LearnReport:
    """What one ``Engine.learn`` call did.

    ``losses`` holds the per-step training losses for engines that take gradient steps (empty
    for the others); ``figures`` carries engine-specific numbers such as the gate's pass-through
    fraction or an adapter's effective rank.
    """

    engine: str
    doc_id: str
    tokens: int
    seconds: float
    chunks: int = 1
    losses: tuple[float, ...] = ()
    figures: tuple[Figure, ...] = ()
    notes: tuple[str, ...] = ()
    """Lines worth showing (e.g. the self-study prompts and the teacher's answers)."""

    @property
    def final_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnReport:
        figures = tuple(Figure(**f) for f in data.get("figures", ()))
        return cls(
            engine=str(data["engine"]),
            doc_id=str(data["doc_id"]),
            tokens=int(data["tokens"]),
            seconds=float(data["seconds"]),
            chunks=int(data.get("chunks", 1)),
            losses=tuple(float(x) for x in data.get("losses", ())),
            figures=figures,
            notes=tuple(str(x) for x in data.get("notes", ())),
        )


@dataclass(frozen=True, kw_only=True)
class InfoItem:
    """One labelled line of ``Engine.info()``: a setting or a piece of state, already formatted."""

    label: str
    value: str


@dataclass(frozen=True, kw_only=True)
class EngineInfo:
    """A snapshot of an engine for Model Info screens and ``continual-learning info``."""

    engine: str
    summary: str
    backbone: str
    changes_weights: bool
    documents_learned: int
    tokens_learned: int
    details: tuple[InfoItem, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class QAItem:
    """A question with its gold answers; no answers means the question is unanswerable."""

    id: str
    question: str
    answers: tuple[str, ...]
    doc_id: str = ""
    kind: str = "fact"
    """One of :data:`QUESTION_KINDS`: ``fact`` (answered by its document), ``paraphrase`` (a
    fact asked in other words), ``neighbour`` (a real-world fact near its document's subject
    that the untouched model answers: learning should not break it)."""

    @property
    def is_impossible(self) -> bool:
        return not self.answers


QUESTION_KINDS = ("fact", "paraphrase", "neighbour")


@dataclass(frozen=True, kw_only=True)
class QAScore:
    """How one answer scored against its gold answers (official SQuAD metrics plus ``contains``)."""

    exact_match: float
    f1: float
    contains: float
    abstained: bool


@dataclass(frozen=True, kw_only=True)
class QASummary:
    """Mean QA scores over a set of questions, as fractions in [0, 1]."""

    count: int
    exact_match: float
    f1: float
    contains: float
    abstention_rate: float


@dataclass(frozen=True, kw_only=True)
class ProgressEvent:
    """A step of long work (learning, fetching, benchmarking), for whoever renders progress.

    Engines and other UI-blind code emit these through an optional ``on_event`` callback; the
    terminal UI turns them into Rich progress bars. ``total`` is None when the amount of work is
    unknown. ``source`` names who does the work when several do it at once (a sweep's job), so
    that each gets one bar showing its current task rather than a bar per task.
    """

    task: str
    completed: int
    total: int | None = None
    message: str = ""
    loss: float | None = None
    source: str = ""

    @property
    def title(self) -> str:
        """The task, with its source in front when there is one."""
        return f"{self.source}: {self.task}" if self.source else self.task


ProgressCallback = Callable[[ProgressEvent], None]
"""Where long work reports its steps (a face renders them; None: nobody is watching)."""


def emit(
    on_event: ProgressCallback | None,
    task: str,
    done: int,
    total: int | None,
    message: str = "",
    *,
    loss: float | None = None,
) -> None:
    """Report one step of ``task`` to ``on_event``, if anyone listens."""
    if on_event is not None:
        on_event(ProgressEvent(task=task, completed=done, total=total, message=message, loss=loss))


@dataclass(frozen=True, kw_only=True)
class AnswerRecord:
    """One question, the answer an engine gave, the gold answers and how it scored."""

    question_id: str
    question: str
    answer: str
    gold: tuple[str, ...]
    score: QAScore
    seconds: float
    kind: str = "fact"
    """The question's kind (:data:`QUESTION_KINDS`): only ``fact`` answers make the scores."""


@dataclass(frozen=True, kw_only=True)
class ForgettingResult:
    """Held-out QA and perplexity before and after an engine learned the documents."""

    heldout_questions: int
    qa_before: float | None
    """None when there were no held-out questions (no SQuAD file): perplexity only."""
    qa_after: float | None
    qa_metric: str
    perplexity_before: float | None
    perplexity_after: float | None
    forgetting_ratio: float | None
    bwt: float | None
    perplexity_bwt: float | None
    heldout_texts: int = 0
    reading_questions: int = 0
    """Held-out questions asked *with* their paragraph (can the model still read?)."""
    reading_before: float | None = None
    reading_after: float | None = None
    qa_after_interval: tuple[float, float] | None = None
    """Wilson 95% interval of ``qa_after`` over the ``heldout_questions``."""
    reading_after_interval: tuple[float, float] | None = None
    """Wilson 95% interval of ``reading_after`` over the ``reading_questions``."""


@dataclass(frozen=True, kw_only=True)
class EngineResult:
    """One engine's row of a comparison; ``error`` is set (and scores are empty) if it failed."""

    engine: str
    label: str
    exact_match: float | None = None
    f1: float | None = None
    contains: float | None = None
    contains_by_position: tuple[float | None, ...] = ()
    """``contains`` on the questions about the first, middle and last third of the documents, by
    the order they were learned in (within each episode): the recency curve. None for a third
    with no questions."""
    abstain_accuracy: float | None = None
    paraphrase_contains: float | None = None
    """``contains`` on the fact questions asked in other words (``paraphrase``): did the engine
    learn the fact or the sentence?"""
    locality: float | None = None
    """Of the ``neighbour`` questions closed-book answers, the share this engine still answers:
    real-world facts near what was learned, which learning should leave alone."""
    locality_interval: tuple[float, float] | None = None
    """Wilson 95% interval of ``locality``."""
    locality_neighbours: int = 0
    """How many neighbours ``locality`` is over (those closed-book answers)."""
    recovery: float | None = None
    """Against the in-context ceiling (every learned document that fits in the prompt)."""
    recovery_oracle: float | None = None
    """Against the oracle-context ceiling (only the question's own document in the prompt)."""
    learn_seconds: float | None = None
    eval_seconds: float | None = None
    tokens_learned: int | None = None
    repeating: float | None = None
    """Share of answers that repeat a sentence of their own (``core/scoring.repeats_itself``)."""
    forgetting: ForgettingResult | None = None
    reused_answers: int = 0
    """Answers (questions, held-out and reading probes) that only the untouched backbone
    computed and that an earlier engine of the run had asked word for word: not decoded again
    (``core/plain_replies.py``)."""
    answers: tuple[AnswerRecord, ...] = ()
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def locality_text(self) -> str:
        """``locality`` with its interval, ``-`` when not measured."""
        if self.locality is None or self.locality_interval is None:
            return "-"
        low, high = self.locality_interval
        return f"{self.locality:.2f} [{low:.2f}, {high:.2f}]"

    def by_position_text(self) -> str:
        """``contains_by_position`` as ``first/middle/last`` (``-`` where unknown)."""
        if not self.contains_by_position:
            return "-"
        return "/".join("-" if v is None else f"{v:.2f}" for v in self.contains_by_position)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> EngineResult:
        answers = tuple(
            AnswerRecord(**(a | {"gold": tuple(a["gold"]), "score": QAScore(**a["score"])}))
            for a in row.get("answers", ())
        )
        forgetting = row.get("forgetting")
        forgetting = None if forgetting is None else ForgettingResult(**forgetting)
        by_position = tuple(row.get("contains_by_position", ()))
        interval = row.get("locality_interval")
        return cls(
            **(row | {"answers": answers, "forgetting": forgetting})
            | {"contains_by_position": by_position}
            | {"locality_interval": None if interval is None else tuple(interval)}
        )


@dataclass(frozen=True, kw_only=True)
class ComparisonReport:
    """Every engine on the same documents and questions: what ``--report`` writes (and
    ``--json`` prints)."""

    model: str
    created: str
    dataset: str
    documents: int
    questions: int
    engines: tuple[EngineResult, ...]
    batch_size: int = 1
    """Questions answered together in one ``generate`` call (``harness.batch_size``)."""
    answer_style: str = "sentence"
    """How the questions were asked (``harness.answer_style``): sentence or short."""
    heldout_source: str = ""
    """What the forgetting columns were measured on."""
    environment: dict[str, str] = field(default_factory=dict)
    """Library versions and the commit the report was made with."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComparisonReport:
        """Read back what ``to_dict`` wrote (a ``--report`` file). Raises KeyError or TypeError
        on anything else."""
        engines = tuple(EngineResult.from_dict(row) for row in data["engines"])
        return cls(**{k: v for k, v in data.items() if k != "engines"}, engines=engines)


@dataclass(frozen=True, kw_only=True)
class HeldoutPoint:
    """Held-out figures at one point of a stream (0: before anything was learned)."""

    after_episode: int
    qa: float | None
    perplexity: float | None
    reading: float | None = None


@dataclass(frozen=True, kw_only=True)
class StreamRun:
    """One engine through one document order: the per-question scores after every episode."""

    engine: str
    label: str
    seed: int
    episodes: tuple[tuple[str, ...], ...]
    """The document ids of each episode, in the order they were learned."""
    question_ids: tuple[str, ...] = ()
    question_episode: tuple[int, ...] = ()
    scores: tuple[tuple[float, ...], ...] = ()
    """``scores[t][q]``: ``contains`` of question ``q`` after learning episode ``t``."""
    matrix: tuple[tuple[float, ...], ...] = ()
    heldout: tuple[HeldoutPoint, ...] = ()
    learn_seconds: float | None = None
    eval_seconds: float | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> StreamRun:
        return cls(
            **(
                row
                | {
                    "episodes": tuple(tuple(e) for e in row["episodes"]),
                    "question_ids": tuple(row["question_ids"]),
                    "question_episode": tuple(row["question_episode"]),
                    "scores": tuple(tuple(s) for s in row["scores"]),
                    "matrix": tuple(tuple(r) for r in row["matrix"]),
                    "heldout": tuple(HeldoutPoint(**h) for h in row["heldout"]),
                }
            )
        )


@dataclass(frozen=True, kw_only=True)
class StreamSummary:
    """One engine's figures over every order: each a ``{"mean", "low", "high", "per_seed"}``
    estimate (95% bootstrap interval), or None where undefined."""

    label: str
    acc: dict[str, Any] | None
    immediate: dict[str, Any] | None
    bwt: dict[str, Any] | None
    fwt: dict[str, Any] | None
    forgetting: tuple[float, ...] = ()
    """Per episode but the last, the mean over orders of its maximum forgetting."""
    matrix: tuple[tuple[float, ...], ...] = ()
    """R averaged over orders."""
    recovery: float | None = None
    recovery_oracle: float | None = None
    reading_before: float | None = None
    reading_after: float | None = None
    perplexity_before: float | None = None
    perplexity_after: float | None = None


@dataclass(frozen=True, kw_only=True)
class StreamReport:
    """Every engine through the same stream, under every order: ``bench stream --report``."""

    model: str
    created: str
    dataset: str
    episodes: int
    split: str
    seeds: tuple[int, ...]
    questions: int
    runs: tuple[StreamRun, ...]
    summaries: tuple[StreamSummary, ...]
    heldout_source: str = ""
    batch_size: int = 1
    answer_style: str = "sentence"
    environment: dict[str, str] = field(default_factory=dict)
    """Library versions and the commit the report was made with."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamReport:
        runs = tuple(StreamRun.from_dict(row) for row in data["runs"])
        summaries = tuple(
            StreamSummary(
                **(
                    s
                    | {
                        "forgetting": tuple(s["forgetting"]),
                        "matrix": tuple(tuple(r) for r in s["matrix"]),
                    }
                )
            )
            for s in data["summaries"]
        )
        rest = {k: v for k, v in data.items() if k not in ("runs", "summaries")}
        return cls(**(rest | {"seeds": tuple(rest["seeds"])}), runs=runs, summaries=summaries)
