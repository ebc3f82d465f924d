"""The refresh wheel's Python API on a workspace (tiny model: plumbing, real files and locks)."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pytest

from continual_learning.engines.replay_lora.cycle import CyclePlan, CycleRecord
from continual_learning.engines.replay_lora.wheel import RefreshWheel
from continual_learning.errors import DocumentError, StateError, WorkbenchError
from continual_learning.workbench import Workbench

from helpers import build_tiny_backbone, make_config

SETTINGS = {"epochs": 1, "anchor_samples": 2, "auto_rollback": False}


def _wheel(workspace: Path, backbone=None) -> RefreshWheel:  # type: ignore[no-untyped-def]
    bench = Workbench(
        make_config(replay_lora=SETTINGS),
        workspace=workspace,
        backbone=backbone or build_tiny_backbone(),
    )
    return RefreshWheel(bench)


def _news(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_add_then_run_trains_one_cycle_and_empties_the_inbox(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "ws")
    assert wheel.init() is True and wheel.init() is False
    monday = _news(tmp_path / "news", "monday.txt", "Zorblax Quentaro is the capital of Velmoria.")
    tuesday = _news(tmp_path / "news", "tuesday.txt", "The Velmorian navy has three ships.")
    wheel.add([monday])
    wheel.add([tuesday])
    assert wheel.status().inbox_documents == 2

    plan = wheel.plan()
    assert isinstance(plan, CyclePlan) and plan.new_examples == 2 and plan.replayed == 0
    assert wheel.status().inbox_documents == 2 and wheel.metrics() == []

    record = wheel.run()
    assert isinstance(record, CycleRecord) and record.new_examples == 2
    assert wheel.status().inbox_documents == 0
    with pytest.raises(DocumentError, match="inbox is empty"):
        wheel.run()

    # Another process (a new workbench on the same workspace) sees the saved cycle and buffer.
    again = _wheel(tmp_path / "ws", wheel.bench.backbone)
    status = again.status()
    assert (status.cycles, status.buffer.size, status.krs) == (1, 2, record.krs)
    assert [c.index for c in again.metrics()] == [1]


def test_anchor_and_domains_persist(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "ws")
    anchor = _news(tmp_path, "anchor.txt", "First anchor paragraph.\n\nSecond anchor paragraph.\n")
    assert wheel.set_anchor(anchor) == 2
    wheel.switch_domain("sports")
    again = _wheel(tmp_path / "ws", wheel.bench.backbone)
    status = again.status()
    assert status.domain == "sports" and status.domains == ("default", "sports")
    assert status.anchor.startswith("2 texts")
    assert again.evaluate().anchor_texts == 2
    with pytest.raises(DocumentError, match="no such file"):
        wheel.set_anchor(tmp_path / "missing.txt")


def test_a_failed_run_keeps_the_inbox(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "ws")
    wheel.add([_news(tmp_path / "news", "a.txt", "A document worth keeping.")])
    (wheel.inbox / "zz-broken.json").write_text('[{"id": "x"')
    with pytest.raises(StateError, match="corrupt"):
        wheel.run()
    assert len(list(wheel.inbox.glob("*.json"))) == 2
    assert wheel.metrics() == []


def test_only_one_refresh_runs_at_a_time(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "ws")
    wheel.add([_news(tmp_path / "news", "a.txt", "A document.")])
    with (wheel.folder / "lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as another `refresh run` would hold it
        with pytest.raises(WorkbenchError, match="another process is changing the refresh wheel"):
            wheel.run()
    assert isinstance(wheel.run(), CycleRecord)


def test_schedule_refreshes_when_data_arrives_and_stops_on_request(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "ws")
    wheel.add([_news(tmp_path / "news", "a.txt", "A first document.")])
    stop = threading.Event()
    seen: list[CycleRecord] = []

    def on_cycle(record: CycleRecord) -> None:
        seen.append(record)
        if len(seen) == 1:
            wheel.add([_news(tmp_path / "news", "b.txt", "A second document, added later.")])
        else:
            stop.set()

    cycles = wheel.schedule(0.5 / 3600, stop=stop, on_cycle=on_cycle)
    assert cycles == 2 and [r.index for r in seen] == [1, 2]
    assert wheel.status().inbox_documents == 0
    with pytest.raises(WorkbenchError, match="positive"):
        wheel.schedule(0, stop=stop)
