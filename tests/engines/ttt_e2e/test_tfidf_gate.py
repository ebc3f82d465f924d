"""Calibration of the TF-IDF gate and neuron selection, on a tiny real Llama."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continual_learning.engines.ttt_e2e.tfidf_gate import (
    TfidfGate,
    cached_calibration,
    calibrate,
    calibration_texts,
    document_activity,
)
from continual_learning.errors import ConfigError, DatasetError

from helpers import SQUAD_DEV, build_tiny_backbone


def test_builtin_corpus_is_shipped() -> None:
    texts = calibration_texts("builtin", 1000)
    assert len(texts) >= 32 and all(len(t) > 100 for t in texts)
    assert len(calibration_texts("builtin", 5)) == 5


def test_neurons_present_everywhere_get_the_lowest_idf() -> None:
    backbone = build_tiny_backbone()
    texts = calibration_texts("builtin", 20)
    gate = calibrate(backbone, [0, 1], texts, corpus="builtin", active_fraction=0.25)
    assert gate.samples == 20 and set(gate.idf) == {0, 1}
    idf = gate.idf[1]
    assert idf.shape == (64,)
    # Recount presence the same way and check IDF orders neurons by rarity.
    activity = [
        document_activity(
            backbone, [1], backbone.tokenizer(t, return_tensors="pt")["input_ids"][:, :256]
        )[1]
        for t in texts
    ]
    presence = torch.stack([(a >= torch.topk(a, 16).values[-1]).float() for a in activity]).sum(0)
    commonest, rarest = int(presence.argmax()), int(presence.argmin())
    assert idf[commonest] < idf[rarest]
    assert float(idf.min()) == pytest.approx(float(idf[presence == presence.max()].min()))


def test_select_takes_the_top_tf_idf_share_of_each_layer() -> None:
    gate = TfidfGate(idf={0: torch.tensor([1.0, 1.0, 3.0, 1.0])}, samples=4, corpus="x")
    # Neuron 0 is the most active but common; neuron 2 is rarer and wins.
    chosen = gate.select({0: torch.tensor([2.0, 0.1, 1.0, 0.5])}, fraction=0.25)
    assert chosen[0].tolist() == [2]
    assert gate.select({0: torch.tensor([2.0, 0.1, 1.0, 0.5])}, fraction=0.5)[0].tolist() == [0, 2]


def test_corpus_files(tmp_path: Path) -> None:
    text = tmp_path / "corpus.txt"
    text.write_text(("A paragraph long enough to count as calibration text.\n\n") * 3)
    assert len(calibration_texts(str(text), 10)) == 3
    with pytest.raises(ConfigError, match="no file"):
        calibration_texts(str(tmp_path / "missing.txt"), 10)
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\xff\xfe\x00" * 100)
    with pytest.raises(DatasetError, match="UTF-8"):
        calibration_texts(str(binary), 10)
    short = tmp_path / "short.txt"
    short.write_text("too short")
    with pytest.raises(DatasetError, match="paragraphs"):
        calibration_texts(str(short), 10)


def test_squad_contexts_as_corpus() -> None:
    if not SQUAD_DEV.is_file():
        pytest.skip(f"SQuAD dev not found at {SQUAD_DEV}")
    texts = calibration_texts(str(SQUAD_DEV), 50)
    assert len(texts) == 50 and len(set(texts)) == 50


def test_the_calibration_is_computed_once_per_model_and_read_back_exactly(tmp_path: Path) -> None:
    backbone = build_tiny_backbone()
    texts = calibration_texts("builtin", 6)
    settings = {"corpus": "builtin", "active_fraction": 0.25, "folder": tmp_path}
    computed = cached_calibration(backbone, [0, 1], texts, **settings)
    (stored,) = (tmp_path / "tfidf-gate").iterdir()
    events: list[object] = []
    read = cached_calibration(backbone, [0, 1], texts, **settings, on_event=events.append)
    assert not events  # read from the file: nothing calibrated
    assert all(torch.equal(read.idf[layer], computed.idf[layer]) for layer in (0, 1))
    assert (read.samples, read.corpus) == (6, "builtin")
    other = cached_calibration(build_tiny_backbone(seed=1), [0, 1], texts, **settings)
    assert len(list((tmp_path / "tfidf-gate").iterdir())) == 2  # other weights: another file
    assert not torch.equal(other.idf[1], computed.idf[1])
    stored.write_bytes(stored.read_bytes()[:40])  # damaged: calibrated again, file rewritten
    again = cached_calibration(backbone, [0, 1], texts, **settings, on_event=events.append)
    assert events and torch.equal(again.idf[1], computed.idf[1])
    assert cached_calibration(backbone, [0, 1], texts, **settings).samples == 6


def test_protect_learned_keeps_a_new_document_off_the_neurons_earlier_ones_changed() -> None:
    gate = TfidfGate(idf={0: torch.ones(10)}, samples=1, corpus="test")
    activity = {0: torch.arange(10, dtype=torch.float32)}  # neuron 9 scores highest
    held = {0: torch.tensor([9, 8])}
    assert gate.select(activity, 0.2)[0].tolist() == [8, 9]
    assert gate.select(activity, 0.2, held=held, protect=0.0)[0].tolist() == [8, 9]
    assert gate.select(activity, 0.2, held=held, protect=1.0)[0].tolist() == [6, 7]
    # Half protection: 9 * 0.5 = 4.5 still outranks 4 but not 7.
    assert gate.select(activity, 0.3, held=held, protect=0.5)[0].tolist() == [5, 6, 7]
    # Once every free neuron is taken, held ones are reused rather than opening fewer.
    assert len(gate.select(activity, 1.0, held=held, protect=1.0)[0]) == 10
