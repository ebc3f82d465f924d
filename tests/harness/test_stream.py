"""Stream mode end to end on the tiny model (plumbing), and how documents become episodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.errors import DatasetError
from continual_learning.harness import fictional_fact_inputs
from continual_learning.harness.runner import EngineRun
from continual_learning.harness.stream import split_episodes, stream
from continual_learning.harness.stream_outputs import write_stream_html, write_stream_plot
from continual_learning.types import Document, StreamReport

from helpers import build_tiny_backbone, cli, make_config, save_tiny_model


def _documents(sources: list[str]) -> list[Document]:
    return [Document(id=f"d{i}", text=f"text {i}", source=s) for i, s in enumerate(sources)]


def test_documents_split_into_near_equal_episodes_in_a_seeded_order() -> None:
    documents = _documents(["a"] * 7)
    given = split_episodes(documents, 3)
    assert [len(e) for e in given] == [2, 3, 2]
    assert [d.id for e in given for d in e] == [d.id for d in documents]  # seed 0: as given
    shuffled = split_episodes(documents, 3, seed=1)
    assert shuffled != given and sorted(d.id for e in shuffled for d in e) == sorted(
        d.id for d in documents
    )
    assert split_episodes(documents, 3, seed=1) == shuffled


def test_a_source_stays_in_one_episode_and_too_many_episodes_are_refused() -> None:
    documents = _documents(["art1", "art1", "art2", "art3", "art3", "art3"])
    episodes = split_episodes(documents, 3, by="source")
    assert [{d.source for d in e} for e in episodes] == [{"art1"}, {"art2"}, {"art3"}]
    with pytest.raises(DatasetError, match="only 3 sources"):
        split_episodes(documents, 4, by="source")
    with pytest.raises(DatasetError, match="at least 1"):
        split_episodes(documents, 0)


def test_a_stream_fills_every_matrix_and_keeps_what_it_needs_for_intervals(tmp_path: Path) -> None:
    config = make_config(generation={"max_new_tokens": 4})
    runs = [EngineRun(engine="jitrl-mvp"), EngineRun(engine="ttt-e2e", overrides={"bogus": 1})]
    report = stream(
        runs, fictional_fact_inputs(), build_tiny_backbone(), config, episodes=3, seeds=2
    )
    labels = [s.label for s in report.summaries]
    assert labels == ["closed-book", "in-context", "oracle-context", "jitrl-mvp", "ttt-e2e"]
    assert len(report.runs) == 10 and report.seeds == (0, 1)
    failed = [r for r in report.runs if r.failed]
    assert {r.label for r in failed} == {"ttt-e2e"} and "bogus" in failed[0].error
    for run in (r for r in report.runs if not r.failed):
        assert len(run.matrix) == 3 and all(len(row) == 3 for row in run.matrix)
        assert len(run.scores) == 3 and len(run.scores[0]) == 48
        assert [p.after_episode for p in run.heldout] == [0, 1, 2, 3]
    orders = {r.seed: r.episodes for r in report.runs if r.label == "jitrl-mvp"}
    assert orders[0] != orders[1]  # another seed, another document order
    closed = next(s for s in report.summaries if s.label == "closed-book")
    assert closed.fwt is not None and closed.fwt["mean"] == 0.0  # closed-book is its own floor
    assert report.environment["torch"] and report.environment["commit"]
    data = json.loads(json.dumps(report.to_dict()))
    assert json.loads(json.dumps(StreamReport.from_dict(data).to_dict())) == data
    write_stream_plot(report, tmp_path / "stream.png")
    write_stream_html(report, tmp_path / "stream.html")
    assert (tmp_path / "stream.png").read_bytes().startswith(b"\x89PNG")
    assert "jitrl-mvp" in (tmp_path / "stream.html").read_text()


def test_bench_stream_from_the_command_line(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "tiny-model")
    out = tmp_path / "stream.json"
    result = cli(
        "--model", str(model), "bench", "stream", "--engines", "jitrl-mvp", "--episodes", "2",
        "--seeds", "2", "--max-new-tokens", "4", "--heldout", "0", "--reading", "0",
        "--report", str(out), "--plot", str(tmp_path / "stream.png"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ACC" in result.stdout and "±" in result.stdout
    report = json.loads(out.read_text())
    assert report["episodes"] == 2 and report["seeds"] == [0, 1]
    assert (tmp_path / "stream.png").exists()
    refused = cli("--model", str(model), "bench", "stream", "--episodes", "13")
    assert refused.returncode != 0 and "only 12 documents" in (refused.stdout + refused.stderr)
