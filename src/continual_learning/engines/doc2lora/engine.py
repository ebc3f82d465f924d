"""Doc-to-LoRA: each document becomes LoRA weights, one small adapter per chunk.

Where a chunk's rank-r ``A`` and ``B`` come from is ``lora_source``:

- ``hypernetwork`` (the Doc-to-LoRA paper's method): the frozen backbone runs once over the
  chunk, and the Perceiver hypernetwork (``hypernetwork.py``) reads the hidden states entering
  every decoder layer and writes the factors in one pass; ``refine_steps`` gradient steps may
  refine them (``refine.py``; 0: no gradient step at all).
- ``training`` (the default, which measures better on the fact sets: docs/results.md): a LoRA
  per chunk trained from a zero update for ``refine_steps`` steps on the chunk (and, with a
  ``distill`` objective, on study prompts). The hypernetwork is neither loaded nor run.

Answering puts LoRA factors into the
backbone (``injection.py``), folded into the target weights for as long as the engine answers
(``core/lora.py``), and asks the question without the document: what the model knows about it
is in the adapter. Which factors is ``composition``: every chunk's, as one adapter of rank
``r x chunks`` scaled to the mean of their updates (``mean``) or their sum (``sum``); or only
the chunk whose text is most like the prompt, at the scale the hypernetwork wrote it for
(``routed``, ``core/scope.py``), as the hypernetwork was trained and as the Doc-to-LoRA paper
answers: one document's LoRA per question.

``doc`` mode splits a document into ``chunk_tokens`` chunks; ``text`` mode reads a short task
description as one chat turn, one chunk. With ``lora_source: hypernetwork`` the hypernetwork
must have been trained for this backbone (``scripts/train_hypernetwork.py``); without one the
engine refuses to start, because an untrained hypernetwork writes a LoRA that does nothing, and
a random one writes noise.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.backbone import Backbone
from continual_learning.core.chunking import chunk_text
from continual_learning.core.corpus import general_paragraphs
from continual_learning.core.lora import LoraWeights, lora_config, lora_folded
from continual_learning.core.peft_export import LoraAdapter
from continual_learning.core.scope import Scope
from continual_learning.core.self_study import (
    StudyTarget,
    document_targets,
    general_targets,
)
from continual_learning.core.storage import atomic_write_json, read_json
from continual_learning.core.weight_folding import FoldCache
from continual_learning.engines.base import ALL_LEARNED, Engine, LearnOutcome, ProgressCallback
from continual_learning.engines.doc2lora.activations import chunk_activations, task_activations
from continual_learning.engines.doc2lora.config import Doc2LoraConfig
from continual_learning.engines.doc2lora.hypernetwork import LoraFactors, PerceiverHypernetwork
from continual_learning.engines.doc2lora.injection import (
    concatenate,
    configured_shape,
    peft_weights,
)
from continual_learning.engines.doc2lora.refine import RefinePlan, refine, zero_update
from continual_learning.engines.doc2lora.weights_file import (
    HypernetworkCard,
    check_fits,
    load_hypernetwork,
    shipped_hypernetwork_path,
)
from continual_learning.errors import EngineError, StateError
from continual_learning.types import Figure, InfoItem, emit

log = logging.getLogger(__name__)

FACTORS_FILE = "factors.safetensors"
CHUNKS_FILE = "chunks.json"


class Doc2LoraEngine(Engine):
    key = "doc2lora"
    summary = "Doc-to-LoRA: each document into LoRA weights, trained or hypernetwork-written"
    changes_weights = True

    def __init__(
        self, backbone: Backbone, config: Doc2LoraConfig, *, generation: GenerationConfig
    ) -> None:
        super().__init__(backbone, config, generation=generation)
        self.shape = configured_shape(backbone.model, config)
        """The factors' shapes: what the hypernetwork writes and what training starts from."""
        self.hypernetwork: PerceiverHypernetwork | None = None
        self.card: HypernetworkCard | None = None
        if config.lora_source == "hypernetwork":
            self.hypernetwork_path = self._hypernetwork_path()
            self.hypernetwork, self.card = load_hypernetwork(self.hypernetwork_path)
            check_fits(self.hypernetwork.shape, self.shape, self.hypernetwork_path)
            self._warn_about_provenance(self.card)
            self.hypernetwork.to(backbone.device)
        self.chunks: list[LoraFactors] = []
        self.chunk_sources: list[str] = []
        """The doc id each chunk's factors came from, in learning order."""
        self.scope = Scope(config.scope_threshold)
        """The chunks' texts, in the same order: where ``routed`` sends a prompt."""
        self._weights: dict[str, torch.Tensor] | None = None
        self._chunk_weights: dict[int, LoraWeights] = {}
        self._folds = FoldCache()

    def _hypernetwork_path(self) -> Path:
        if self.config.hypernetwork:
            return Path(self.config.hypernetwork).expanduser()
        path = shipped_hypernetwork_path(self.backbone.name)
        if not path.is_file():
            raise EngineError(
                f"no trained Doc-to-LoRA hypernetwork for backbone '{self.backbone.name}' (looked "
                f"for {path}); train one with scripts/train_hypernetwork.py and set "
                "doc2lora.hypernetwork to its file (or lora_source: training, which needs none)"
            )
        return path

    def _warn_about_provenance(self, card: HypernetworkCard) -> None:
        """Shapes fit, but was it trained, and on this backbone? Say so when not."""
        path = self.hypernetwork_path
        if card.steps == 0:
            log.warning("Doc-to-LoRA hypernetwork %s is untrained: its LoRA is noise", path)
        if card.backbone != self.backbone.name:
            log.warning(
                "Doc-to-LoRA hypernetwork %s was trained for '%s', not for '%s'",
                path,
                card.backbone,
                self.backbone.name,
            )

    # -- learning -------------------------------------------------------------------------------

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        pieces = list(self._pieces(text, doc_id))
        written: list[LoraFactors] = []
        losses: list[float] = []
        for index, piece in enumerate(pieces, 1):
            factors = self._start(piece, seed=len(self.chunks) + index - 1)
            if self.config.refine_steps:
                factors, refine_losses = self._refined(piece, factors, on_event)
                losses += refine_losses
            written.append(factors)
            emit(on_event, "writing LoRA", index, len(pieces))
        dropped = self._keep(written, pieces, doc_id)
        # What one pass reads: chunks are no longer than chunk_tokens, a task is cut to it.
        lengths = [len(self.backbone.tokenizer(piece)["input_ids"]) for piece in pieces]
        tokens = sum(min(length, self.config.chunk_tokens) for length in lengths)
        figures = (
            Figure(name="chunks", value=len(written)),
            Figure(name="effective rank", value=self.effective_rank),
            Figure(name="chunks dropped (max_chunks)", value=dropped),
            Figure(name="refine steps", value=self.config.refine_steps),
        )
        return LearnOutcome(
            tokens=tokens, chunks=len(written), losses=tuple(losses), figures=figures
        )

    def _pieces(self, text: str, doc_id: str) -> list[str]:
        """The pieces of text that each become one LoRA: the chunks, or the whole task."""
        if self.config.mode == "text":
            return [text]
        tokenizer = self.backbone.tokenizer
        chunks = chunk_text(
            tokenizer, text, doc_id=doc_id, max_tokens=self.config.chunk_tokens, overlap=0
        )
        return [chunk.text for chunk in chunks]

    def _start(self, piece: str, *, seed: int) -> LoraFactors:
        """What refinement starts from: the hypernetwork's LoRA for ``piece``, or a zero update."""
        if self.hypernetwork is None:
            return zero_update(self.shape, seed=seed, device=self.backbone.device)
        c = self.config
        if c.mode == "text":
            activations = task_activations(self.backbone, piece, max_tokens=c.chunk_tokens)
        else:
            activations = chunk_activations(self.backbone, piece)
        with torch.inference_mode():
            return self.hypernetwork(activations)

    def _refined(
        self, piece: str, factors: LoraFactors, on_event: ProgressCallback | None
    ) -> tuple[LoraFactors, list[float]]:
        """``factors`` (written, or a zero update) after ``refine_steps`` steps."""
        c = self.config
        study: list[StudyTarget] = []
        if c.refine_objective != "nll":
            emit(on_event, "teacher answers", 0, 1)
            system = self.generation.system_prompt
            study = document_targets(self.backbone, piece, c, system_prompt=system)
        chunk = self.backbone.tokenizer(piece, return_tensors="pt")["input_ids"]
        plan = RefinePlan.build(
            c.refine_objective,
            chunk.to(self.backbone.device) if chunk.shape[1] >= 2 else None,
            study,
            self._guard_targets(),
            steps=c.refine_steps,
            batch_size=c.study_batch,
            guard_share=c.guard_share,
        )
        if plan.chunk is None and not study:
            return factors, []
        return refine(
            self.backbone,
            factors,
            plan,
            learning_rate=c.refine_lr,
            on_step=lambda done, total, loss: emit(on_event, "refine", done, total, loss=loss),
        )

    def _guard_targets(self) -> list[StudyTarget]:
        texts = general_paragraphs("builtin", self.config.guard_samples, config_key="doc2lora")
        system = self.generation.system_prompt
        return general_targets(self.backbone, texts, self.config, system_prompt=system)

    def _keep(self, written: list[LoraFactors], texts: list[str], doc_id: str) -> int:
        """Add the new chunks; past ``max_chunks`` drop the oldest. Returns how many dropped."""
        self.chunks += written
        self.chunk_sources += [doc_id] * len(written)
        kept_texts = [*self.scope.documents, *texts]
        dropped = max(0, len(self.chunks) - self.config.max_chunks)
        del self.chunks[:dropped], self.chunk_sources[:dropped], kept_texts[:dropped]
        self.scope.replace(kept_texts)
        self._weights, self._chunk_weights = None, {}
        return dropped

    # -- answering ------------------------------------------------------------------------------

    @property
    def effective_rank(self) -> int:
        return self.config.rank * len(self.chunks)

    @property
    def routed(self) -> bool:
        """Whether each prompt gets one chunk's LoRA: ``routed`` composition, and every chunk's
        text known (a state saved before routing has none: it composes by the mean)."""
        return self.config.composition == "routed" and len(self.scope.documents) == len(self.chunks)

    def route(self, prompt: str) -> Hashable | None:
        """``routed``: the chunk whose text is most like ``prompt`` (None below
        ``scope_threshold``); otherwise every chunk."""
        if not self.chunks:
            return None
        if not self.routed:
            return ALL_LEARNED
        return self.scope.nearest(prompt)

    def applied_for(self, route: Hashable | None) -> AbstractContextManager[Any]:
        if route is None or not self.chunks:
            return nullcontext()
        if isinstance(route, int):
            return self._chunk_adapter(route)
        return self.applied()

    def applied(self) -> AbstractContextManager[Any]:
        if not self.chunks:
            return nullcontext()
        return self._adapter()

    @contextmanager
    def _adapter(self) -> Iterator[None]:
        adapter = self.lora_adapter()
        assert adapter is not None
        config = lora_config(adapter.rank, adapter.alpha, 0.0, adapter.target_modules)
        with lora_folded(self.backbone.model, config, adapter.weights, self._folds):
            yield

    @contextmanager
    def _chunk_adapter(self, index: int) -> Iterator[None]:
        """One chunk's LoRA at the scale the hypernetwork wrote it for (alpha = rank)."""
        if index not in self._chunk_weights:
            self._chunk_weights[index] = peft_weights(self.backbone.model, self.chunks[index])
        rank = self.config.rank
        config = lora_config(rank, float(rank), 0.0, self.config.target_modules)
        with lora_folded(self.backbone.model, config, self._chunk_weights[index], self._folds):
            yield

    def lora_adapter(self) -> LoraAdapter | None:
        """Every chunk's factors as one adapter of rank ``rank x chunks``."""
        if not self.chunks:
            return None
        if self._weights is None:
            self._weights = peft_weights(self.backbone.model, concatenate(self.chunks))
        rank = self.effective_rank
        # peft scales the update by alpha / r. alpha = r adds exactly the sum of every chunk's
        # B A x; alpha = r / chunks adds their mean. The hypernetwork was trained one chunk at a
        # time, and twelve documents' updates added up drown the model (it answers "document
        # document ..."). A routed engine has no single adapter; it exports the mean.
        alpha = rank if self.config.composition == "sum" else rank / len(self.chunks)
        c = self.config
        if self.card is None:
            made = f"each a LoRA trained {c.refine_steps} steps from zero on its chunk"
        else:
            made = f"written by a hypernetwork trained {self.card.steps} steps"
            made += f", then refined {c.refine_steps} steps" if c.refine_steps else ""
        card: tuple[str, ...] = (
            f"{len(self.chunks)} chunks, {made}",
            f"composition {c.composition}",
        )
        if self.routed:
            card += (
                "the engine answers each prompt with the LoRA of the chunk most like it, and "
                f"none below a TF-IDF similarity of {c.scope_threshold:g}; this folder is their "
                "mean, applied to every prompt: answers to questions about anything else can "
                "differ from the engine's",
            )
        return LoraAdapter(
            weights=self._weights,
            rank=rank,
            alpha=float(alpha),
            target_modules=self.config.target_modules,
            card=card,
        )

    # -- state ------------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self.chunks, self.chunk_sources, self._weights, self._chunk_weights = [], [], None, {}
        self.scope.clear()
        self._folds.clear()

    def _save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        tensors = {
            f"{i}.{name}.{part}": tensor.contiguous().cpu()
            for i, factors in enumerate(self.chunks)
            for name, pair in factors.items()
            for part, tensor in zip(("A", "B"), pair, strict=True)
        }
        if tensors:
            save_file(tensors, str(directory / FACTORS_FILE))
        atomic_write_json(
            directory / CHUNKS_FILE,
            {"sources": self.chunk_sources, "texts": self.scope.documents},
        )

    def _load_state(self, directory: Path) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        data = read_json(directory / CHUNKS_FILE, what="Doc-to-LoRA chunk list")
        try:
            sources = [str(s) for s in data["sources"]]
            texts = _chunk_texts(data, len(sources))
            tensors = load_file(str(directory / FACTORS_FILE)) if sources else {}
            chunks = [self._read_chunk(tensors, i) for i in range(len(sources))]
        except SafetensorError as exc:
            raise StateError(f"Doc-to-LoRA factors in {directory} are corrupt: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"Doc-to-LoRA state in {directory} is malformed: {exc}") from None
        self.chunks, self.chunk_sources = chunks, sources
        self._weights, self._chunk_weights = None, {}
        self.scope.replace(texts)

    def _read_chunk(self, tensors: dict[str, torch.Tensor], index: int) -> LoraFactors:
        shape = self.shape
        chunk: LoraFactors = {}
        for target in shape.targets:
            a, b = tensors[f"{index}.{target.name}.A"], tensors[f"{index}.{target.name}.B"]
            expected_a = (shape.num_layers, shape.rank, target.in_features)
            expected_b = (shape.num_layers, target.out_features, shape.rank)
            if tuple(a.shape) != expected_a or tuple(b.shape) != expected_b:
                raise StateError(
                    f"Doc-to-LoRA chunk {index} has {target.name} factors of shapes "
                    f"{tuple(a.shape)} and {tuple(b.shape)}, this backbone and config take "
                    f"{expected_a} and {expected_b}"
                )
            chunk[target.name] = (a.to(self.backbone.device), b.to(self.backbone.device))
        return chunk

    def _details(self) -> list[InfoItem]:
        return [
            InfoItem(label="mode", value=self.config.mode),
            *self._source_details(),
            InfoItem(label="chunks", value=str(len(self.chunks))),
            InfoItem(
                label="effective rank",
                value=f"{self.effective_rank} ({self.config.rank} x {len(self.chunks)} chunks)",
            ),
            InfoItem(label="composition", value=self.config.composition),
            InfoItem(label="targets", value=", ".join(self.config.target_modules)),
        ]

    def _source_details(self) -> list[InfoItem]:
        c = self.config
        if self.hypernetwork is None or self.card is None:
            made = f"trained per chunk, {c.refine_steps} steps from zero ({c.refine_objective})"
            return [InfoItem(label="LoRA source", value=made)]
        card = self.card
        trained = f"{card.steps} steps" + (f" on {card.device}" if card.device else "")
        trained += f", for {card.backbone}" if card.backbone != self.backbone.name else ""
        refined = f", refined {c.refine_steps} steps" if c.refine_steps else ", one pass"
        return [
            InfoItem(label="LoRA source", value=f"hypernetwork{refined}"),
            InfoItem(label="hypernetwork", value=str(self.hypernetwork_path)),
            InfoItem(label="trained", value=trained),
            InfoItem(
                label="hypernetwork parameters", value=f"{self.hypernetwork.parameter_count():,}"
            ),
        ]


def _chunk_texts(data: dict[str, Any], count: int) -> list[str]:
    """The chunks' texts saved beside their sources; none from a state saved before routing."""
    texts = data.get("texts", [])
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise TypeError("'texts' must be a list of texts")
    if texts and len(texts) != count:
        raise ValueError(f"{len(texts)} chunk texts for {count} chunks")
    return texts
