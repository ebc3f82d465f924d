"""Driving the real menu in a pseudo-terminal: keys, the spawn, reading Rich's screen."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect

DOWN, ENTER = "\x1b[B", "\r"
MAIN_ITEMS = [
    "Ask a Question",
    "Chat with Model",
    "Learn from Document",
    "Learn from Directory",
    "Select Engine",
    "Model Info",
    "Learning History",
    "Compare All Engines",
    "Run Benchmarks",
    "Save Checkpoint",
    "Load Checkpoint",
    "List Checkpoints",
    "Delete Checkpoint",
    "Clear Engine",
    "Configure",
    "Exit",
]
# After a comparison, its forgetting metrics get an item of their own.
ITEMS_AFTER_A_COMPARISON = [*MAIN_ITEMS[:9], "View Forgetting Metrics", *MAIN_ITEMS[9:]]


def spawn_menu(tmp_path: Path, *options: str, **env_extra: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "50", **env_extra}
    env["CL_CHECKPOINTS"] = str(tmp_path / "checkpoints")
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"  # pexpect answers no cursor-position requests
    return pexpect.spawn(
        sys.executable,
        ["-m", "continual_learning.cli.main", *options],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 120),
        cwd=str(tmp_path),
    )


def expect_text(child: pexpect.spawn, text: str, timeout: int = 30) -> None:
    """Match ``text`` even where Rich put colour codes between its words."""
    ansi = r"(?:\x1b\[[0-9;?]*[A-Za-z]|\s)*"
    child.expect(ansi.join(re.escape(word) for word in text.split()), timeout=timeout)


def choose(
    child: pexpect.spawn,
    item: str,
    items: list[str],
    question: str = "What would you like to do?",
) -> None:
    """Move the pointer down to ``item`` and press Enter, one key per redraw.

    prompt_toolkit reads keys only once it has put the terminal in raw mode (echo off), and a
    burst of escape sequences can be misread: so wait for raw mode, then for the pointer to
    reach each next item before pressing the next key. No fixed sleeps.
    """
    child.expect(question)
    child.waitnoecho(timeout=30)
    for position in range(1, items.index(item) + 1):
        child.send(DOWN)
        expect_text(child, f"» {items[position]}")
    child.send(ENTER)
