"""Question sets: JSONL files of ``{"doc_id", "question", "answers": [...]}`` (``id`` optional),
and the fictional-fact sets that ship with the package.

A fictional-fact set is short documents about people, places and things that exist nowhere else
(Velmoria, the Quillfeather Prize, the Kestrel-9 ...) with four questions each, so a correct answer
can only come from the document: the model cannot have seen them in pre-training. Three ship:

- ``shipped``: the first twelve documents, on which the engines' defaults grew up;
- ``tuning`` and ``test``: the two halves of a second set of 45 documents written to keep that
  from happening again, split once by :data:`SPLIT_SEED`. Defaults may be chosen on ``tuning``;
  ``test`` is only run to report a candidate default, so a figure on it is one nobody fitted.
"""

from __future__ import annotations

import json
import random
from importlib import resources
from pathlib import Path

from continual_learning.core.documents import read_documents
from continual_learning.data import FACT_SETS
from continual_learning.errors import DatasetError
from continual_learning.types import QUESTION_KINDS, Document, QAItem

_PACKAGE_DATA = "continual_learning.data"
SPLIT_SEED = 41
"""Fixed once: which of the 45 documents are for tuning and which for testing."""


def read_questions(path: Path) -> list[QAItem]:
    """Parse a questions JSONL file; a bad line is a one-line error naming ``file:line``."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"questions file not found: {path}") from None
    except UnicodeDecodeError:
        raise DatasetError(f"questions file {path} is not UTF-8 text") from None
    items = [_question(path, number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not items:
        raise DatasetError(f"questions file {path} has no questions")
    return items


def _question(path: Path, number: int, line: str) -> QAItem:
    where = f"{path}:{number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: invalid JSON ({exc.msg})") from None
    if not isinstance(row, dict) or not isinstance(row.get("question"), str):
        raise DatasetError(f'{where}: each line needs a "question" string')
    if not row["question"].strip():
        raise DatasetError(f'{where}: the "question" is empty')
    answers = row.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise DatasetError(f'{where}: "answers" must be a list of strings ([] if unanswerable)')
    kind = row.get("kind", "fact")
    if kind not in QUESTION_KINDS:
        raise DatasetError(f'{where}: "kind" is one of {", ".join(QUESTION_KINDS)}, not {kind!r}')
    return QAItem(
        id=str(row.get("id", f"{path.stem}-{number}")),
        question=row["question"],
        answers=tuple(answers),
        doc_id=str(row.get("doc_id", "")),
        kind=kind,
    )


def fictional_fact_set(part: str = "shipped") -> tuple[list[Document], list[QAItem]]:
    """A shipped fictional-fact set (one of :data:`FACT_SETS`): its documents in learning
    order and their questions."""
    if part not in FACT_SETS:
        raise DatasetError(f"unknown fact set {part!r}: choose one of {', '.join(FACT_SETS)}")
    if part == "shipped":
        return _packaged("fictional_facts")
    documents, questions = _packaged("fictional_facts_split")
    chosen = set(split_halves([d.id for d in documents])[FACT_SETS.index(part) - 1])
    return (
        [d for d in documents if d.id in chosen],
        [q for q in questions if q.doc_id in chosen],
    )


def fictional_fact_probes() -> list[QAItem]:
    """The shipped set's yardstick questions: a second wording of every fact question
    (``paraphrase``) and two or three real-world facts near each document's subject that
    SmolLM2-135M answers closed-book (``neighbour``; ``scripts/check_neighbours.py`` checks
    them again)."""
    folder = resources.files(_PACKAGE_DATA)
    probes = []
    for name in ("fictional_facts_paraphrases.jsonl", "fictional_facts_neighbours.jsonl"):
        with resources.as_file(folder / name) as path:
            probes += read_questions(path)
    return probes


def split_halves(ids: list[str], seed: int = SPLIT_SEED) -> tuple[list[str], list[str]]:
    """``ids`` shuffled by ``seed`` and cut in two: (tuning, test); test gets the odd one."""
    shuffled = sorted(ids)
    random.Random(seed).shuffle(shuffled)
    half = len(shuffled) // 2
    return sorted(shuffled[:half]), sorted(shuffled[half:])


def _packaged(stem: str) -> tuple[list[Document], list[QAItem]]:
    folder = resources.files(_PACKAGE_DATA)
    with resources.as_file(folder / f"{stem}_documents.jsonl") as docs_path:
        documents = read_documents([docs_path], max_file_bytes=1_000_000)
    with resources.as_file(folder / f"{stem}_questions.jsonl") as questions_path:
        questions = read_questions(questions_path)
    return documents, questions
