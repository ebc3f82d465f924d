"""TTT-E2E: test-time training of DualMLPs in the last decoder layers, through a TF-IDF gate.

Learning a document:

1. (once per model: kept in the cache folder) calibrate the TF-IDF gate on the calibration
   corpus (``tfidf_gate.py``);
2. (optional) the backbone writes facts and QA pairs about the document (``core/self_edit.py``);
3. one frozen forward pass over the document scores every neuron by TF x IDF; the top
   ``gate_fraction`` of each layer are opened (all of them with the gate off);
4. alpha is set for this document: ``max(floor, initial - decay * documents_learned_before)``;
5. ``epochs`` passes over what ``objective`` trains on: the document's (and self-edits')
   next-token loss in ``batch_tokens`` mini-batches (``nll``), the KL to the in-context teacher
   on self-study prompts in ``study_batch`` mini-batches (``distill``, ``core/self_study.py``),
   or both side by side (``mixed``); with ``guard_share`` every step also fits general text to
   the frozen model. After each backward pass the gradient of every closed neuron's row is
   zeroed, and a fresh optimizer without weight decay means a zero gradient is a zero step.

Only the DualMLP deltas require gradient, so backward stops at the first DualMLP layer.

Where the learning is kept (``memory``): ``shared`` trains every document into one set of
deltas, which answers every prompt in scope, so a later document rewrites the neurons an earlier
one changed; ``routed`` starts each document from the frozen model, keeps its deltas apart, and
answers a prompt with the deltas of the learned document most like it (``core/scope.py``), as
sparse memory layers read only the slots a query selects.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import torch

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.backbone import Backbone
from continual_learning.core.frozen_prefix import FrozenPrefix
from continual_learning.core.paths import default_cache_dir
from continual_learning.core.scope import Scope
from continual_learning.core.self_edit import write_self_edits
from continual_learning.core.self_study import (
    StudyTarget,
    distill_loss,
    document_targets,
    general_targets,
    guard_count,
    study_notes,
)
from continual_learning.core.self_study import batches as study_batches
from continual_learning.core.storage import atomic_write_json, read_json
from continual_learning.engines.base import ALL_LEARNED, Engine, LearnOutcome, ProgressCallback
from continual_learning.engines.ttt_e2e.config import TttE2eConfig
from continual_learning.engines.ttt_e2e.dual_mlp import DualMLPLayers, last_quarter
from continual_learning.engines.ttt_e2e.tfidf_gate import (
    TfidfGate,
    cached_calibration,
    calibration_texts,
    document_activity,
)
from continual_learning.errors import StateError
from continual_learning.types import Figure, InfoItem, emit

DELTA_FILE = "dual_mlp.safetensors"
MEMORIES_FILE = "document_deltas.safetensors"
GATE_FILE = "tfidf_gate.safetensors"
STATE_FILE = "ttt_e2e.json"


class TttE2eEngine(Engine):
    key = "ttt_e2e"
    summary = "TTT-E2E: DualMLP test-time training in the last layers, TF-IDF-gated updates"
    changes_weights = True

    def __init__(
        self, backbone: Backbone, config: TttE2eConfig, *, generation: GenerationConfig
    ) -> None:
        super().__init__(backbone, config, generation=generation)
        start, end = last_quarter(backbone.num_layers)
        start = start if config.layers_start == -1 else config.layers_start
        end = end if config.layers_end == -1 else config.layers_end
        self.layers = DualMLPLayers(backbone.model, start, end, config.alpha_initial)
        self.gate: TfidfGate | None = None
        self.last_opened: dict[int, torch.Tensor] = {}
        """The neurons per layer the last document was allowed to change."""
        self._prefix: FrozenPrefix | None = None
        self.memories: list[dict[str, torch.Tensor]] = []
        """``routed``: each learned document's deltas (:meth:`DualMLPLayers.tensors`), in order."""
        self._loaded: int | None = None
        """``routed``: the document whose deltas the layers hold now."""
        self.scope = Scope(config.scope_threshold)

    # -- learning ------------------------------------------------------------------------------

    @property
    def routed(self) -> bool:
        return self.config.memory == "routed"

    def alpha_for(self, documents_before: int) -> float:
        """Alpha for the next document; a routed document learns alone, as the first does."""
        c = self.config
        documents_before = 0 if self.routed else documents_before
        return max(c.alpha_floor, c.alpha_initial - c.alpha_decay * documents_before)

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        c = self.config
        document = self._ids(text)
        texts = [text]
        if c.self_edit:
            emit(on_event, "write self-edits", 0, 1)
            edits = write_self_edits(self.backbone, text, max_new_tokens=c.self_edit_tokens)
            texts += edits.training_texts(self.backbone, self.generation.system_prompt)
        system = self.generation.system_prompt
        study = (
            document_targets(self.backbone, text, c, system_prompt=system, on_event=on_event)
            if c.objective != "nll"
            else []
        )
        guard = self._guard_targets(on_event)
        if self.routed:
            self.layers.reset()  # this document's deltas start from the frozen model
        opened = self._open_neurons(document, on_event)
        self.layers.set_alpha(self.alpha_for(len(self.history)))
        token_ids = [document] + [self._ids(t) for t in texts[1:]]
        batches = [b for ids in token_ids for b in ids.split(c.batch_tokens, dim=1)]
        # distill trains on the study prompts alone; with no teacher answer it falls back to nll
        batches = (
            [b for b in batches if b.shape[1] >= 2] if c.objective != "distill" or not study else []
        )
        steps = self._plan(batches, study, guard)
        losses, parts = self._train(steps, opened, on_event)
        self.scope.add(text)
        if self.routed:
            self.memories.append({k: t.clone() for k, t in self.layers.tensors().items()})
            self._loaded = len(self.memories) - 1
        total = sum(dual.delta.intermediate for _, dual in self.layers)
        open_share = sum(int(n.numel()) for n in opened.values()) / total
        return LearnOutcome(
            tokens=int(document.shape[1]),
            chunks=len(batches) + len(study),
            losses=tuple(losses),
            figures=(
                Figure(name="gate open", value=round(open_share, 4)),
                Figure(name="alpha", value=self.layers.alpha),
                Figure(name="trained tokens", value=sum(int(b.shape[1]) for b in batches)),
                Figure(name="self-edit texts", value=len(texts) - 1),
                Figure(name="study prompts", value=len(study)),
                *(Figure(name=f"final {name} loss", value=v) for name, v in parts.items()),
            ),
            notes=study_notes(study),
        )

    def _guard_targets(self, on_event: ProgressCallback | None) -> list[StudyTarget]:
        """The frozen backbone's own behaviour on paragraphs of the calibration corpus."""
        c = self.config
        texts = calibration_texts(c.calibration_corpus, c.guard_samples)
        system = self.generation.system_prompt
        return general_targets(self.backbone, texts, c, system_prompt=system, on_event=on_event)

    def _plan(
        self, batches: list[torch.Tensor], study: list[StudyTarget], guard: list[StudyTarget]
    ) -> list[TrainStep]:
        """The update steps: ``epochs`` passes over the document's batches (nll), the study
        prompts' mini-batches (distill), or both side by side (mixed), each with its guard rows."""
        c = self.config
        distill = study_batches(
            study, guard, batch_size=c.study_batch, epochs=c.epochs, guard_share=c.guard_share
        )
        guard_rows = guard_count(1, c.guard_share) if guard else 0
        count = max(c.epochs * len(batches), len(distill))
        steps = []
        for step in range(count):
            rows, extra = distill[step % len(distill)] if distill else ([], [])
            if not distill and guard_rows:
                extra = [guard[(step * guard_rows + i) % len(guard)] for i in range(guard_rows)]
            document = batches[step % len(batches)] if batches else None
            steps.append(TrainStep(document=document, study=rows, guard=extra))
        return steps

    def _ids(self, text: str) -> torch.Tensor:
        ids = self.backbone.tokenizer(text, return_tensors="pt")["input_ids"]
        return ids.to(self.backbone.device)

    def _open_neurons(
        self, document: torch.Tensor, on_event: ProgressCallback | None
    ) -> dict[int, torch.Tensor]:
        """The neurons of each layer this document may change, now stored in the deltas."""
        layer_ids = [layer for layer, _ in self.layers]
        if self.config.gate:
            gate = self._calibrated_gate(on_event)
            activity = document_activity(self.backbone, layer_ids, document)
            held = {layer: dual.delta.indices for layer, dual in self.layers}
            opened = gate.select(
                activity, self.config.gate_fraction, held=held, protect=self.config.protect_learned
            )
        else:
            opened = {
                layer: torch.arange(dual.delta.intermediate, device=self.backbone.device)
                for layer, dual in self.layers
            }
        for layer, dual in self.layers:
            dual.delta.include(opened[layer])
        self.last_opened = opened
        return opened

    def _calibrated_gate(self, on_event: ProgressCallback | None) -> TfidfGate:
        if self.gate is None:
            corpus = self.config.calibration_corpus
            texts = calibration_texts(corpus, self.config.calibration_samples)
            layer_ids = [layer for layer, _ in self.layers]
            self.gate = cached_calibration(
                self.backbone,
                layer_ids,
                texts,
                corpus=corpus,
                active_fraction=self.config.active_fraction,
                folder=default_cache_dir(),
                on_event=on_event,
            )
        return self.gate

    def _train(
        self,
        steps: list[TrainStep],
        opened: dict[int, torch.Tensor],
        on_event: ProgressCallback | None,
    ) -> tuple[list[float], dict[str, float]]:
        """Run ``steps``; the losses of every step, and the last value of each part."""
        masks = {layer: dual.delta.row_mask(opened[layer]) for layer, dual in self.layers}
        parameters = [p for _, dual in self.layers for p in dual.delta.parameters()]
        optimizer = self._optimizer(parameters)
        losses: list[float] = []
        parts: dict[str, float] = {}
        with self.layers.applied():
            for number, step in enumerate(steps, 1):
                loss, parts = self._step_loss(step)
                loss.backward()
                for layer, dual in self.layers:
                    for parameter in dual.delta.parameters():
                        if parameter.grad is not None:
                            parameter.grad.mul_(masks[layer])
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(round(loss.item(), 4))
                message = " ".join(f"{k} {v:.3f}" for k, v in parts.items())
                emit(on_event, "learn", number, len(steps), loss=losses[-1], message=message)
        if not all(math.isfinite(x) for x in losses):
            raise StateError("TTT-E2E training diverged (non-finite loss): lower learning_rate")
        return losses, parts

    def _step_loss(self, step: TrainStep) -> tuple[torch.Tensor, dict[str, float]]:
        """The task loss (nll, distill, or their mean), blended with the guard's KL to base."""
        task: dict[str, torch.Tensor] = {}
        forward = self._frozen_prefix().forward
        if step.document is not None:
            task["nll"] = forward(step.document, labels=step.document).loss
        if step.study:
            task["distill"] = distill_loss(self.backbone, step.study, forward=forward)
        loss = torch.stack(list(task.values())).mean()
        parts = {name: round(value.item(), 4) for name, value in task.items()}
        if step.guard:
            guard = distill_loss(self.backbone, step.guard, forward=forward)
            share = self.config.guard_share
            loss = (1.0 - share) * loss + share * guard
            parts["guard"] = round(guard.item(), 4)
        return loss, parts

    def _frozen_prefix(self) -> FrozenPrefix:
        """The layers before the first DualMLP never change: their states are computed once
        per training row (``core/frozen_prefix.py``), for every document this engine learns."""
        if self._prefix is None:
            self._prefix = FrozenPrefix(self.backbone.model, self.layers.start)
        return self._prefix

    def _optimizer(self, parameters: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        if self.config.optimizer == "sgd":
            return torch.optim.SGD(parameters, lr=self.config.learning_rate)
        return torch.optim.Adam(parameters, lr=self.config.learning_rate)

    # -- the engine interface ------------------------------------------------------------------

    def applied(self) -> AbstractContextManager[None]:
        """The deltas the layers hold: all of them (``shared``), the last document's or the
        last routed-to document's (``routed``: :meth:`applied_for` picks one)."""
        return self.layers.folded(self.backbone.model)

    def route(self, prompt: str) -> Hashable | None:
        """``routed``: the learned document most like ``prompt`` (None below
        ``scope_threshold``); ``shared``: every delta, for the prompts in scope."""
        if not self.routed:
            return ALL_LEARNED if self.scope.covers(prompt) else None
        return self.scope.nearest(prompt) if self.memories else None

    def applied_for(self, route: Hashable | None) -> AbstractContextManager[None]:
        if isinstance(route, int):
            self._hold_memory(route)
        return super().applied_for(route)

    def _hold_memory(self, document: int) -> None:
        """Put document ``document``'s deltas in the layers (folded anew on the next use)."""
        if self._loaded != document:
            self.layers.load_tensors(self.memories[document])
            self._loaded = document

    def _clear_state(self) -> None:
        self.scope.clear()
        self.layers.reset()
        self.layers.set_alpha(self.config.alpha_initial)
        self.last_opened = {}
        self.memories, self._loaded = [], None

    def _save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        save_file(self.layers.tensors(), str(directory / DELTA_FILE))
        state: dict[str, object] = {
            "alpha": self.layers.alpha,
            "gate": None,
            "memory": self.config.memory,
            "memories": len(self.memories),
        }
        if self.memories:
            save_file(_numbered(self.memories), str(directory / MEMORIES_FILE))
        if self.gate is not None:
            save_file(self.gate.tensors(), str(directory / GATE_FILE))
            state["gate"] = self.gate.describe()
        atomic_write_json(directory / STATE_FILE, state)
        self.scope.save(directory)

    def _load_state(self, directory: Path) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        state = read_json(directory / STATE_FILE, what="TTT-E2E state")
        if not isinstance(state, dict) or not isinstance(state.get("alpha"), int | float):
            raise StateError(f"TTT-E2E state in {directory} is malformed")
        saved_memory = state.get("memory", "shared")
        if saved_memory != self.config.memory:
            raise StateError(
                f"TTT-E2E state in {directory} was learned with memory '{saved_memory}'; the "
                f"config says '{self.config.memory}' (set ttt_e2e.memory to load it)"
            )
        count = state.get("memories", 0)
        try:
            deltas = load_file(str(directory / DELTA_FILE))
            memories = _unnumbered(load_file(str(directory / MEMORIES_FILE))) if count else []
            gate = None
            if state.get("gate") is not None:
                layer_range = range(self.layers.start, self.layers.end)
                tensors = load_file(str(directory / GATE_FILE))
                gate = TfidfGate.from_saved(tensors, state["gate"], layer_range)
        except FileNotFoundError as exc:
            raise StateError(f"TTT-E2E state in {directory} is incomplete: {exc}") from None
        except SafetensorError as exc:
            raise StateError(f"TTT-E2E state in {directory} is corrupt: {exc}") from None
        if len(memories) != count:
            raise StateError(
                f"TTT-E2E state in {directory} holds {len(memories)} of {count} documents"
            )
        self.scope.load(directory)
        for memory in memories:
            self.layers.load_tensors(memory)  # validated before any is kept
        self.layers.load_tensors(deltas)
        self.layers.set_alpha(float(state["alpha"]))
        self.gate = gate
        self.memories = memories
        self._loaded = None  # the layers hold what they held when saved: route anew

    def _details(self) -> list[InfoItem]:
        c = self.config
        gate = "off"
        if c.gate:
            calibrated = (
                f"calibrated on {self.gate.samples} paragraphs of '{self.gate.corpus}'"
                if self.gate is not None
                else "not calibrated yet (calibrates at the first document)"
            )
            gate = f"top {c.gate_fraction:.1%} of neurons per layer; {calibrated}"
        neurons = sum(dual.delta.intermediate for _, dual in self.layers)
        return [
            InfoItem(label="DualMLP layers", value=f"{self.layers.start}..{self.layers.end - 1}"),
            InfoItem(
                label="alpha",
                value=f"{self.layers.alpha:.3f} now; next document "
                f"{self.alpha_for(len(self.history)):.3f} (initial {c.alpha_initial}, "
                f"decay {c.alpha_decay}, floor {c.alpha_floor})",
            ),
            InfoItem(label="TF-IDF gate", value=gate),
            InfoItem(
                label="memory",
                value=f"routed: {len(self.memories)} documents' deltas kept apart, a prompt gets "
                "its nearest's"
                if self.routed
                else "shared: every document trains the same deltas",
            ),
            InfoItem(
                label="neurons changed",
                value=f"{self.layers.neurons():,} of {neurons:,} "
                f"({self.layers.nbytes() / 1e6:.1f} MB)",
            ),
            InfoItem(
                label="training",
                value=f"{c.epochs} epochs x {c.batch_tokens}-token batches, {c.optimizer} lr "
                f"{c.learning_rate:g}, self-edits {'on' if c.self_edit else 'off'}",
            ),
        ]


@dataclass(frozen=True)
class TrainStep:
    """What one update is computed on: a document batch (nll), study rows (distill), guard rows."""

    document: torch.Tensor | None
    study: list[StudyTarget]
    guard: list[StudyTarget]


def _numbered(memories: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Every document's delta tensors in one file: ``doc<k>.<layer tensor name>``."""
    return {f"doc{k}.{name}": t for k, memory in enumerate(memories) for name, t in memory.items()}


def _unnumbered(tensors: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    memories: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        document, _, name = key.partition(".")
        if not document.startswith("doc") or not document[3:].isdigit() or not name:
            raise StateError(f"TTT-E2E document deltas hold an unexpected tensor '{key}'")
        memories.setdefault(int(document[3:]), {})[name] = tensor
    if sorted(memories) != list(range(len(memories))):
        raise StateError("TTT-E2E document deltas are not numbered 0..n-1")
    return [memories[k] for k in range(len(memories))]
