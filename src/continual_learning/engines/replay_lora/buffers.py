"""Replay buffers: which past examples are trained on again, so new learning does not overwrite old.

Three policies, each a different answer to "what is worth keeping when the buffer is full?":

- :class:`ReservoirBuffer`: a uniform sample of everything ever seen (Vitter's Algorithm R):
  the n-th example is kept with probability ``max_size / n``, replacing a random one.
- :class:`PrioritizedBuffer`: the examples the model finds hardest (highest loss) are kept and
  replayed most; losses are refreshed after every cycle with :meth:`ReplayBuffer.update_losses`.
- :class:`DiverseBuffer`: examples go into ``buckets`` by a stable hash of their text; a full
  buffer evicts from its fullest bucket and sampling takes evenly from every bucket, so one
  flood of similar data cannot crowd out the rest.

Buffers need no model at all: they hold text and numbers, and save to and load from JSON (the
random generator's state included, so a reloaded buffer makes the same choices).
"""

from __future__ import annotations

import hashlib
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar, Literal

from continual_learning.errors import StateError

BufferKind = Literal["reservoir", "prioritized", "diverse"]


@dataclass(frozen=True, kw_only=True)
class ReplayExample:
    """One training text, where it came from, and how hard the model last found it."""

    id: str
    text: str
    source: str = ""
    """The document or file it came from."""
    loss: float | None = None
    """Mean next-token loss after the last cycle that trained on it; None: never measured."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplayExample:
        loss = data.get("loss")
        return cls(
            id=str(data["id"]),
            text=str(data["text"]),
            source=str(data.get("source", "")),
            loss=None if loss is None else float(loss),
        )


@dataclass(frozen=True, kw_only=True)
class BufferStats:
    """What ``refresh status`` shows about a buffer."""

    kind: str
    size: int
    max_size: int
    seen: int
    """Examples ever offered to :meth:`ReplayBuffer.add`."""
    mean_loss: float | None
    buckets_used: int | None = None


class ReplayBuffer(ABC):
    """A bounded store of past examples with a policy for what to keep and what to replay."""

    kind: ClassVar[BufferKind]

    def __init__(self, max_size: int, *, seed: int = 0) -> None:
        if max_size < 1:
            raise ValueError(f"a replay buffer needs max_size >= 1, got {max_size}")
        self.max_size = max_size
        self.seen = 0
        self.items: list[ReplayExample] = []
        self._rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, examples: Iterable[ReplayExample]) -> None:
        for example in examples:
            self.seen += 1
            if len(self.items) < self.max_size:
                self.items.append(example)
            else:
                self._add_when_full(example)

    @abstractmethod
    def _add_when_full(self, example: ReplayExample) -> None: ...

    @abstractmethod
    def sample(self, n: int) -> list[ReplayExample]:
        """Up to ``n`` distinct examples to train on again."""

    def update_losses(self, losses: Mapping[str, float]) -> None:
        """Record fresh losses (example id -> loss) for the examples that have one."""
        self.items = [
            replace(item, loss=losses[item.id]) if item.id in losses else item
            for item in self.items
        ]

    def stats(self) -> BufferStats:
        losses = [i.loss for i in self.items if i.loss is not None]
        return BufferStats(
            kind=self.kind,
            size=len(self.items),
            max_size=self.max_size,
            seen=self.seen,
            mean_loss=sum(losses) / len(losses) if losses else None,
        )

    # -- JSON ------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "max_size": self.max_size,
            "seen": self.seen,
            "rng_state": _state_to_json(self._rng.getstate()),
            "items": [asdict(item) for item in self.items],
            **self._extra_json(),
        }

    def _extra_json(self) -> dict[str, Any]:
        return {}


class ReservoirBuffer(ReplayBuffer):
    """Algorithm R: after ``n`` offers, every example seen is kept with probability max_size/n."""

    kind = "reservoir"

    def _add_when_full(self, example: ReplayExample) -> None:
        slot = self._rng.randrange(self.seen)  # seen already counts this example
        if slot < self.max_size:
            self.items[slot] = example

    def sample(self, n: int) -> list[ReplayExample]:
        return self._rng.sample(self.items, min(n, len(self.items)))


class PrioritizedBuffer(ReplayBuffer):
    """Keeps the highest-loss examples; replays with probability proportional to loss.

    An example never measured counts as the hardest (its loss is unknown, so it must be seen).
    """

    kind = "prioritized"

    def _add_when_full(self, example: ReplayExample) -> None:
        easiest = min(range(len(self.items)), key=lambda i: _priority(self.items[i]))
        if _priority(example) >= _priority(self.items[easiest]):
            self.items[easiest] = example

    def sample(self, n: int) -> list[ReplayExample]:
        pool = list(self.items)
        chosen: list[ReplayExample] = []
        while pool and len(chosen) < n:
            weights = [min(_priority(item), 1e6) + 1e-6 for item in pool]
            index = self._rng.choices(range(len(pool)), weights=weights)[0]
            chosen.append(pool.pop(index))
        return chosen


class DiverseBuffer(ReplayBuffer):
    """Examples bucketed by a stable hash of their text; evict from the fullest, sample evenly."""

    kind = "diverse"

    def __init__(self, max_size: int, *, seed: int = 0, buckets: int = 64) -> None:
        super().__init__(max_size, seed=seed)
        if buckets < 1:
            raise ValueError(f"a diverse buffer needs buckets >= 1, got {buckets}")
        self.buckets = buckets

    def bucket_of(self, example: ReplayExample) -> int:
        digest = hashlib.sha256(example.text.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.buckets

    def _add_when_full(self, example: ReplayExample) -> None:
        by_bucket = self._by_bucket()
        fullest = max(by_bucket, key=lambda b: (len(by_bucket[b]), -b))
        del self.items[by_bucket[fullest][0]]  # the oldest of the fullest bucket goes
        self.items.append(example)  # items stay in arrival order

    def sample(self, n: int) -> list[ReplayExample]:
        queues = {b: list(indices) for b, indices in self._by_bucket().items()}
        for indices in queues.values():
            self._rng.shuffle(indices)
        order = list(queues)
        self._rng.shuffle(order)
        chosen: list[ReplayExample] = []
        while len(chosen) < min(n, len(self.items)):
            for bucket in order:
                if queues[bucket] and len(chosen) < n:
                    chosen.append(self.items[queues[bucket].pop()])
        return chosen

    def stats(self) -> BufferStats:
        return replace(super().stats(), buckets_used=len(self._by_bucket()))

    def _by_bucket(self) -> dict[int, list[int]]:
        """Bucket -> indices into ``items``, oldest first."""
        by_bucket: dict[int, list[int]] = {}
        for index, item in enumerate(self.items):
            by_bucket.setdefault(self.bucket_of(item), []).append(index)
        return by_bucket

    def _extra_json(self) -> dict[str, Any]:
        return {"buckets": self.buckets}


def make_buffer(
    kind: BufferKind, max_size: int, *, seed: int = 0, buckets: int = 64
) -> ReplayBuffer:
    if kind == "reservoir":
        return ReservoirBuffer(max_size, seed=seed)
    if kind == "prioritized":
        return PrioritizedBuffer(max_size, seed=seed)
    if kind == "diverse":
        return DiverseBuffer(max_size, seed=seed, buckets=buckets)
    raise ValueError(f"unknown replay buffer kind {kind!r}")


def buffer_from_json(data: Any, *, where: str) -> ReplayBuffer:
    """A buffer written by :meth:`ReplayBuffer.to_json`; anything malformed is a StateError."""
    try:
        buffer = make_buffer(
            data["kind"], int(data["max_size"]), buckets=int(data.get("buckets", 64))
        )
        buffer.seen = int(data["seen"])
        buffer.items = [ReplayExample.from_dict(item) for item in data["items"]]
        buffer._rng.setstate(_state_from_json(data["rng_state"]))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise StateError(f"replay buffer in {where} is malformed: {exc}") from None
    if len(buffer.items) > buffer.max_size or buffer.seen < len(buffer.items):
        raise StateError(
            f"replay buffer in {where} is inconsistent: {len(buffer.items)} items, "
            f"max_size {buffer.max_size}, seen {buffer.seen}"
        )
    return buffer


def replay_count(new_examples: int, min_replay_ratio: float, available: int) -> int:
    """How many replayed examples make them at least ``min_replay_ratio`` of the training set."""
    if min_replay_ratio <= 0 or new_examples == 0:
        return 0
    if min_replay_ratio >= 1:
        return available
    wanted = math.ceil(new_examples * min_replay_ratio / (1 - min_replay_ratio) - 1e-9)
    return min(wanted, available)


def _priority(example: ReplayExample) -> float:
    return float("inf") if example.loss is None else example.loss


def _state_to_json(state: tuple[Any, ...]) -> list[Any]:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _state_from_json(data: Sequence[Any]) -> tuple[Any, ...]:
    version, internal, gauss = data
    return (int(version), tuple(int(x) for x in internal), gauss)
