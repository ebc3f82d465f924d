"""Document readers: ``.txt``, ``.md``, ``.jsonl`` files and folders of them.

Everything is read and checked before anything is learned, so a bad file among good ones stops
the whole batch with a one-line :class:`~continual_learning.errors.DocumentError` and nothing is
half-learned. Oversized files are refused, never silently truncated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from continual_learning.errors import DocumentError
from continual_learning.types import Document

TEXT_SUFFIXES = frozenset({".txt", ".md"})
JSONL_SUFFIXES = frozenset({".jsonl"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES
_BINARY_SNIFF_BYTES = 8192


def read_documents(paths: Iterable[Path | str], *, max_file_bytes: int) -> list[Document]:
    """Read every document under ``paths`` (files or folders), in a stable order."""
    documents: list[Document] = []
    for path in map(Path, paths):
        for file in _expand(path):
            documents.extend(read_file(file, max_file_bytes=max_file_bytes))
    if not documents:
        raise DocumentError("no documents to learn")
    _check_unique_ids(documents)
    return documents


def _expand(path: Path) -> list[Path]:
    if not path.exists():
        raise DocumentError(f"no such file or folder: {path}")
    if path.is_file():
        return [path]
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise DocumentError(f"folder {path} has no .txt, .md or .jsonl files")
    return files


def read_file(path: Path, *, max_file_bytes: int) -> list[Document]:
    """The documents in one file: one for ``.txt``/``.md``, one per line for ``.jsonl``."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{path}: unsupported file type '{suffix or '(none)'}' (use .txt, .md or .jsonl)"
        )
    text = _read_text(path, max_file_bytes=max_file_bytes)
    if suffix in JSONL_SUFFIXES:
        return _parse_jsonl(path, text)
    if not text.strip():
        raise DocumentError(f"{path}: the file is empty")
    return [Document(id=path.stem, text=text.strip(), source=str(path))]


def _read_text(path: Path, *, max_file_bytes: int) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror})") from None
    if size > max_file_bytes:
        raise DocumentError(
            f"{path}: {size:,} bytes is over the limit of {max_file_bytes:,} "
            "(config key documents.max_file_bytes)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise DocumentError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start})") from None


def _parse_jsonl(path: Path, text: str) -> list[Document]:
    documents = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise DocumentError(f'{path}:{number}: each line needs a "text" string')
        if not row["text"].strip():
            raise DocumentError(f"{path}:{number}: the text is empty")
        doc_id = row.get("id", f"{path.stem}-{number}")
        if not isinstance(doc_id, str | int):
            raise DocumentError(f'{path}:{number}: "id" must be a string or a number')
        documents.append(
            Document(id=str(doc_id), text=row["text"].strip(), source=f"{path}:{number}")
        )
    if not documents:
        raise DocumentError(f"{path}: the file has no documents")
    return documents


def _check_unique_ids(documents: list[Document]) -> None:
    seen: dict[str, str] = {}
    for doc in documents:
        if doc.id in seen:
            raise DocumentError(
                f"document id '{doc.id}' appears twice ({seen[doc.id]} and {doc.source})"
            )
        seen[doc.id] = doc.source


def save_document_list(path: Path, documents: Iterable[Document]) -> None:
    """An engine's stored documents as JSON (atomically): what the prompt-filling baselines keep."""
    from continual_learning.core.storage import atomic_write_json

    atomic_write_json(path, [{"id": d.id, "text": d.text, "source": d.source} for d in documents])


def load_document_list(path: Path, *, what: str) -> list[Document]:
    """Read what :func:`save_document_list` wrote; a malformed file is a ``StateError``."""
    from continual_learning.core.storage import read_json
    from continual_learning.errors import StateError

    rows = read_json(path, what=what)
    try:
        return [
            Document(id=str(r["id"]), text=str(r["text"]), source=str(r["source"])) for r in rows
        ]
    except (KeyError, TypeError) as exc:
        raise StateError(f"{what} in {path.parent} are malformed: {exc}") from None
