"""Several processes on one workspace, as users run them: nothing learned is lost, nothing hangs.

Real CLI processes, on the tiny model: the locks, the waiting and a process killed mid-write are
the point, not what is learned. Nothing here depends on timing luck: a ``learn`` is watched
through its progress lines (plain lines: its output is a file) until it is training, and then
frozen with SIGSTOP while it holds the lock, so the next process meets the lock for certain; it
is thawed with SIGCONT once that has been seen.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import cli, save_tiny_model

FACTS = {
    "bridge": "The Quorvel Bridge in the town of Dask is painted lime green.",
    "airship": "The airship Kestrel-9 was captained by Ingrid Solvay for eleven years.",
    "lake": "Lake Ombrine freezes every winter and the fishermen of Tallow cut holes in it.",
    "tower": "The clock tower of Veshtar chimes thirteen times at noon on market days.",
}
SETTINGS = {
    "CL__TTT_E2E__CALIBRATION_SAMPLES": "8",
    "CL__REPLAY_LORA__ANCHOR_SAMPLES": "4",
    "CL__GENERATION__MAX_NEW_TOKENS": "4",
}
LONG_TRAINING = {"CL__TTT_E2E__EPOCHS": "100", "CL__REPLAY_LORA__EPOCHS": "100"}
"""For the process that is caught training (a few seconds on the tiny model)."""
TRAINING = {"ttt-e2e": "learn  ", "replay-lora": "train  "}
"""The progress line each engine prints once it trains, holding the workspace's lock."""


@pytest.fixture
def tiny_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The tiny model for every process of the test (children inherit the environment), and
    the documents to learn."""
    monkeypatch.setenv("CL__MODEL__NAME", str(save_tiny_model(tmp_path / "tiny")))
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "docs"
    folder.mkdir()
    paths = {}
    for name, text in FACTS.items():
        paths[name] = folder / f"{name}.txt"
        paths[name].write_text(text)
    return paths


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "continual_learning.cli.main", *args]


def _start_learning(log: Path, engine: str, document: Path) -> subprocess.Popen[bytes]:
    """A ``learn`` in its own process, watched until it trains (holding the lock)."""
    with log.open("w") as sink:
        process = subprocess.Popen(
            _command("learn", "--engine", engine, str(document)),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **LONG_TRAINING},
        )
    _wait_for(log, TRAINING[engine], process)
    return process


def _wait_for(log: Path, text: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while text not in log.read_text():
        assert process.poll() is None, f"ended before '{text}':\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no '{text}' in:\n{log.read_text()}"
        time.sleep(0.05)


@contextmanager
def _frozen(process: subprocess.Popen) -> Iterator[None]:
    """Inside: ``process`` is stopped where it is, its lock held."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def _history(engine: str) -> list[str]:
    result = cli("history", "--engine", engine, "--json")
    assert result.returncode == 0, result.stderr
    return [row["doc_id"] for row in json.loads(result.stdout)]


@pytest.mark.slow
def test_two_learns_at_once_both_end_up_learned(
    tiny_workspace: dict[str, Path], tmp_path: Path
) -> None:
    docs = tiny_workspace
    first = _start_learning(tmp_path / "first.log", "ttt-e2e", docs["bridge"])
    with _frozen(first):
        second_log = tmp_path / "second.log"
        with second_log.open("w") as sink:
            second = subprocess.Popen(
                _command("learn", "--engine", "ttt-e2e", str(docs["airship"])),
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        _wait_for(second_log, "waiting for another process changing ttt_e2e", second)
    assert first.wait(timeout=600) == 0, (tmp_path / "first.log").read_text()
    assert second.wait(timeout=600) == 0, second_log.read_text()
    assert _history("ttt-e2e") == ["bridge", "airship"]

    third = _start_learning(tmp_path / "third.log", "ttt-e2e", docs["lake"])
    with _frozen(third):
        refused = subprocess.run(
            _command("--no-wait", "learn", "--engine", "ttt-e2e", str(docs["tower"])),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert third.wait(timeout=600) == 0
    assert refused.returncode == 7
    assert "another process is changing ttt_e2e" in refused.stderr
    assert _history("ttt-e2e") == ["bridge", "airship", "lake"]


@pytest.mark.parametrize("engine", ["ttt-e2e", "replay-lora"])
def test_a_learn_killed_mid_way_leaves_the_earlier_state_and_no_lock(
    engine: str, tiny_workspace: dict[str, Path], tmp_path: Path
) -> None:
    docs = tiny_workspace
    assert cli("learn", "--engine", engine, str(docs["bridge"])).returncode == 0
    doomed = _start_learning(tmp_path / "doomed.log", engine, docs["airship"])
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=60)
    assert _history(engine) == ["bridge"]
    answer = cli("ask", "--engine", engine, "What colour is the Quorvel Bridge?", "--json")
    assert answer.returncode == 0, answer.stderr
    after = cli("--no-wait", "learn", "--engine", engine, str(docs["lake"]))
    assert after.returncode == 0, after.stderr  # the dead process's lock went with it
    assert _history(engine) == ["bridge", "lake"]
