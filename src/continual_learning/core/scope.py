"""Which prompts a weight engine's learning applies to: a TF-IDF scope over what it learned.

A weight edit that is always on changes the model's answers about everything, not only about
what it learned: TTT-E2E's and Replay-LoRA's held-out perplexity rises with every document.
Lifelong model-editing methods scope their edits instead: GRACE keeps a deferral radius around
each edit (arXiv 2211.11031), WISE routes each input between an edited side memory and the
untouched main memory (arXiv 2405.14768), SERAC asks a scope classifier (arXiv 2206.06520).
The edit is used for inputs about what was edited; the untouched model answers the rest.

This scope is the simplest such router: the TF-IDF cosine between a prompt and the passages of
the learned documents, with the IDF fitted on those passages and on general paragraphs, so that
words every text uses weigh little. A prompt whose best passage scores ``threshold`` or more is
in scope; ``threshold`` 0 puts every prompt in scope (the edit is always on). The learning
itself still lives in the weights: the scope only decides when they are used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from continual_learning.core.corpus import general_paragraphs
from continual_learning.core.storage import atomic_write_json, read_json
from continual_learning.errors import StateError

if TYPE_CHECKING:
    from scipy.sparse import spmatrix
    from sklearn.feature_extraction.text import TfidfVectorizer

SCOPE_FILE = "scope.json"
GENERAL_PARAGRAPHS = 40
PASSAGE_WORDS = 80
"""A question names a detail of one part of a document; a passage this long keeps that part's
words from being diluted by the rest of a long document."""


class Scope:
    """The learned documents' passages, and whether a prompt is about them."""

    def __init__(self, threshold: float, general: Sequence[str] | None = None) -> None:
        """``general``: paragraphs that only weigh the words (default: the shipped ``builtin``
        corpus, read when a threshold is set)."""
        self.threshold = threshold
        if general is None and threshold > 0.0:
            general = general_paragraphs("builtin", GENERAL_PARAGRAPHS, config_key="scope")
        self.general = list(general or ())
        self.documents: list[str] = []
        self._fitted: _Fitted | None = None

    @property
    def always(self) -> bool:
        """Every prompt is in scope: ``threshold`` 0, or nothing learned that could be scoped
        (also a checkpoint saved before scopes existed)."""
        return self.threshold <= 0.0 or not self.documents

    def add(self, text: str) -> None:
        self.documents.append(text)
        self._fitted = None

    def clear(self) -> None:
        self.documents.clear()
        self._fitted = None

    def replace(self, documents: Sequence[str]) -> None:
        """Forget what was added; these ``documents`` instead, in this order."""
        self.documents = list(documents)
        self._fitted = None

    def similarity(self, text: str) -> float:
        """The TF-IDF cosine between ``text`` and the learned passage most like it (0 if none)."""
        return self._best(text)[1]

    def covers(self, text: str) -> bool:
        """Whether the learned change should apply to ``text``."""
        return self.always or self.similarity(text) >= self.threshold

    def nearest(self, text: str) -> int | None:
        """The learned document (its index, in the order added) with the passage most like
        ``text``, if that passage reaches ``threshold``; None when nothing does."""
        document, score = self._best(text)
        return document if document is not None and score >= self.threshold else None

    def _best(self, text: str) -> tuple[int | None, float]:
        """The document of the passage most like ``text``, and their cosine (None, 0 if none)."""
        if not self.documents:
            return None, 0.0
        fitted = self._fit()
        if fitted.passages is None:
            return None, 0.0
        from sklearn.metrics.pairwise import linear_kernel

        scores = linear_kernel(fitted.vectorizer.transform([text]), fitted.passages)[0]
        best = int(scores.argmax())
        return fitted.owners[best], float(scores[best])

    def save(self, directory: Path) -> None:
        atomic_write_json(directory / SCOPE_FILE, {"documents": self.documents})

    def load(self, directory: Path) -> None:
        """The documents saved with :meth:`save`; none when the file is absent."""
        self.clear()
        path = directory / SCOPE_FILE
        if not path.exists():
            return
        data = read_json(path, what="scope")
        documents = data.get("documents") if isinstance(data, dict) else None
        if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
            raise StateError(f"{path} is malformed: 'documents' must be a list of texts")
        self.replace(documents)

    def _fit(self) -> _Fitted:
        if self._fitted is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            owned = [(i, p) for i, doc in enumerate(self.documents) for p in passages_of(doc)]
            passages = [p for _, p in owned]
            vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
            try:
                vectorizer.fit([*passages, *self.general])
            except ValueError:  # nothing but stop words: no prompt can be recognised
                return _Fitted(vectorizer, None, [])
            owners = [i for i, _ in owned]
            self._fitted = _Fitted(vectorizer, vectorizer.transform(passages), owners)
        return self._fitted


@dataclass(frozen=True)
class _Fitted:
    vectorizer: TfidfVectorizer
    passages: spmatrix | None
    owners: list[int]
    """The document each passage (row of ``passages``) was cut from."""


def passages_of(text: str) -> list[str]:
    """``text`` cut into windows of about ``PASSAGE_WORDS`` words, overlapping by half."""
    words = re.findall(r"\S+", text)
    if len(words) <= PASSAGE_WORDS:
        return [" ".join(words)] if words else []
    step = PASSAGE_WORDS // 2
    return [
        " ".join(words[start : start + PASSAGE_WORDS])
        for start in range(0, len(words) - step, step)
    ]
