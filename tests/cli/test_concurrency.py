"""Several processes on one workspace, as users run them: nothing learned is lost, nothing hangs.

Real CLI processes on the real model. Each slow ``learn`` is watched through its progress lines
(plain lines: its output is a file), so the second process starts while the first one is
training, not before or after by luck.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.real_model

FACTS = {
    "bridge": "The Quorvel Bridge in the town of Dask is painted lime green.",
    "airship": "The airship Kestrel-9 was captained by Ingrid Solvay for eleven years.",
    "lake": "Lake Ombrine freezes every winter and the fishermen of Tallow cut holes in it.",
    "tower": "The clock tower of Veshtar chimes thirteen times at noon on market days.",
}
FAST = {
    "CL__TTT_E2E__CALIBRATION_SAMPLES": "16",
    "CL__REPLAY_LORA__EPOCHS": "3",
    "CL__REPLAY_LORA__ANCHOR_SAMPLES": "4",
}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "continual_learning.cli.main", *args]


def _documents(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in FACTS.items():
        paths[name] = folder / f"{name}.txt"
        paths[name].write_text(text)
    return paths


SLOW = {"CL__TTT_E2E__EPOCHS": "80"}
"""For the process that must still be training when the next one starts (15-20 s here)."""


def _start(log: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    sink = log.open("w")
    return subprocess.Popen(
        _command(*args),
        stdout=sink,
        stderr=subprocess.STDOUT,
        env={**os.environ, **FAST, **(env or {})},
    )


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while text not in log.read_text():
        assert process.poll() is None, f"ended before '{text}':\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no '{text}' in:\n{log.read_text()}"
        time.sleep(0.1)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args),
        capture_output=True,
        text=True,
        env={**os.environ, **FAST},
        timeout=600,
        check=False,
    )


def _history(engine: str) -> list[str]:
    result = _run("history", "--engine", engine, "--json")
    assert result.returncode == 0, result.stderr
    return [row["doc_id"] for row in json.loads(result.stdout)]


def test_two_learns_at_once_both_end_up_learned(tmp_path: Path) -> None:
    docs = _documents(tmp_path / "docs")
    first = _start(
        tmp_path / "first.log", "learn", "--engine", "ttt-e2e", str(docs["bridge"]), env=SLOW
    )
    _wait_for(tmp_path / "first.log", "learn  ", first)  # training: the lock is held
    second = _run("learn", "--engine", "ttt-e2e", str(docs["airship"]))
    assert first.wait(timeout=600) == 0, (tmp_path / "first.log").read_text()
    assert second.returncode == 0, second.stderr
    assert "waiting for another process changing ttt_e2e" in second.stderr
    assert _history("ttt-e2e") == ["bridge", "airship"]

    third = _start(
        tmp_path / "third.log", "learn", "--engine", "ttt-e2e", str(docs["lake"]), env=SLOW
    )
    _wait_for(tmp_path / "third.log", "learn  ", third)
    refused = _run("--no-wait", "learn", "--engine", "ttt-e2e", str(docs["tower"]))
    assert third.wait(timeout=600) == 0
    assert refused.returncode == 7
    assert "another process is changing ttt_e2e" in refused.stderr
    assert _history("ttt-e2e") == ["bridge", "airship", "lake"]


@pytest.mark.parametrize(
    ("engine", "training"), [("ttt-e2e", "learn  "), ("replay-lora", "train  ")]
)
def test_a_learn_killed_mid_way_leaves_the_earlier_state_and_no_lock(
    engine: str, training: str, tmp_path: Path
) -> None:
    docs = _documents(tmp_path / "docs")
    assert _run("learn", "--engine", engine, str(docs["bridge"])).returncode == 0
    doomed = _start(
        tmp_path / "doomed.log", "learn", "--engine", engine, str(docs["airship"]), env=SLOW
    )
    _wait_for(tmp_path / "doomed.log", training, doomed)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=60)
    assert _history(engine) == ["bridge"]
    answer = _run("ask", "--engine", engine, "What colour is the Quorvel Bridge?", "--json")
    assert answer.returncode == 0, answer.stderr
    after = _run("--no-wait", "learn", "--engine", engine, str(docs["lake"]))
    assert after.returncode == 0, after.stderr  # the dead process's lock went with it
    assert _history(engine) == ["bridge", "lake"]
