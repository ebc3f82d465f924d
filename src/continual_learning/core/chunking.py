"""Token-aware chunking: split a document into windows of at most N tokens that overlap.

Chunks are cut on token boundaries of the backbone's own tokenizer, so a chunk's size is what the
model will see, and then mapped back to the exact character span of the original text (through
the fast tokenizer's offsets) so no text is altered by a decode round-trip.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from continual_learning.core.storage import atomic_write_json, read_json
from continual_learning.errors import ConfigError, StateError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """A span of a document: its text, where it came from, and its size in tokens."""

    doc_id: str
    index: int
    text: str
    tokens: int


def chunk_text(
    tokenizer: PreTrainedTokenizerBase, text: str, *, doc_id: str, max_tokens: int, overlap: int
) -> list[Chunk]:
    """Windows of ``max_tokens`` tokens, each starting ``max_tokens - overlap`` after the last."""
    if max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise ConfigError(
            f"chunking needs 0 <= overlap < max_tokens, got {overlap} and {max_tokens}"
        )
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    if not offsets:
        return []
    step = max_tokens - overlap
    chunks = []
    for index, start in enumerate(range(0, len(offsets), step)):
        window = offsets[start : start + max_tokens]
        span = text[window[0][0] : window[-1][1]].strip()
        if span:
            chunks.append(Chunk(doc_id=doc_id, index=index, text=span, tokens=len(window)))
        if start + max_tokens >= len(offsets):
            break
    return chunks


def check_overlap(section: str, chunk_tokens: int, chunk_overlap: int) -> None:
    """The cross-field rule every chunking config shares, with the error naming the key."""
    if chunk_overlap >= chunk_tokens:
        raise ConfigError(
            f"config key '{section}.chunk_overlap': must be < chunk_tokens ({chunk_tokens}), "
            f"got {chunk_overlap}"
        )


def save_chunks(path: Path, chunks: Sequence[Chunk]) -> None:
    atomic_write_json(path, [dataclasses.asdict(c) for c in chunks])


def load_chunks(path: Path, *, what: str) -> list[Chunk]:
    """Chunks written by :func:`save_chunks`; a malformed file is a :class:`StateError`."""
    rows = read_json(path, what=what)
    try:
        return [
            Chunk(
                doc_id=str(r["doc_id"]),
                index=int(r["index"]),
                text=str(r["text"]),
                tokens=int(r["tokens"]),
            )
            for r in rows
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"{what} in {path} are malformed: {exc}") from None
