"""The floor baseline: documents are counted and then ignored, answers come from the weights."""

from __future__ import annotations

from pathlib import Path

from continual_learning.engines.base import Engine, LearnOutcome, ProgressCallback
from continual_learning.types import InfoItem


class ClosedBookEngine(Engine):
    key = "closed_book"
    summary = "Floor: the backbone alone, learns nothing"
    changes_weights = False

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        # Counted so that reports line up with other engines; nothing is kept.
        return LearnOutcome(tokens=self.backbone.count_tokens(text))

    def _clear_state(self) -> None:
        """Nothing to forget."""

    def _save_state(self, directory: Path) -> None:
        """No state beyond the history the base class saves."""

    def _load_state(self, directory: Path) -> None:
        """No state beyond the history the base class loads."""

    def _details(self) -> list[InfoItem]:
        return [InfoItem(label="knowledge", value="none: answers come from the backbone alone")]
