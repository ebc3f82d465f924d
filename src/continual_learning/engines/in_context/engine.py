"""The ceiling baseline: the answer is generated with the learned documents in the prompt.

Reading the document at question time is the most direct way for a model to use it, so this
engine bounds what a method that stores documents elsewhere (weights, adapters, playbooks) can be
expected to reach on the same backbone. When the documents do not all fit the prompt budget, the
ones kept are chosen by ``overflow``: by TF-IDF relevance to the question (the fair ceiling for
many documents) or by recency; they are always shown in the order they were learned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.documents import load_document_list, save_document_list
from continual_learning.core.prompts import passages_prompt
from continual_learning.core.relevance import cut_to_tokens, fit_budget, rank_by_relevance
from continual_learning.engines.base import (
    Engine,
    LearnOutcome,
    PreparedPrompt,
    ProgressCallback,
)
from continual_learning.engines.in_context.config import InContextConfig
from continual_learning.types import Document, InfoItem

# Chat-template tokens and the instruction line around the documents and question.
_PROMPT_OVERHEAD_TOKENS = 64


class InContextEngine(Engine):
    key = "in_context"
    summary = "Ceiling: learned documents are put in the prompt, as many as fit"
    changes_weights = False

    def __init__(
        self, backbone: Backbone, config: InContextConfig, *, generation: GenerationConfig
    ) -> None:
        super().__init__(backbone, config, generation=generation)
        self.documents: list[Document] = []
        self._token_counts: list[int] = []
        self.last_prompt_doc_ids: tuple[str, ...] = ()

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        tokens = self.backbone.count_tokens(text)
        self.documents.append(Document(id=doc_id, text=text))
        self._token_counts.append(tokens)
        return LearnOutcome(tokens=tokens)

    def _prepare(
        self, prompt: str, *, history: Sequence[ChatMessage], options: GenerationOptions
    ) -> PreparedPrompt:
        budget = self._document_budget(prompt, history, options)
        chosen = self._choose_documents(prompt, budget)
        self.last_prompt_doc_ids = tuple(self.documents[i].id for i in chosen)
        passages = [
            cut_to_tokens(self.backbone.tokenizer, self.documents[i].text, budget) for i in chosen
        ]
        return PreparedPrompt(
            messages=self.qa_messages(passages_prompt(passages, prompt), history=history)
        )

    def _document_budget(
        self, prompt: str, history: Sequence[ChatMessage], options: GenerationOptions
    ) -> int:
        window = self.config.max_prompt_tokens or self.backbone.context_window
        window = min(window, self.backbone.context_window)
        used = sum(self.backbone.count_tokens(m["content"]) for m in history)
        used += self.backbone.count_tokens(self.generation.system_prompt + prompt)
        return window - used - options.max_new_tokens - _PROMPT_OVERHEAD_TOKENS

    def _choose_documents(self, question: str, budget: int) -> list[int]:
        """Indices of the documents to show, in learned order, within ``budget`` tokens."""
        return fit_budget(self._rank(question), self._token_counts, budget)

    def _rank(self, question: str) -> list[int]:
        if self.config.overflow == "recent":
            return list(reversed(range(len(self.documents))))
        return rank_by_relevance([d.text for d in self.documents], question)

    def _clear_state(self) -> None:
        self.documents.clear()
        self._token_counts.clear()
        self.last_prompt_doc_ids = ()

    def _save_state(self, directory: Path) -> None:
        save_document_list(directory / "documents.json", self.documents)

    def _load_state(self, directory: Path) -> None:
        documents = load_document_list(directory / "documents.json", what="in-context documents")
        counts = [self.backbone.count_tokens(d.text) for d in documents]
        self.documents, self._token_counts = documents, counts

    def _details(self) -> list[InfoItem]:
        budget = self.config.max_prompt_tokens or self.backbone.context_window
        return [
            InfoItem(label="documents stored", value=str(len(self.documents))),
            InfoItem(label="tokens stored", value=str(sum(self._token_counts))),
            InfoItem(label="prompt budget", value=f"{budget} tokens"),
            InfoItem(label="overflow policy", value=self.config.overflow),
            InfoItem(label="last prompt used", value=json.dumps(list(self.last_prompt_doc_ids))),
        ]
