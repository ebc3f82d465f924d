"""What a refresh cycle is made of and what it leaves behind: plans, records and domains.

A *cycle* trains the active domain's LoRA adapter on new examples plus a replay sample, measures
the anchor set before and after, and either keeps the result or rolls it back. Every cycle, kept
or not, leaves a :class:`CycleRecord` in its domain's history, which persists across runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from continual_learning.core.forgetting import knowledge_retention_score
from continual_learning.core.lora import LoraWeights
from continual_learning.engines.replay_lora.buffers import ReplayBuffer
from continual_learning.engines.replay_lora.ewc import OnlineEwc
from continual_learning.engines.replay_lora.trainer import TrainResult
from continual_learning.errors import StateError


@dataclass(frozen=True, kw_only=True)
class CyclePlan:
    """What a cycle would train on (``refresh run --dry-run`` shows this and changes nothing)."""

    domain: str
    new_examples: int
    replayed: int
    epochs: int
    steps: int
    ewc: bool


@dataclass(frozen=True, kw_only=True)
class CycleRecord:
    """One cycle's measurements. Perplexities are on the anchor set and on the new data."""

    index: int
    domain: str
    created: str
    new_examples: int
    replayed: int
    epochs: int
    steps: int
    first_loss: float
    final_loss: float
    ewc_penalty: float
    """The EWC penalty at the last step (0 with EWC off or before its first update)."""
    anchor_before: float
    anchor_after: float
    bwt: float
    """``anchor_before - anchor_after``: negative means the anchor set got harder (forgetting)."""
    new_before: float
    new_after: float
    fwt: float | None
    """``new_before`` of the previous cycle minus this one's; None for a domain's first cycle."""
    krs: float
    """Knowledge retention score of the domain after this cycle (rolled-back cycles excluded)."""
    rolled_back: bool
    reason: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CycleRecord:
        names = set(cls.__dataclass_fields__)
        if set(data) != names:
            raise ValueError(f"fields {sorted(set(data) ^ names)} do not match a cycle record")
        return cls(**data)


@dataclass(kw_only=True)
class CycleRun:
    """What one cycle's training produced, before it is kept or rolled back."""

    result: TrainResult
    epochs: int
    anchor: tuple[float, float]
    """The anchor set's perplexity before and after training."""
    new: tuple[float, float]
    """The new data's perplexity before and after training."""
    bwt: float
    rolled_back: bool
    trained: LoraWeights = field(default_factory=dict)
    """The adapter after training (empty when rolled back)."""
    losses: list[float] = field(default_factory=list)
    """Each new and replayed example's loss after training (the buffer's priorities)."""


@dataclass(kw_only=True)
class Domain:
    """One named adapter with its own replay buffer, EWC state and cycle history."""

    name: str
    buffer: ReplayBuffer
    ewc: OnlineEwc
    weights: LoraWeights = field(default_factory=dict)
    """Empty until the first kept cycle: an untrained domain leaves the backbone as it is."""
    cycles: list[CycleRecord] = field(default_factory=list)
    episodes: list[LoraWeights] = field(default_factory=list)
    """``adapters: per_cycle``: every kept cycle's own adapter, in order (``weights`` is the
    last of them)."""

    def kept_bwts(self) -> list[float]:
        return [c.bwt for c in self.cycles if not c.rolled_back]

    def krs(self, lam: float) -> float:
        return knowledge_retention_score(self.kept_bwts(), lam)

    @property
    def rollbacks(self) -> int:
        return sum(c.rolled_back for c in self.cycles)


def cycles_from_json(data: Any, *, where: str) -> list[CycleRecord]:
    try:
        return [CycleRecord.from_dict(item) for item in data]
    except (TypeError, ValueError) as exc:
        raise StateError(f"cycle history in {where} is malformed: {exc}") from None
