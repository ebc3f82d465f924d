"""The menu's engine items (declared by the engines, ``engines/actions.py``), driven in a real
pseudo-terminal on the tiny model (plumbing: these items move playbooks, modes and refresh
cycles, not knowledge)."""

from __future__ import annotations

import json
from pathlib import Path

import pexpect

from menu_driver import DOWN, ENTER, MAIN_ITEMS, choose, expect_text, spawn_menu

from helpers import save_tiny_model

ENGINES = [
    "closed-book",
    "in-context",
    "oracle-context",
    "ttt-e2e",
    "jitrl-mvp",
    "jitrl-full",
    "ace",
    "doc2lora",
]
ENGINES += ["replay-lora"]


def _items(engine_items: list[str]) -> list[str]:
    return [*MAIN_ITEMS[:7], *engine_items, *MAIN_ITEMS[7:]]


def _choose(child: pexpect.spawn, item: str, items: list[str]) -> None:
    choose(child, item, items)


def _select_engine(child: pexpect.spawn, engine: str) -> None:
    _choose(child, "Select Engine", MAIN_ITEMS)
    choose(child, engine, ENGINES, question="Engine:")
    expect_text(child, f"engine {engine}")


def _menu(tmp_path: Path, **env: str) -> pexpect.spawn:
    model = save_tiny_model(tmp_path / "tiny")
    workspace = str(tmp_path / "workspace")
    return spawn_menu(tmp_path, "--model", str(model), "--workspace", workspace, **env)


def _exit(child: pexpect.spawn, items: list[str]) -> None:
    _choose(child, "Exit", items)
    child.expect("Bye.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")


def test_ace_items_save_list_load_and_show_a_playbook(tmp_path: Path) -> None:
    child = _menu(tmp_path, CL__ACE__PLAYBOOK_DIR=str(tmp_path / "playbooks"))
    _select_engine(child, "ace")
    items = _items(["List Playbooks", "Show Playbook", "Save Playbook", "Load Playbook"])
    _choose(child, "List Playbooks", items)
    expect_text(child, "No playbooks in")
    _choose(child, "Load Playbook", items)
    expect_text(child, "Nothing to choose from yet.")
    _choose(child, "Save Playbook", items)
    child.expect("Save the playbook as:")
    child.send("team-notes" + ENTER)
    expect_text(child, "Saved the playbook as 'team-notes'")
    _choose(child, "List Playbooks", items)
    expect_text(child, "team-notes")
    _choose(child, "Load Playbook", items)
    child.expect("Playbook to load:")
    child.send(ENTER)
    expect_text(child, "ACE engine now uses 'team-notes' (0 bullets)")
    _choose(child, "Show Playbook", items)
    expect_text(child, "The playbook is empty")
    _exit(child, items)
    saved = json.loads((tmp_path / "playbooks" / "team-notes.json").read_text())
    assert saved["bullets"] == []


def test_doc2lora_switch_mode_shows_the_mode_in_the_header(tmp_path: Path) -> None:
    child = _menu(tmp_path, CL_CONFIG=str(tmp_path / "user.yaml"))
    _select_engine(child, "doc2lora")
    expect_text(child, "(mode doc)")  # the rest of the header _select_engine read
    items = _items(["Switch Mode (doc / text)"])
    _choose(child, "Switch Mode (doc / text)", items)
    child.expect("Mode")
    child.send(DOWN + ENTER)  # text
    expect_text(child, "Doc-to-LoRA now reads a short task description")
    expect_text(child, "engine doc2lora (mode text)")
    _exit(child, items)
    assert "mode: text" in (tmp_path / "user.yaml").read_text()


def test_replay_lora_items_run_the_refresh_wheel(tmp_path: Path) -> None:
    news = tmp_path / "news.txt"
    news.write_text("The Quorvel Bridge in the town of Dask is painted lime green.")
    anchor = tmp_path / "anchor.txt"
    anchor.write_text("General text that the model must keep predicting well, paragraph one.")
    child = _menu(tmp_path, CL__REPLAY_LORA__EPOCHS="1", CL__REPLAY_LORA__RANK="2")
    _select_engine(child, "replay-lora")
    labels = ["Add Data", "Set Anchor", "Run a Cycle", "Status"]
    labels += ["Metrics and Forgetting Curve", "Anchor Perplexity", "Switch Domain"]
    items = _items([f"Refresh: {label}" for label in labels])
    _choose(child, "Refresh: Add Data", items)
    child.expect("File or folder:")
    child.send(str(news) + ENTER)
    expect_text(child, "Queued 1 documents; 1 wait for the next cycle")
    _choose(child, "Refresh: Set Anchor", items)
    child.expect("Anchor file:")
    child.send(str(anchor) + ENTER)
    expect_text(child, "Anchor set: 1 texts")
    _choose(child, "Refresh: Run a Cycle", items)
    expect_text(child, "Refresh cycle", timeout=120)
    _choose(child, "Refresh: Status", items)
    child.expect(r"1 \([01] rolled back\)")  # the tiny model may well be rolled back
    plot = tmp_path / "curve.png"
    _choose(child, "Refresh: Metrics and Forgetting Curve", items)
    child.expect("Save the curve to:")
    child.send("\x15" + str(plot) + ENTER)  # Ctrl-U clears the default first
    expect_text(child, "Saved ")  # the face draws the curve the action returns
    _choose(child, "Refresh: Anchor Perplexity", items)
    expect_text(child, "Anchor perplexity")
    _choose(child, "Refresh: Switch Domain", items)
    child.expect("Domain")
    child.send("legal" + ENTER)
    expect_text(child, "Active domain: legal")
    _exit(child, items)
    assert plot.read_bytes().startswith(b"\x89PNG")
