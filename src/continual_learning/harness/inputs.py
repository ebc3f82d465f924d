"""What a comparison runs on: documents, questions about them, and held-out material."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from continual_learning.core.corpus import heldout_paragraphs
from continual_learning.core.documents import read_documents
from continual_learning.core.prompts import passages_prompt
from continual_learning.core.questions import (
    fictional_fact_probes,
    fictional_fact_set,
    read_questions,
)
from continual_learning.core.squad import (
    SquadParagraph,
    load_squad,
    sample_paragraphs,
    split_by_article,
)
from continual_learning.errors import DatasetError
from continual_learning.types import Document, QAItem


@dataclass(frozen=True, kw_only=True)
class ComparisonInputs:
    """Documents to learn, questions about them, and held-out questions and text about documents
    that are *not* learned (for forgetting). ``episode_size`` > 0 learns the documents in groups
    of that many, clearing the engine between groups and asking each group's questions after it
    (how a long benchmark stays within a small model's context on a CPU)."""

    dataset: str
    documents: tuple[Document, ...]
    questions: tuple[QAItem, ...]
    heldout_questions: tuple[QAItem, ...] = ()
    heldout_texts: tuple[str, ...] = ()
    reading_questions: tuple[QAItem, ...] = ()
    """Held-out questions whose text carries their paragraph: the reading probe (does learning
    damage the model's ability to answer from a text in front of it?)."""
    heldout_source: str = ""
    """What the held-out material is, for the report (SQuAD paragraphs, or the shipped ones)."""
    probes: tuple[QAItem, ...] = ()
    """The yardstick beside the facts: ``paraphrase`` and ``neighbour`` questions, each asked
    with its document's episode; they make the paraphrase and locality columns, not the
    scores (``questions`` holds the facts)."""
    episode_size: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def probes_for(self, documents: Sequence[Document]) -> tuple[QAItem, ...]:
        """The probes about ``documents``, asked once those are learned."""
        ids = {d.id for d in documents}
        return tuple(p for p in self.probes if p.doc_id in ids)

    def episodes(self) -> list[tuple[tuple[Document, ...], tuple[QAItem, ...]]]:
        size = self.episode_size or len(self.documents)
        groups = []
        for start in range(0, len(self.documents), size):
            docs = self.documents[start : start + size]
            ids = {d.id for d in docs}
            groups.append((docs, tuple(q for q in self.questions if q.doc_id in ids)))
        unattached = [q for q in self.questions if q.doc_id not in {d.id for d in self.documents}]
        if unattached:  # questions with no (known) document are asked after the last group
            last_docs, last_questions = groups[-1]
            groups[-1] = (last_docs, last_questions + tuple(unattached))
        return groups


def _heldout(
    paragraphs: Sequence[SquadParagraph], n: int, reading: int
) -> tuple[tuple[QAItem, ...], tuple[str, ...], tuple[QAItem, ...]]:
    """Held-out material from ``paragraphs`` (none of them learned): the first ``n`` paragraphs'
    texts for perplexity; and ``reading`` questions of the others, asked once without their
    paragraph (held-out QA: what the model knows) and once with it (the reading probe: can it
    still read). Without a reading probe, held-out QA is the first question of each of the ``n``
    paragraphs."""
    texts = tuple(p.context for p in paragraphs[:n])
    probe = _probe_items(paragraphs[n:], reading)
    if not probe:
        return tuple(p.answerable[0] for p in paragraphs[:n] if p.answerable), texts, ()
    read = tuple(
        dataclasses.replace(
            item, id=f"reading:{item.id}", question=passages_prompt([text], item.question)
        )
        for item, text in probe
    )
    return tuple(item for item, _ in probe), texts, read


def _probe_items(paragraphs: Sequence[SquadParagraph], count: int) -> list[tuple[QAItem, str]]:
    """``count`` answerable questions with their paragraph's text: each paragraph's first
    question, then its second, and so on, until there are enough."""
    probe: list[tuple[QAItem, str]] = []
    for rank in range(max((len(p.answerable) for p in paragraphs), default=0)):
        for paragraph in paragraphs:
            if len(probe) == count:
                return probe
            if rank < len(paragraph.answerable):
                probe.append((paragraph.answerable[rank], paragraph.context))
    return probe


def squad_inputs(
    path: Path,
    *,
    n: int,
    seed: int = 0,
    questions_per_paragraph: int = 2,
    unanswerable_per_paragraph: int = 1,
    heldout: int = 10,
    reading: int = 0,
    episode_size: int = 0,
    last_articles: int = 0,
) -> ComparisonInputs:
    """``n`` seeded paragraphs as documents with some answerable and unanswerable questions each;
    ``heldout`` other paragraphs (never learned) for forgetting. ``last_articles`` > 0 draws both
    from the last that many articles of the file only: the articles a trained engine (Doc-to-LoRA's
    hypernetwork, by default the last 5) never saw."""
    if last_articles < 0:
        raise DatasetError(f"last_articles must be 0 (every article) or more, got {last_articles}")
    paragraphs = load_squad(path)
    if last_articles > 0:
        paragraphs = split_by_article(paragraphs, last_articles)[1]
    chosen = sample_paragraphs(paragraphs, n, seed=seed)
    chosen_ids = {p.id for p in chosen}
    rest = [p for p in paragraphs if p.id not in chosen_ids and p.answerable]
    if len(rest) < heldout:
        raise DatasetError(
            f"{heldout} held-out paragraphs asked for, only {len(rest)} left after the {n} learned"
            + (f" in the last {last_articles} articles" if last_articles > 0 else "")
        )
    random.Random(seed + 1).shuffle(rest)
    questions = tuple(
        q
        for p in chosen
        for q in (
            *p.answerable[:questions_per_paragraph],
            *p.unanswerable[:unanswerable_per_paragraph],
        )
    )
    heldout_questions, heldout_texts, reading_questions = _heldout(rest, heldout, reading)
    return ComparisonInputs(
        reading_questions=reading_questions,
        dataset=f"squad:{path.name}:n={n}:seed={seed}"
        + (f":last-articles={last_articles}" if last_articles > 0 else ""),
        documents=tuple(p.as_document() for p in chosen),
        questions=questions,
        heldout_questions=heldout_questions,
        heldout_texts=heldout_texts,
        heldout_source=_squad_source(path, len(heldout_texts), len(heldout_questions)),
        episode_size=episode_size,
    )


def _squad_source(path: Path, paragraphs: int, questions: int) -> str:
    return (
        f"{paragraphs} held-out SQuAD paragraphs of {path.name} (perplexity) and {questions} "
        "questions of other held-out paragraphs, asked without and with their paragraph"
        if questions > paragraphs
        else f"{paragraphs} held-out SQuAD paragraphs of {path.name}, one question each"
    )


def fictional_fact_inputs(
    *,
    squad_path: Path | None = None,
    heldout: int = 10,
    reading: int = 0,
    fact_set: str = "shipped",
) -> ComparisonInputs:
    """A shipped fictional-fact set (``data.FACT_SETS``). Held-out material: SQuAD paragraphs
    and a question about each when a file is given (and ``reading`` questions with their
    paragraphs, from other paragraphs); otherwise the shipped held-out paragraphs (perplexity
    only), so a comparison always says what learning did to text the engine never saw."""
    documents, questions = fictional_fact_set(fact_set)
    probes = tuple(fictional_fact_probes()) if fact_set == "shipped" else ()
    heldout_questions: tuple[QAItem, ...] = ()
    heldout_texts: tuple[str, ...] = ()
    reading_questions: tuple[QAItem, ...] = ()
    source = ""
    if squad_path is not None and (heldout > 0 or reading > 0):
        rest = sample_paragraphs(load_squad(squad_path), heldout + reading, seed=12345)
        heldout_questions, heldout_texts, reading_questions = _heldout(rest, heldout, reading)
        source = _squad_source(squad_path, len(heldout_texts), len(heldout_questions))
    elif heldout > 0:
        heldout_texts = tuple(heldout_paragraphs(heldout))
        source = f"{len(heldout_texts)} shipped held-out paragraphs (perplexity only; no SQuAD)"
    return ComparisonInputs(
        dataset="fictional-facts" if fact_set == "shipped" else f"fictional-facts:{fact_set}",
        documents=tuple(documents),
        questions=tuple(questions),
        heldout_questions=heldout_questions,
        heldout_texts=heldout_texts,
        reading_questions=reading_questions,
        heldout_source=source,
        probes=probes,
    )


def file_inputs(
    document_paths: Sequence[Path],
    questions_path: Path,
    *,
    max_file_bytes: int,
    squad_path: Path | None = None,
    heldout: int = 10,
    reading: int = 0,
) -> ComparisonInputs:
    """Documents from files or folders, questions from JSONL; held-out from SQuAD if given."""
    documents = read_documents(document_paths, max_file_bytes=max_file_bytes)
    every = read_questions(questions_path)
    questions = [q for q in every if q.kind == "fact"]
    if not questions:
        raise DatasetError(f"questions file {questions_path} has no fact questions (kind fact)")
    known = {d.id for d in documents}
    unknown = sorted({q.doc_id for q in every if q.doc_id and q.doc_id not in known})
    if unknown:
        raise DatasetError(f"questions refer to unknown documents: {', '.join(unknown[:5])}")
    base = fictional_fact_inputs(squad_path=squad_path, heldout=heldout, reading=reading)
    return ComparisonInputs(
        dataset=f"files:{questions_path.name}",
        documents=tuple(documents),
        questions=tuple(questions),
        probes=tuple(q for q in every if q.kind != "fact"),
        heldout_questions=base.heldout_questions,
        heldout_texts=base.heldout_texts,
        reading_questions=base.reading_questions,
        heldout_source=base.heldout_source,
    )
