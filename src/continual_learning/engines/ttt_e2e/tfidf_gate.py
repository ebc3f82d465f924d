"""The TF-IDF gate of sparse memory finetuning: which MLP neurons a document may change.

Each intermediate neuron of a DualMLP layer is a *term*, each calibration paragraph a *document*.
A neuron is present in a paragraph when its mean |activation| over the paragraph's tokens ranks
in the top ``active_fraction`` of its layer. scikit-learn's ``TfidfTransformer`` turns that
presence matrix into an IDF per neuron: neurons present in most paragraphs (the general-purpose
ones every text uses) get a low IDF. Learning a new document then scores each neuron by its
mean |activation| on the document (TF) times its IDF and opens only the top ``gate_fraction``
of each layer to gradient. The rest, the broadly used neurons included, stay exactly as they are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from continual_learning.core.backbone import Backbone
from continual_learning.core.backbone_cache import cache_key
from continual_learning.core.corpus import general_paragraphs
from continual_learning.core.hidden_states import layer_mlps
from continual_learning.core.storage import atomic_write_bytes
from continual_learning.engines.ttt_e2e.dual_mlp import GatedMlp
from continual_learning.errors import StateError
from continual_learning.types import ProgressEvent

log = logging.getLogger(__name__)

SAMPLE_TOKENS = 256
"""Calibration paragraphs are cut to this many tokens: presence is a property of a passage."""


@dataclass(frozen=True, kw_only=True)
class TfidfGate:
    """IDF of every neuron of every gated layer, and where the calibration came from."""

    idf: dict[int, torch.Tensor]
    samples: int
    corpus: str

    def select(
        self,
        activity: dict[int, torch.Tensor],
        fraction: float,
        *,
        held: dict[int, torch.Tensor] | None = None,
        protect: float = 0.0,
    ) -> dict[int, torch.Tensor]:
        """The indices of each layer's top ``fraction`` neurons by TF x IDF.

        ``held``: the neurons earlier documents already changed, whose score is scaled by
        ``1 - protect``: at 1 a new document takes them only once no other neuron is left, so
        it does not write over what an earlier one learned there (sparse memory finetuning ranks
        against what came before for the same reason)."""
        chosen = {}
        for layer, tf in activity.items():
            k = max(1, round(fraction * tf.numel()))
            score = tf * self.idf[layer].to(tf.device)
            if held is not None and protect > 0 and held[layer].numel():
                score[held[layer].to(score.device)] *= 1.0 - protect
            chosen[layer] = torch.topk(score, k).indices.sort().values
        return chosen

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f"idf.layer{layer}": idf.contiguous().cpu() for layer, idf in self.idf.items()}

    def describe(self) -> dict[str, object]:
        return {"samples": self.samples, "corpus": self.corpus}

    @classmethod
    def from_saved(
        cls, tensors: dict[str, torch.Tensor], meta: object, layers: Sequence[int]
    ) -> TfidfGate:
        if not isinstance(meta, dict) or not isinstance(meta.get("samples"), int):
            raise StateError("TF-IDF gate metadata is malformed")
        expected = {f"idf.layer{i}" for i in layers}
        if set(tensors) != expected:
            raise StateError(f"TF-IDF gate holds {sorted(tensors)}, expected {sorted(expected)}")
        idf = {i: tensors[f"idf.layer{i}"].to(torch.float32) for i in layers}
        return cls(idf=idf, samples=meta["samples"], corpus=str(meta.get("corpus", "")))


@contextmanager
def neuron_activity(model: nn.Module, layers: Sequence[int]) -> Iterator[dict[int, torch.Tensor]]:
    """Inside the block, each forward pass leaves per-layer mean |activation| of every neuron
    (the input of ``down_proj``, averaged over batch and tokens) in the yielded dict."""
    activity: dict[int, torch.Tensor] = {}
    mlps = layer_mlps(model)

    def capture(layer: int) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            hidden = args[0].detach().abs().to(torch.float32)
            activity[layer] = hidden.reshape(-1, hidden.shape[-1]).mean(dim=0)

        return hook

    down = [GatedMlp.of(mlps[i]).down_proj for i in layers]
    handles = [d.register_forward_pre_hook(capture(i)) for d, i in zip(down, layers, strict=True)]
    try:
        yield activity
    finally:
        for handle in handles:
            handle.remove()


def document_activity(
    backbone: Backbone, layers: Sequence[int], ids: torch.Tensor
) -> dict[int, torch.Tensor]:
    """Mean |activation| per neuron over the tokens of ``ids`` (1, T), a forward pass per window."""
    totals: dict[int, torch.Tensor] = {}
    windows = list(ids.split(SAMPLE_TOKENS * 4, dim=1))
    with torch.inference_mode(), neuron_activity(backbone.model, layers) as activity:
        for window in windows:
            backbone.model(input_ids=window.to(backbone.device))
            for layer, mean in activity.items():
                weighted = mean * window.shape[1]
                totals[layer] = totals[layer] + weighted if layer in totals else weighted
    return {layer: total / ids.shape[1] for layer, total in totals.items()}


def calibrate(
    backbone: Backbone,
    layers: Sequence[int],
    texts: Sequence[str],
    *,
    corpus: str,
    active_fraction: float,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> TfidfGate:
    """Run the frozen backbone over ``texts`` and compute every gated neuron's IDF."""
    from sklearn.feature_extraction.text import TfidfTransformer

    presence: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
    with torch.inference_mode(), neuron_activity(backbone.model, layers) as activity:
        for index, text in enumerate(texts):
            if on_event is not None:
                on_event(
                    ProgressEvent(task="calibrate TF-IDF gate", completed=index, total=len(texts))
                )
            ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"][:, :SAMPLE_TOKENS]
            backbone.model(input_ids=ids.to(backbone.device))
            for layer in layers:
                mean = activity[layer]
                k = max(1, round(active_fraction * mean.numel()))
                row = torch.zeros_like(mean)
                row[torch.topk(mean, k).indices] = 1.0
                presence[layer].append(row.cpu())
    idf = {}
    for layer in layers:
        matrix = torch.stack(presence[layer]).numpy()
        transformer = TfidfTransformer(smooth_idf=True).fit(matrix)
        idf[layer] = torch.tensor(transformer.idf_, dtype=torch.float32)
    return TfidfGate(idf=idf, samples=len(texts), corpus=corpus)


def cached_calibration(
    backbone: Backbone,
    layers: Sequence[int],
    texts: Sequence[str],
    *,
    corpus: str,
    active_fraction: float,
    folder: Path,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> TfidfGate:
    """:func:`calibrate`, computed once per model, texts and settings and kept under ``folder``.

    The IDFs depend only on the frozen weights, the calibration texts and these settings, yet
    every fresh engine (a ``learn`` command, a comparison, a test) computed them again. Stored as
    safetensors with JSON metadata; a damaged file is computed again and rewritten, never trusted.
    """
    settings = {"gate": "tfidf", "layers": list(layers), "active_fraction": active_fraction}
    settings |= {"sample_tokens": SAMPLE_TOKENS, "corpus": corpus}
    key = cache_key(fingerprint=backbone.fingerprint(), texts=texts, settings=settings)
    path = folder / "tfidf-gate" / f"{key}.safetensors"
    found = _read_gate(path, layers)
    if found is not None:
        return found
    gate = calibrate(
        backbone, layers, texts, corpus=corpus, active_fraction=active_fraction, on_event=on_event
    )
    from safetensors.torch import save

    encoded = save(gate.tensors(), metadata={"gate": json.dumps(gate.describe())})
    try:
        atomic_write_bytes(path, encoded)
    except OSError as exc:  # a read-only or full cache costs only the time, next process
        log.info("cannot keep the TF-IDF gate in %s: %s", path.parent, exc)
    return gate


def _read_gate(path: Path, layers: Sequence[int]) -> TfidfGate | None:
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})["gate"])
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
        return TfidfGate.from_saved(tensors, meta, layers)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError, StateError) as exc:
        log.warning("TF-IDF gate %s is damaged (%s): calibrating again", path, exc)
        return None


def calibration_texts(corpus: str, limit: int) -> list[str]:
    """Paragraphs of the calibration corpus: ``builtin``, a ``.txt`` or a SQuAD ``.json``."""
    return general_paragraphs(corpus, limit, config_key="ttt_e2e.calibration_corpus")
