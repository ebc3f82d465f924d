"""The reading ceiling: a question about document D is asked with D, and only D, in the prompt.

Benchmarks tell it which document each question is about (:meth:`answer` reads ``doc_id``). A
plain prompt (the menu, ``ask``) names no document, so it gets the learned document most similar
to it (TF-IDF), which is retrieval, not an oracle: the summary says this engine is for benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.answer_style import AnswerStyle, styled_reply
from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.documents import load_document_list, save_document_list
from continual_learning.core.prompts import passages_prompt
from continual_learning.core.relevance import cut_to_tokens, rank_by_relevance
from continual_learning.engines.answering import answer_prepared, styled
from continual_learning.engines.base import Engine, LearnOutcome, PreparedPrompt, ProgressCallback
from continual_learning.types import Document, InfoItem, QAItem

_PROMPT_OVERHEAD_TOKENS = 64


class OracleContextEngine(Engine):
    key = "oracle_context"
    summary = "Reading ceiling: each question with only its own document (benchmarks)"
    changes_weights = False

    def __init__(self, backbone: Backbone, config: object, *, generation: GenerationConfig) -> None:
        super().__init__(backbone, config, generation=generation)
        self.documents: dict[str, Document] = {}

    def answer(
        self,
        items: Sequence[QAItem],
        *,
        max_new_tokens: int | None = None,
        batch_size: int = 1,
        style: AnswerStyle = "sentence",
    ) -> list[str]:
        options = self.generation_options(self.style_token_limit(max_new_tokens, style))
        prepared = [
            styled(self._with_document(item.question, item.doc_id, options), style)
            for item in items
        ]
        replies = answer_prepared(self, prepared, options, max(batch_size, 1))
        return [styled_reply(reply, style) for reply in replies]

    def _with_document(
        self, question: str, doc_id: str, options: GenerationOptions
    ) -> PreparedPrompt:
        document = self.documents.get(doc_id)
        if document is None:  # not learned (yet): the question alone, as closed-book asks it
            return PreparedPrompt(messages=self.qa_messages(question))
        budget = self._budget(question, options)
        passage = cut_to_tokens(self.backbone.tokenizer, document.text, budget)
        return PreparedPrompt(messages=self.qa_messages(passages_prompt([passage], question)))

    def _budget(self, question: str, options: GenerationOptions) -> int:
        used = self.backbone.count_tokens(self.generation.system_prompt + question)
        return (
            self.backbone.context_window - used - options.max_new_tokens - _PROMPT_OVERHEAD_TOKENS
        )

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        self.documents[doc_id] = Document(id=doc_id, text=text)
        return LearnOutcome(tokens=self.backbone.count_tokens(text))

    def _prepare(
        self, prompt: str, *, history: Sequence[ChatMessage], options: GenerationOptions
    ) -> PreparedPrompt:
        if history or not self.documents:
            return PreparedPrompt(messages=self.qa_messages(prompt, history=history))
        ids = list(self.documents)
        best = rank_by_relevance([self.documents[i].text for i in ids], prompt)[0]
        return self._with_document(prompt, ids[best], options)

    def _clear_state(self) -> None:
        self.documents.clear()

    def _save_state(self, directory: Path) -> None:
        save_document_list(directory / "documents.json", self.documents.values())

    def _load_state(self, directory: Path) -> None:
        documents = load_document_list(
            directory / "documents.json", what="oracle-context documents"
        )
        self.documents = {d.id: d for d in documents}

    def _details(self) -> list[InfoItem]:
        return [InfoItem(label="documents stored", value=str(len(self.documents)))]
