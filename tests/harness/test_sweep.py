"""Sweeps run for real: worker processes and a local Ray instance give the same merged report, an
interrupted sweep resumes with its finished jobs kept, a failing job is a row with its reason,
and the local pool runs the real model."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from continual_learning.harness.sweep import LocalPool, parse_spec, run_sweep, sweep_config
from continual_learning.types import ProgressEvent, StreamReport

from helpers import DEFAULT_MODEL, cli, require_real_model, run_cli, save_tiny_model

TIMINGS = {"created", "learn_seconds", "eval_seconds", "environment"}


def _comparable(data: Any) -> Any:
    """A report without what differs between two runs of the same jobs: clocks and versions."""
    if isinstance(data, dict):
        return {k: _comparable(v) for k, v in data.items() if k not in TIMINGS}
    if isinstance(data, list | tuple):
        return [_comparable(v) for v in data]
    return data


def _write_documents(folder: Path) -> None:
    (folder / "docs").mkdir()
    (folder / "docs" / "bridge.txt").write_text(
        "The Quorvel Bridge in the town of Dask is painted lime green."
    )
    (folder / "docs" / "capital.txt").write_text("Zorblax Quentaro is the capital of Velmoria.")
    rows = [
        {
            "doc_id": "bridge",
            "question": "What colour is the Quorvel Bridge?",
            "answers": ["lime green"],
        },
        {
            "doc_id": "capital",
            "question": "What is the capital of Velmoria?",
            "answers": ["Zorblax Quentaro"],
        },
    ]
    (folder / "qs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _tiny_spec(folder: Path, model: Path) -> Path:
    """Two engines (one fails on purpose) and the baselines x 2 orders on two documents."""
    _write_documents(folder)
    spec = folder / "tiny.yaml"
    spec.write_text(
        f"""
mode: stream
episodes: 2
seeds: 2
datasets:
  - {{name: files, documents: [docs], questions: qs.jsonl}}
engines:
  - engine: ttt-e2e
    grid: {{gate_fraction: [0.1]}}
  - engine: doc2lora
    overrides:
      lora_source: hypernetwork
      hypernetwork: {folder / "no-such-hypernetwork.safetensors"}
settings:
  model: {{name: {model}}}
  generation: {{max_new_tokens: 4}}
heldout: 2
reading: 0
"""
    )
    return spec


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    """The tiny sweep run once, uninterrupted, by two local worker processes (the CLI), with
    its progress going to a pipe as it would to a log file."""
    folder = tmp_path_factory.mktemp("sweep")
    spec = _tiny_spec(folder, save_tiny_model(folder / "tiny-model"))
    done = run_cli("sweep", str(spec), "--workers", "2", "--out", str(folder / "local"))
    assert done.returncode == 0, done.stderr + done.stdout
    assert "10 ran on local (1 threads each)" in " ".join(done.stdout.split())
    report = json.loads((folder / "local" / "report-files-questions-qs-jsonl.json").read_text())
    return spec, report, done.stderr


def test_a_log_shows_each_job_from_inside_while_it_runs(
    tiny_sweep: tuple[Path, dict, str],
) -> None:
    """Not only "job 3/10 done": the phases of every job, named after it, from its worker."""
    *_, log = tiny_sweep
    for seed in (0, 1):
        job = f"files ttt-e2e gate_fraction=0.1 s{seed}"
        assert f"{job}: learn ttt_e2e  0/1  started" in log, log
        assert re.search(rf"{job}: learn ttt_e2e  1/1 .*done in", log), log
        assert f"{job}: stream" not in log  # a job is one order: the sweep counts the orders
    assert "files closed-book s1: answer" in log, log


def test_the_merged_report_holds_every_job_and_a_failing_job_is_a_row_with_its_reason(
    tiny_sweep: tuple[Path, dict, str],
) -> None:
    spec, report, _ = tiny_sweep
    labels = [s["label"] for s in report["summaries"]]
    assert labels == [
        "closed-book",
        "in-context",
        "oracle-context",
        "ttt-e2e gate_fraction=0.1",
        "doc2lora",
    ]
    assert report["seeds"] == [0, 1] and len(report["runs"]) == 10
    failed = [r for r in report["runs"] if r["error"]]
    assert {r["label"] for r in failed} == {"doc2lora"} and len(failed) == 2
    assert "no-such-hypernetwork" in failed[0]["error"]
    summary = json.loads((spec.parent / "local" / "sweep.json").read_text())
    assert len(summary["jobs"]) == 10
    assert 1 <= len({j["pid"] for j in summary["jobs"]}) <= 2  # two workers at most
    for suffix in (".html", ".png"):
        assert (spec.parent / "local" / f"report-files-questions-qs-jsonl{suffix}").stat().st_size


@pytest.mark.slow
def test_ray_tasks_give_the_same_merged_report_as_local_workers(
    tiny_sweep: tuple[Path, dict, str],
) -> None:
    ray = pytest.importorskip("ray", reason="Ray is the 'ray' extra (installed with --dev)")
    from continual_learning.harness.sweep import RayExecutor, read_spec

    spec_path, local, _ = tiny_sweep
    spec = read_spec(spec_path)
    events: list[ProgressEvent] = []
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = run_sweep(
            spec,
            spec_path.parent / "ray",
            config=sweep_config(spec),
            executor=RayExecutor(cpus=1),
            on_event=events.append,
        )
    finally:
        ray.shutdown()
    (report,) = result.reports.values()
    assert isinstance(report, StreamReport) and result.kept == 0
    assert _comparable(report.to_dict()) == _comparable(local)
    assert {j["pid"] for j in result.jobs}.isdisjoint({os.getpid()})
    learned = [e for e in events if e.title == "files ttt-e2e gate_fraction=0.1 s1: learn ttt_e2e"]
    assert learned and learned[-1].completed == learned[-1].total  # from the task, as it ran


@pytest.mark.slow
def test_an_interrupted_sweep_resumes_with_its_finished_jobs_kept(
    tiny_sweep: tuple[Path, dict, str],
) -> None:
    spec, local, _ = tiny_sweep
    out = spec.parent / "interrupted"
    command = [sys.executable, "-m", "continual_learning.cli.main", "sweep", str(spec)]
    command += ["--out", str(out)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list((out / "jobs").glob("*.json"))) < 2 and time.monotonic() < deadline:
        assert process.poll() is None, "the sweep ended before it could be interrupted"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # the sweep alone, mid-job: its processes follow
    process.wait()
    while _group(process.pid) and time.monotonic() < deadline + 30:
        time.sleep(0.2)
    assert not _group(process.pid), "a worker outlived its sweep"
    finished = len(list((out / "jobs").glob("*.json")))
    assert 2 <= finished < 10
    partial = cli("sweep", str(spec), "--out", str(out), "--report-only")
    assert partial.returncode == 0, partial.stderr
    assert f"{finished} finished so far, merged; {10 - finished} not run yet" in " ".join(
        partial.stdout.split()
    )
    assert len(list((out / "jobs").glob("*.json"))) == finished  # it ran nothing
    again = cli("sweep", str(spec), "--out", str(out))
    assert again.returncode == 0, again.stderr
    text = " ".join(again.stdout.split())
    assert f"{10 - finished} ran on local" in text and f"{finished} kept" in text
    resumed = json.loads((out / "report-files-questions-qs-jsonl.json").read_text())
    assert _comparable(resumed) == _comparable(local)


def _group(group: int) -> list[int]:
    """The live processes of process group ``group`` (from /proc: zombies are not alive)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if fields[0] != "Z" and int(fields[2]) == group:
            alive.append(int(stat.parent.name))
    return alive


def test_a_bad_spec_or_a_dead_ray_address_is_one_line_and_no_job(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("engines: [jitrl-mvp]\nseeds: -1\n")
    done = cli("sweep", str(spec))
    assert (
        done.returncode == 2 and "'seeds'" in done.stderr and not (tmp_path / "bad-sweep").exists()
    )
    spec.write_text("engines: [jitrl-mvp]\nheldout: 0\n")
    dead = cli("sweep", str(spec), "--ray", "127.0.0.1:1", "--out", str(tmp_path / "out"))
    assert dead.returncode == 2 and "cannot reach Ray at 127.0.0.1:1" in dead.stderr


@pytest.mark.slow
@pytest.mark.real_model
def test_the_local_pool_runs_the_real_model(tmp_path: Path) -> None:
    require_real_model()
    _write_documents(tmp_path)
    spec = parse_spec(
        {
            "episodes": 2,
            "datasets": [{"name": "files", "documents": ["docs"], "questions": "qs.jsonl"}],
            "engines": ["jitrl-mvp"],
            "settings": {"model": {"name": DEFAULT_MODEL}, "generation": {"max_new_tokens": 24}},
            "heldout": 0,
        },
        folder=tmp_path,
    )
    result = run_sweep(spec, tmp_path / "out", config=sweep_config(spec), executor=LocalPool(2))
    (report,) = result.reports.values()
    assert isinstance(report, StreamReport) and not result.failed
    acc = {s.label: s.acc["mean"] for s in report.summaries if s.acc}
    assert acc["jitrl-mvp"] > acc["closed-book"]  # it retrieves what the stream taught it
    assert {j["threads"] for j in result.jobs} == {1}
