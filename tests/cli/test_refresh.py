"""``continual-learning refresh ...`` as a user runs it: the commands on the real model, and the
schedule as a real process stopped by a real signal (on the tiny model: the signal is the point)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import cli, require_real_model, save_tiny_model

FAST = {"CL__REPLAY_LORA__EPOCHS": "2", "CL__REPLAY_LORA__ANCHOR_SAMPLES": "4"}
FAST |= {"CL__REPLAY_LORA__GUARD_SHARE": "0"}  # the wheel, not the guard (test_self_study.py)


def _refresh(*args: str) -> subprocess.CompletedProcess[str]:
    return cli("refresh", *args, env=FAST)


@pytest.mark.slow
@pytest.mark.real_model
def test_the_refresh_wheel_end_to_end(tmp_path: Path) -> None:
    require_real_model()
    news = tmp_path / "velmoria.txt"
    news.write_text("Velmoria is an island nation. Its capital is Zorblax Quentaro.")
    anchor = tmp_path / "anchor.txt"
    anchor.write_text(
        "The river runs through the old town and past the market.\n\n"
        "Bread is baked every morning in the village ovens.\n"
    )
    assert "created" in _refresh("init").stdout
    assert _refresh("add", str(news)).returncode == 0
    result = _refresh("anchor", str(anchor))
    assert result.returncode == 0 and "2 texts" in result.stdout, result.stderr

    dry = _refresh("run", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {
        "domain": "default",
        "new_examples": 1,
        "replayed": 0,
        "epochs": 2,
        "steps": 2,
        "ewc": False,
    }
    cycle = _refresh("run", "--epochs", "3", "--json")
    assert cycle.returncode == 0, cycle.stderr
    record = json.loads(cycle.stdout)
    assert record["epochs"] == 3 and record["final_loss"] < record["first_loss"]

    status = json.loads(_refresh("status", "--json").stdout)
    assert status["inbox_documents"] == 0 and status["cycles"] == 1
    assert status["buffer"]["size"] == 1 and status["anchor"].startswith("2 texts")
    plot = tmp_path / "curve.png"
    metrics = _refresh("metrics", "--json", "--plot", str(plot))
    assert [m["bwt"] for m in json.loads(metrics.stdout)] == [record["bwt"]]
    assert plot.stat().st_size > 1000
    evaluation = json.loads(_refresh("eval", "--json").stdout)
    assert evaluation["anchor_perplexity"] == pytest.approx(record["anchor_after"], rel=1e-3)

    assert _refresh("domain", "sports").returncode == 0
    listing = json.loads(_refresh("domain", "--json").stdout)
    assert listing == {"active": "sports", "domains": ["default", "sports"]}
    assert "sports" in _refresh("domain").stdout  # the same as a table
    empty = _refresh("run")
    assert empty.returncode != 0 and "inbox is empty" in empty.stderr


def test_schedule_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    model = ["--model", str(save_tiny_model(tmp_path / "tiny"))]
    news = tmp_path / "news.txt"
    news.write_text("The Kestrel-9 probe reached the moon Ilvar in 2031.")
    assert cli(*model, "refresh", "add", str(news), env=FAST).returncode == 0
    command = [sys.executable, "-m", "continual_learning.cli.main", *model, "refresh", "schedule"]
    process = subprocess.Popen(
        [*command, "--every", "0.0005"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **FAST},
    )
    workspace = Path(os.environ["CL_WORKSPACE"])
    inbox = workspace / "refresh" / "inbox"
    deadline = time.monotonic() + 300
    while any(inbox.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)  # the first cycle consumes the inbox
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "Stopped after 1 cycles" in stdout
    status = json.loads(cli(*model, "refresh", "status", "--json").stdout)
    assert status["cycles"] == 1 and status["inbox_documents"] == 0
