"""The forgetting guard's targets are computed once per model and settings, then read back from
disk exactly; a damaged file is recomputed, never trusted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.self_study import general_targets

from helpers import make_config

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Paris is the capital of France."]


def _targets(backbone: Backbone) -> list:
    settings = make_config(ttt_e2e={"study_answer_tokens": 6}).engine("ttt_e2e")
    return general_targets(backbone, TEXTS, settings, system_prompt="Answer briefly.")  # type: ignore[arg-type]


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        torch.equal(x.ids, y.ids)
        and torch.equal(x.top_ids, y.top_ids)
        and torch.equal(x.top_logprobs, y.top_logprobs)
        and (x.prompt, x.answer) == (y.prompt, y.answer)
        for x, y in zip(a, b, strict=True)
    )


def test_guard_targets_are_computed_once_and_read_back_exactly(
    tiny_backbone: Backbone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CL_CACHE_DIR", str(tmp_path))
    first = _targets(tiny_backbone)
    (stored,) = (tmp_path / "guard-targets").glob("*.safetensors")
    written = stored.stat().st_mtime_ns
    again = _targets(tiny_backbone)
    assert _same(first, again) and stored.stat().st_mtime_ns == written  # read, not recomputed
    assert any(t.prompt for t in again)


def test_other_weights_get_other_targets_and_a_damaged_file_is_recomputed(
    tiny_backbone: Backbone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers import build_tiny_backbone

    monkeypatch.setenv("CL_CACHE_DIR", str(tmp_path))
    first = _targets(tiny_backbone)
    _targets(build_tiny_backbone(seed=1))
    files = sorted((tmp_path / "guard-targets").glob("*.safetensors"))
    assert len(files) == 2
    for path in files:
        path.write_bytes(path.read_bytes()[:100])  # cut short, as by a full disk
    recomputed = _targets(tiny_backbone)
    assert _same(first, recomputed)
    assert sum(p.stat().st_size > 100 for p in files) == 1  # its file, rewritten whole


def test_a_number_is_computed_once_and_a_damaged_file_again(tmp_path: Path) -> None:
    from continual_learning.core.backbone_cache import cached_number

    calls: list[float] = []

    def compute() -> float:
        calls.append(1.0)
        return 21.5

    assert cached_number(tmp_path, "anchor-perplexity", "k1", compute) == 21.5
    assert cached_number(tmp_path, "anchor-perplexity", "k1", compute) == 21.5
    assert len(calls) == 1
    (tmp_path / "anchor-perplexity" / "k1.json").write_text('{"value": "not a number"')
    assert cached_number(tmp_path, "anchor-perplexity", "k1", compute) == 21.5
    assert len(calls) == 2
