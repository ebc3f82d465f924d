"""A TF-IDF index over chunks that grows as documents are learned (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from continual_learning.core.chunking import Chunk


class TfidfChunkIndex:
    """Chunks and their TF-IDF matrix; refitted on every change so IDF reflects all documents.

    Refitting costs milliseconds for thousands of chunks, and keeps the index a pure function of
    the chunk texts: saving the texts is saving the index (no pickled vectorizer).
    """

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self._vectorizer: TfidfVectorizer | None = None
        self._matrix: Any = None  # a scipy sparse (chunks, vocabulary), L2-normalised rows

    def add(self, chunks: Sequence[Chunk]) -> None:
        self.chunks.extend(chunks)
        self._refit()

    def replace(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self._refit()

    def _refit(self) -> None:
        if not self.chunks:
            self._vectorizer, self._matrix = None, None
            return
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        try:
            self._matrix = vectorizer.fit_transform([c.text for c in self.chunks])
            self._vectorizer = vectorizer
        except ValueError:  # every chunk is stop words only: nothing to index
            self._vectorizer, self._matrix = None, None

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """``(chunk index, cosine score)`` of the ``k`` best chunks with a score above zero."""
        if self._vectorizer is None:
            return []
        scores = linear_kernel(self._vectorizer.transform([query]), self._matrix).ravel()
        best = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in best if scores[i] > 0]

    def word_weights(self, chunk_indices: Sequence[int]) -> dict[str, float]:
        """The highest TF-IDF weight each word reaches in the given chunks."""
        if self._vectorizer is None or not chunk_indices:
            return {}
        rows = self._matrix[list(chunk_indices)].max(axis=0).toarray().ravel()
        vocabulary = self._vectorizer.get_feature_names_out()
        return {str(vocabulary[i]): float(rows[i]) for i in np.flatnonzero(rows)}

    def clear(self) -> None:
        self.replace([])
