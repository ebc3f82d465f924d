"""JitRL MVP: retrieve, prepend, bias. Learning only grows an index; no weight changes.

For each question the TF-IDF index returns the ``top_k`` most similar chunks of everything
learned; they are put before the question (same wording as the in-context baseline) and a logit
bias (see ``logit_bias.py``) nudges decoding toward their salient words.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.chunking import Chunk, chunk_text, load_chunks, save_chunks
from continual_learning.core.prompts import passages_prompt
from continual_learning.engines.base import (
    Engine,
    LearnOutcome,
    PreparedPrompt,
    ProgressCallback,
)
from continual_learning.engines.jitrl_mvp.config import JitrlMvpConfig
from continual_learning.engines.jitrl_mvp.logit_bias import build_token_bias
from continual_learning.engines.jitrl_mvp.retriever import TfidfChunkIndex
from continual_learning.types import Figure, InfoItem


class JitrlMvpEngine(Engine):
    key = "jitrl_mvp"
    summary = "JitRL MVP: TF-IDF chunk retrieval, context prepending, logit bias"
    changes_weights = False

    def __init__(
        self, backbone: Backbone, config: JitrlMvpConfig, *, generation: GenerationConfig
    ) -> None:
        super().__init__(backbone, config, generation=generation)
        self.index = TfidfChunkIndex()
        self.last_retrieved: tuple[Chunk, ...] = ()

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        chunks = chunk_text(
            self.backbone.tokenizer,
            text,
            doc_id=doc_id,
            max_tokens=self.config.chunk_tokens,
            overlap=self.config.chunk_overlap,
        )
        self.index.add(chunks)
        return LearnOutcome(
            tokens=self.backbone.count_tokens(text),
            chunks=len(chunks),
            figures=(Figure(name="chunks indexed", value=len(self.index.chunks)),),
        )

    def retrieve(self, question: str) -> list[int]:
        return [i for i, _ in self.index.search(question, self.config.top_k)]

    def _prepare(
        self, prompt: str, *, history: Sequence[ChatMessage], options: GenerationOptions
    ) -> PreparedPrompt:
        retrieved = self.retrieve(prompt)
        self.last_retrieved = tuple(self.index.chunks[i] for i in retrieved)
        passages = [chunk.text for chunk in self.last_retrieved]
        bias = build_token_bias(
            self.backbone.tokenizer,
            passages,
            self.index.word_weights(retrieved),
            strength=self.config.bias_strength,
            max_words=self.config.bias_words,
            device=self.backbone.device,
        )
        return PreparedPrompt(
            messages=self.qa_messages(passages_prompt(passages, prompt), history=history),
            logits_processors=(bias,) if bias else (),
        )

    def _clear_state(self) -> None:
        self.index.clear()
        self.last_retrieved = ()

    def _save_state(self, directory: Path) -> None:
        save_chunks(directory / "chunks.json", self.index.chunks)

    def _load_state(self, directory: Path) -> None:
        self.index.replace(load_chunks(directory / "chunks.json", what="JitRL MVP chunks"))

    def _details(self) -> list[InfoItem]:
        documents = len({c.doc_id for c in self.index.chunks})
        return [
            InfoItem(
                label="chunks indexed", value=f"{len(self.index.chunks)} from {documents} documents"
            ),
            InfoItem(
                label="chunking",
                value=f"{self.config.chunk_tokens} tokens, overlap {self.config.chunk_overlap}",
            ),
            InfoItem(label="retrieval", value=f"TF-IDF, top {self.config.top_k}"),
            InfoItem(
                label="logit bias",
                value=f"strength {self.config.bias_strength}, {self.config.bias_words} words",
            ),
        ]
