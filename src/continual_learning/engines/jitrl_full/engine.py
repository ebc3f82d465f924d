"""JitRL Full: a hidden-state knowledge store, retrieval by similarity, and reward-guided logit
modulation (see ``reward.py`` for the exact reward).

Learning runs the frozen backbone once over each chunk and keeps its vector and memory entries
(``knowledge_store.py``); nothing is recomputed at question time except one forward pass over
the question itself to embed it (one over all the questions of a batch). The retrieved chunks
are also given as context, in the same wording as every other engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.chunking import Chunk, chunk_text, load_chunks, save_chunks
from continual_learning.core.hidden_states import LayerCapture, resolve_layer
from continual_learning.core.prompts import passages_prompt
from continual_learning.engines.base import (
    Engine,
    LearnOutcome,
    PreparedPrompt,
    ProgressCallback,
)
from continual_learning.engines.jitrl_full.config import JitrlFullConfig
from continual_learning.engines.jitrl_full.knowledge_store import (
    EncodedText,
    KnowledgeStore,
    encode,
    question_vectors,
)
from continual_learning.engines.jitrl_full.reward import AdvantageModulator
from continual_learning.errors import StateError
from continual_learning.types import Figure, InfoItem, ProgressEvent

STORE_FILE = "knowledge_store.safetensors"


class JitrlFullEngine(Engine):
    key = "jitrl_full"
    summary = "JitRL Full: hidden-state knowledge store, reward-guided logit modulation"
    changes_weights = False

    def __init__(
        self, backbone: Backbone, config: JitrlFullConfig, *, generation: GenerationConfig
    ) -> None:
        super().__init__(backbone, config, generation=generation)
        self.retrieval_layer = round(config.retrieval_depth * (backbone.num_layers - 1))
        # Fail on a bad layer now, not at the first question.
        self.memory_layer = resolve_layer(backbone.model, config.memory_layer)
        self.store = KnowledgeStore()
        self.last_retrieved: tuple[Chunk, ...] = ()
        self.last_modulator: AdvantageModulator | None = None

    def _encode(self, text: str) -> EncodedText:
        return encode(
            self.backbone,
            text,
            retrieval_layer=self.retrieval_layer,
            memory_layer=self.memory_layer,
        )

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        chunks = chunk_text(
            self.backbone.tokenizer,
            text,
            doc_id=doc_id,
            max_tokens=self.config.chunk_tokens,
            overlap=self.config.chunk_overlap,
        )
        encoded = []
        for index, chunk in enumerate(chunks):
            if on_event is not None:
                on_event(ProgressEvent(task="encode chunks", completed=index, total=len(chunks)))
            encoded.append(self._encode(chunk.text))
        self.store.add(chunks, encoded)
        return LearnOutcome(
            tokens=self.backbone.count_tokens(text),
            chunks=len(chunks),
            figures=(
                Figure(name="chunks stored", value=len(self.store)),
                Figure(name="memory entries", value=self.store.memory_next.shape[0]),
            ),
        )

    def retrieve(self, question: str) -> list[int]:
        return self.retrieve_many([question])[0]

    def retrieve_many(self, questions: Sequence[str]) -> list[list[int]]:
        """The store's ``top_k`` chunks for each question, its vector from one forward pass
        over all of them."""
        retrieved: list[list[int]] = [[] for _ in questions]
        asked = [i for i, q in enumerate(questions) if q.strip()]  # a blank one finds nothing
        if not (len(self.store) and asked):
            return retrieved
        texts = [questions[i] for i in asked]
        queries = question_vectors(self.backbone, texts, layer=self.retrieval_layer)
        for i, query in zip(asked, queries, strict=True):
            retrieved[i] = [chunk for chunk, _ in self.store.search(query, self.config.top_k)]
        return retrieved

    def _prepare(
        self, prompt: str, *, history: Sequence[ChatMessage], options: GenerationOptions
    ) -> PreparedPrompt:
        return self._prepared(prompt, self.retrieve(prompt), history=history)

    def _prepare_many(
        self, prompts: Sequence[str], *, options: GenerationOptions
    ) -> list[PreparedPrompt]:
        retrieved = self.retrieve_many(prompts)
        return [self._prepared(p, r, history=()) for p, r in zip(prompts, retrieved, strict=True)]

    def _prepared(
        self, prompt: str, retrieved: list[int], *, history: Sequence[ChatMessage]
    ) -> PreparedPrompt:
        """The prompt with its retrieved chunks as passages, and the reward modulation that
        reads their memory entries."""
        self.last_retrieved = tuple(self.store.chunks[i] for i in retrieved)
        messages = self.qa_messages(
            passages_prompt([c.text for c in self.last_retrieved], prompt), history=history
        )
        self.last_modulator = None
        if not (self.config.modulation and retrieved):
            return PreparedPrompt(messages=messages)
        states, next_tokens = self.store.memory_of(retrieved)
        capture = LayerCapture(self.backbone.model, self.memory_layer)
        self.last_modulator = AdvantageModulator(
            capture,
            states,
            next_tokens,
            candidates=self.config.candidates,
            neighbours=self.config.neighbours,
            temperature=self.config.temperature,
            beta=self.config.beta,
        )
        return PreparedPrompt(
            messages=messages, logits_processors=(self.last_modulator,), contexts=(capture,)
        )

    def _clear_state(self) -> None:
        self.store = KnowledgeStore()
        self.last_retrieved = ()
        self.last_modulator = None

    def _save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        save_chunks(directory / "chunks.json", self.store.chunks)
        save_file(self.store.tensors(), str(directory / STORE_FILE))

    def _load_state(self, directory: Path) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        chunks = load_chunks(directory / "chunks.json", what="JitRL Full chunks")
        try:
            tensors = load_file(str(directory / STORE_FILE))
            store = KnowledgeStore.from_tensors(chunks, tensors)
        except FileNotFoundError:
            raise StateError(f"JitRL Full knowledge store is missing in {directory}") from None
        except (KeyError, TypeError, ValueError, SafetensorError) as exc:
            raise StateError(f"JitRL Full state in {directory} is corrupt: {exc}") from None
        self.store = store

    def _details(self) -> list[InfoItem]:
        documents = len({c.doc_id for c in self.store.chunks})
        entries = int(self.store.memory_next.shape[0])
        modulation = (
            f"on: top {self.config.candidates} candidates, {self.config.neighbours} neighbours, "
            f"beta {self.config.beta}"
            if self.config.modulation
            else "off"
        )
        return [
            InfoItem(label="chunks stored", value=f"{len(self.store)} from {documents} documents"),
            InfoItem(label="memory entries", value=str(entries)),
            InfoItem(
                label="retrieval", value=f"layer {self.retrieval_layer}, top {self.config.top_k}"
            ),
            InfoItem(label="memory layer", value=str(self.memory_layer)),
            InfoItem(label="reward modulation", value=modulation),
        ]
