"""The knowledge store: every learned chunk, encoded once by the frozen backbone.

Two things are kept per chunk, both computed in the single forward pass made at learn time:

- a **chunk vector**: the mean of the ``retrieval_layer`` outputs over the chunk's tokens (the
  first token is skipped: decoder models park a huge "attention sink" activation there);
- **memory entries**: for each position, the ``memory_layer`` output (L2-normalised) paired with
  the token that actually came next in the chunk.

Retrieval compares a question's vector with the chunk vectors by cosine similarity after
standardising every dimension with the store's own token statistics (mean and standard deviation
over all stored tokens). Raw hidden states of a causal LM share a few dominant directions, which
makes raw cosine a poor retrieval signal; standardising removes them
(``tests/engines/jitrl_full`` checks recall on the fictional-fact set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.chunking import Chunk
from continual_learning.core.hidden_states import LayerCapture

_EPS = 1e-3


@dataclass(frozen=True, kw_only=True)
class EncodedText:
    """What one forward pass yields for one text."""

    vector: torch.Tensor  # (H,) mean retrieval-layer state, first token skipped
    token_sum: torch.Tensor  # (H,) sums for the store's standardisation statistics
    token_sq_sum: torch.Tensor  # (H,)
    token_count: int
    memory_states: torch.Tensor  # (T-1, H) normalised memory-layer states
    memory_next: torch.Tensor  # (T-1,) the token that followed each state


def encode(
    backbone: Backbone, text: str, *, retrieval_layer: int, memory_layer: int
) -> EncodedText:
    ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"].to(backbone.device)  # (1, T)
    with (
        LayerCapture(backbone.model, retrieval_layer) as retrieval,
        LayerCapture(backbone.model, memory_layer) as memory,
        torch.inference_mode(),
    ):
        backbone.model(input_ids=ids)
    states = retrieval.output[0].float().cpu()  # (T, H)
    body = states[1:] if states.shape[0] > 1 else states
    memory_states = torch.nn.functional.normalize(memory.output[0, :-1].float().cpu(), dim=-1)
    return EncodedText(
        vector=body.mean(0),
        token_sum=body.sum(0),
        token_sq_sum=(body**2).sum(0),
        token_count=body.shape[0],
        memory_states=memory_states,
        memory_next=ids[0, 1:].cpu(),
    )


def question_vectors(backbone: Backbone, texts: Sequence[str], *, layer: int) -> torch.Tensor:
    """``encode(...).vector`` of every text, (N, H), from one forward pass over all of them.

    Right padding leaves each vector the one its text gets alone (up to the rounding of a
    differently shaped matrix product).
    """
    rows = [backbone.tokenizer(text, return_tensors="pt")["input_ids"] for text in texts]
    ids, mask = backbone.right_padded(rows)
    with LayerCapture(backbone.model, layer) as capture, torch.inference_mode():
        backbone.model(input_ids=ids, attention_mask=mask)
    states = capture.output.float().cpu()  # (N, T, H)
    mask = mask.cpu()
    body = mask.clone()
    body[:, 0] = (mask.sum(1) == 1).long()  # skip the first token, unless it is the only one
    weights = body[:, :, None].float()
    return (states * weights).sum(1) / weights.sum(1)


class KnowledgeStore:
    """Chunks, their vectors and their memory entries, as plain tensors (saved as safetensors)."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self.vectors = torch.empty(0)  # (N, H)
        self.memory_states = torch.empty(0)  # (P, H)
        self.memory_next = torch.empty(0, dtype=torch.long)  # (P,)
        self.memory_offsets = [0]  # chunk i owns memory rows offsets[i]:offsets[i+1]
        self.token_sum = torch.empty(0)  # (H,)
        self.token_sq_sum = torch.empty(0)
        self.token_count = 0

    def __len__(self) -> int:
        return len(self.chunks)

    def add(self, chunks: Sequence[Chunk], encoded: Sequence[EncodedText]) -> None:
        if not chunks:
            return
        new_vectors = torch.stack([e.vector for e in encoded])
        self.vectors = new_vectors if not self.chunks else torch.cat([self.vectors, new_vectors])
        states = [e.memory_states for e in encoded]
        nexts = [e.memory_next for e in encoded]
        if self.chunks:
            states.insert(0, self.memory_states)
            nexts.insert(0, self.memory_next)
        self.memory_states, self.memory_next = torch.cat(states), torch.cat(nexts)
        for e in encoded:
            self.memory_offsets.append(self.memory_offsets[-1] + e.memory_states.shape[0])
        sums = torch.stack([e.token_sum for e in encoded]).sum(0)
        squares = torch.stack([e.token_sq_sum for e in encoded]).sum(0)
        self.token_sum = sums if not self.chunks else self.token_sum + sums
        self.token_sq_sum = squares if not self.chunks else self.token_sq_sum + squares
        self.token_count += sum(e.token_count for e in encoded)
        self.chunks.extend(chunks)

    def _standardise(self, vectors: torch.Tensor) -> torch.Tensor:
        mean = self.token_sum / self.token_count
        variance = (self.token_sq_sum / self.token_count - mean**2).clamp_min(0)
        scaled = (vectors - mean) / (variance.sqrt() + _EPS)
        return torch.nn.functional.normalize(scaled, dim=-1)

    def search(self, query: torch.Tensor, k: int) -> list[tuple[int, float]]:
        """``(chunk index, cosine)`` of the ``k`` chunks most similar to ``query`` (H,)."""
        if not self.chunks:
            return []
        scores = self._standardise(self.vectors) @ self._standardise(query[None])[0]  # (N,)
        top = torch.topk(scores, min(k, len(self.chunks)))
        return [(int(i), float(s)) for s, i in zip(top.values, top.indices, strict=True)]

    def memory_of(self, chunk_indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The memory entries (states (M, H), next tokens (M,)) of the given chunks."""
        rows = [
            torch.arange(self.memory_offsets[i], self.memory_offsets[i + 1]) for i in chunk_indices
        ]
        index = torch.cat(rows) if rows else torch.empty(0, dtype=torch.long)
        return self.memory_states[index], self.memory_next[index]

    def tensors(self) -> dict[str, torch.Tensor]:
        return {
            "vectors": self.vectors.contiguous(),
            "memory_states": self.memory_states.contiguous(),
            "memory_next": self.memory_next.contiguous(),
            "memory_offsets": torch.tensor(self.memory_offsets, dtype=torch.long),
            "token_sum": self.token_sum.contiguous(),
            "token_sq_sum": self.token_sq_sum.contiguous(),
            "token_count": torch.tensor([self.token_count], dtype=torch.long),
        }

    @classmethod
    def from_tensors(
        cls, chunks: Sequence[Chunk], tensors: dict[str, torch.Tensor]
    ) -> KnowledgeStore:
        """Rebuild a store; raises ValueError when the tensors do not fit the chunks."""
        store = cls()
        offsets = tensors["memory_offsets"].tolist()
        if len(offsets) != len(chunks) + 1 or tensors["vectors"].shape[0] != len(chunks):
            raise ValueError("tensor shapes do not match the number of chunks")
        if not tensors["memory_states"].shape[0] == offsets[-1] == tensors["memory_next"].shape[0]:
            raise ValueError("memory tensors do not match their offsets")
        store.chunks = list(chunks)
        store.vectors = tensors["vectors"]
        store.memory_states, store.memory_next = tensors["memory_states"], tensors["memory_next"]
        store.memory_offsets = offsets
        store.token_sum, store.token_sq_sum = tensors["token_sum"], tensors["token_sq_sum"]
        store.token_count = int(tensors["token_count"][0])
        return store
