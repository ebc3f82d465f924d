"""Question sets: JSONL files of ``{"doc_id", "question", "answers": [...]}`` (``id`` optional),
and the fictional-fact set that ships with the package.

The fictional-fact set is twelve short documents about people, places and things that exist
nowhere else (Velmoria, the Quillfeather Prize, the Kestrel-9 ...) with four questions each, so a
correct answer can only come from the document: the model cannot have seen them in pre-training.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from continual_learning.core.documents import read_documents
from continual_learning.errors import DatasetError
from continual_learning.types import Document, QAItem

_PACKAGE_DATA = "continual_learning.data"


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
    answers = row.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise DatasetError(f'{where}: "answers" must be a list of strings ([] if unanswerable)')
    return QAItem(
        id=str(row.get("id", f"{path.stem}-{number}")),
        question=row["question"],
        answers=tuple(answers),
        doc_id=str(row.get("doc_id", "")),
    )


def fictional_fact_set() -> tuple[list[Document], list[QAItem]]:
    """The shipped fictional-fact documents and their questions."""
    folder = resources.files(_PACKAGE_DATA)
    with resources.as_file(folder / "fictional_facts_documents.jsonl") as docs_path:
        documents = read_documents([docs_path], max_file_bytes=1_000_000)
    with resources.as_file(folder / "fictional_facts_questions.jsonl") as questions_path:
        questions = read_questions(questions_path)
    return documents, questions
