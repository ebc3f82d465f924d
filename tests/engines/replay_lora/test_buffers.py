"""Replay buffers need no model: their policies, their sampling and their JSON round-trip."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from continual_learning.engines.replay_lora.buffers import (
    DiverseBuffer,
    PrioritizedBuffer,
    ReplayExample,
    ReservoirBuffer,
    buffer_from_json,
    make_buffer,
    replay_count,
)
from continual_learning.errors import StateError


def _examples(n: int, *, loss: float | None = None) -> list[ReplayExample]:
    return [ReplayExample(id=f"e{i}", text=f"example text number {i}", loss=loss) for i in range(n)]


def test_reservoir_keeps_a_uniform_sample_of_everything_seen() -> None:
    kept = Counter()
    trials = 400
    for seed in range(trials):
        buffer = ReservoirBuffer(10, seed=seed)
        buffer.add(_examples(100))
        assert len(buffer) == 10 and buffer.seen == 100
        kept.update(e.id for e in buffer.items)
    # Each of the 100 examples is kept with probability 10/100: about 40 times in 400 trials.
    early = sum(kept[f"e{i}"] for i in range(50))
    late = sum(kept[f"e{i}"] for i in range(50, 100))
    assert abs(early - late) < 0.15 * (early + late), (early, late)
    assert max(kept.values()) < 80 and min(kept.values()) > 10


def test_reservoir_sample_is_distinct_and_bounded() -> None:
    buffer = ReservoirBuffer(20, seed=1)
    buffer.add(_examples(5))
    sample = buffer.sample(10)
    assert len(sample) == 5 and len({e.id for e in sample}) == 5


def test_prioritized_keeps_the_hardest_examples_and_replays_them_most() -> None:
    buffer = PrioritizedBuffer(3, seed=0)
    buffer.add(
        ReplayExample(id=f"l{loss}", text=f"text {loss}", loss=float(loss)) for loss in range(6)
    )
    assert sorted(e.loss for e in buffer.items) == [3.0, 4.0, 5.0]
    buffer.update_losses({"l5": 0.01})
    firsts = Counter(buffer.sample(1)[0].id for _ in range(300))
    assert firsts["l4"] > firsts["l3"] > firsts["l5"]
    buffer.add([ReplayExample(id="new", text="never measured")])
    assert "new" in {e.id for e in buffer.items} and "l5" not in {e.id for e in buffer.items}


def test_diverse_buckets_by_content_and_samples_every_bucket() -> None:
    buffer = DiverseBuffer(100, seed=0, buckets=4)
    flood = [ReplayExample(id=f"same{i}", text="the same text") for i in range(50)]
    others = _examples(20)
    buffer.add(flood + others)
    by_bucket = Counter(buffer.bucket_of(e) for e in buffer.items)
    assert buffer.bucket_of(flood[0]) == buffer.bucket_of(flood[1])  # stable hash of the text
    sample = buffer.sample(8)
    buckets = Counter(buffer.bucket_of(e) for e in sample)
    assert len(buckets) == len(by_bucket)  # every bucket in use is represented
    assert max(buckets.values()) - min(buckets.values()) <= 1
    assert buffer.stats().buckets_used == len(by_bucket)


def test_diverse_evicts_from_the_fullest_bucket() -> None:
    buffer = DiverseBuffer(10, seed=0, buckets=8)
    buffer.add(ReplayExample(id=f"same{i}", text="flood") for i in range(9))
    buffer.add([ReplayExample(id="rare", text="something else entirely")])
    buffer.add([ReplayExample(id="rare2", text="and another unrelated text")])
    ids = [e.id for e in buffer.items]
    assert "rare" in ids and "rare2" in ids and "same0" not in ids and len(ids) == 10


@pytest.mark.parametrize("kind", ["reservoir", "prioritized", "diverse"])
def test_json_round_trip_keeps_items_and_future_choices(kind: str) -> None:
    buffer = make_buffer(kind, 8, seed=3, buckets=4)
    buffer.add(_examples(20, loss=1.5))
    restored = buffer_from_json(json.loads(json.dumps(buffer.to_json())), where="test")
    assert restored.items == buffer.items and restored.seen == buffer.seen
    assert restored.stats() == buffer.stats()
    assert [e.id for e in restored.sample(4)] == [e.id for e in buffer.sample(4)]


def test_malformed_buffer_json_is_a_state_error() -> None:
    good = ReservoirBuffer(2).to_json()
    with pytest.raises(StateError, match="malformed"):
        buffer_from_json({**good, "items": [{"text": "no id"}]}, where="test")
    with pytest.raises(StateError, match="malformed"):
        buffer_from_json({**good, "kind": "lifo"}, where="test")
    with pytest.raises(StateError, match="inconsistent"):
        buffer_from_json({**good, "items": [e.__dict__ for e in _examples(3)]}, where="test")


def test_replay_share_is_at_least_the_minimum() -> None:
    assert replay_count(4, 0.5, 100) == 4
    assert replay_count(3, 0.3, 100) == 2  # 2 / 5 >= 0.3
    assert replay_count(4, 0.5, 1) == 1  # no more than the buffer holds
    assert replay_count(4, 0.0, 100) == 0
    for new, ratio in [(1, 0.1), (7, 0.25), (10, 0.9)]:
        replayed = replay_count(new, ratio, 10_000)
        assert replayed / (new + replayed) >= ratio
