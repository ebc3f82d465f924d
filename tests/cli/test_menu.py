"""Drive the real menu in a pseudo-terminal, as a person would, and read the screen."""

from __future__ import annotations

import json
from pathlib import Path

import pexpect
import pytest

from menu_driver import (
    DOWN,
    ENTER,
    ITEMS_AFTER_A_COMPARISON,
    MAIN_ITEMS,
    choose,
    expect_text,
    spawn_menu,
)

from helpers import require_real_model, save_tiny_model


def _choose(child: pexpect.spawn, item: str, items: list[str] = MAIN_ITEMS) -> None:
    choose(child, item, items)


def _tiny_menu(tmp_path: Path, workspace: Path, **env: str) -> pexpect.spawn:
    """The menu on the tiny model (plumbing), answering two tokens at a time."""
    model = save_tiny_model(tmp_path / "tiny")
    return spawn_menu(
        tmp_path,
        "--model",
        str(model),
        "--workspace",
        str(workspace),
        CL__GENERATION__MAX_NEW_TOKENS="2",
        **env,
    )


@pytest.mark.real_model
def test_select_learn_ask_and_exit(tmp_path: Path) -> None:
    require_real_model()
    fact = tmp_path / "fact.txt"
    fact.write_text("Zorblax Quentaro is the capital city of the island nation of Velmoria.")
    child = spawn_menu(tmp_path)
    _choose(child, "Select Engine")
    child.expect("Engine:")
    child.send(DOWN + ENTER)  # closed-book, then in-context
    expect_text(child, "engine in-context")
    _choose(child, "Learn from Document")
    child.expect("Document")
    child.send(str(fact) + ENTER)
    expect_text(child, "Learned", timeout=180)
    _choose(child, "Ask a Question")
    child.expect("Question:")
    child.send("What is the capital of Velmoria?" + ENTER)
    expect_text(child, "Answer:", timeout=180)
    expect_text(child, "Zorblax Quentaro")
    _choose(child, "Save Checkpoint")
    child.expect("Checkpoint name:")
    child.send("velmoria-menu" + ENTER)
    expect_text(child, "Saved checkpoint 'velmoria-menu'")
    _choose(child, "List Checkpoints")
    expect_text(child, "velmoria-menu")
    expect_text(child, "in-context")
    _choose(child, "Exit")
    child.expect("Bye.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_at_a_sub_prompt_returns_and_at_the_main_menu_exits(tmp_path: Path) -> None:
    child = spawn_menu(tmp_path)
    _choose(child, "Ask a Question")
    child.expect("Question:")
    child.sendcontrol("c")
    child.expect("What would you like to do?")
    child.sendcontrol("c")
    child.expect("Bye.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")


@pytest.mark.parametrize("item", ["Learn from Document"])
def test_invalid_input_re_prompts(tmp_path: Path, item: str) -> None:
    child = spawn_menu(tmp_path)
    _choose(child, item)
    child.expect("Document")
    child.send("/no/such/file.txt" + ENTER)
    child.expect("No such file")
    child.sendcontrol("c")
    child.expect("What would you like to do?")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)


def test_run_benchmarks_shows_the_comparison_table_and_saves_it(tmp_path: Path) -> None:
    """The menu's benchmark runs the harness (on the tiny model: plumbing, not quality)."""
    workspace = tmp_path / "workspace"
    child = _tiny_menu(tmp_path, workspace)
    _choose(child, "Run Benchmarks")
    child.expect("Benchmark:")
    child.send(ENTER)  # Fictional facts
    child.expect("Fact set:")
    child.send(ENTER)  # shipped
    child.expect("Engines")
    child.send(ENTER)  # no extra engine: the floor and the ceiling only
    expect_text(child, "fictional-facts: 48 questions", timeout=300)
    expect_text(child, "closed-book")
    child.expect("Save the report")
    child.send("y")
    child.expect("Folder:")
    child.send(ENTER)  # the default: a folder of its own under the workspace
    expect_text(child, "predictions: 3 files in")
    _choose(child, "View Forgetting Metrics", ITEMS_AFTER_A_COMPARISON)
    expect_text(child, "Forgetting on fictional-facts")
    _choose(child, "Exit", ITEMS_AFTER_A_COMPARISON)
    child.expect(pexpect.EOF)
    (folder,) = (workspace / "reports").iterdir()
    report = json.loads((folder / "report.json").read_text())
    assert [e["engine"] for e in report["engines"]] == [
        "closed-book",
        "in-context",
        "oracle-context",
    ]
    assert (folder / "report.png").read_bytes().startswith(b"\x89PNG")
    predictions = json.loads((folder / "predictions" / "closed-book.json").read_text())
    assert len(predictions) == 48


def test_the_stream_benchmark_shows_the_accuracy_matrix_figures_and_saves_them(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "workspace"
    child = _tiny_menu(tmp_path, workspace)
    _choose(child, "Run Benchmarks")
    child.expect("Benchmark:")
    child.send(DOWN + ENTER)  # Fictional facts as a stream
    child.expect("Fact set:")
    child.send(DOWN + ENTER)  # the tuning half of the 45-document set
    child.expect("Episodes:")
    child.send("\b2" + ENTER)
    child.expect("Document orders:")
    child.send("\b2" + ENTER)
    child.expect("Engines")
    child.send(ENTER)
    expect_text(child, "2 episodes (by document), 2 orders", timeout=300)
    child.expect("Save the report")
    child.send("y")
    child.expect("Folder:")
    child.send(ENTER)
    expect_text(child, "HTML page: ")
    _choose(child, "Exit")
    child.expect(pexpect.EOF)
    (folder,) = (workspace / "reports").iterdir()
    report = json.loads((folder / "stream.json").read_text())
    assert report["seeds"] == [0, 1] and len(report["runs"]) == 6
    assert (folder / "stream.png").read_bytes().startswith(b"\x89PNG")


def test_squad_benchmark_can_learn_only_the_held_out_articles(
    tmp_path: Path, squad_dev_path: Path
) -> None:
    child = _tiny_menu(tmp_path, tmp_path / "workspace", CL__SQUAD__PATH=str(squad_dev_path))
    _choose(child, "Run Benchmarks")
    child.expect("Benchmark:")
    child.send(DOWN + DOWN + ENTER)  # SQuAD
    child.expect("Paragraphs to learn:")
    child.send("\b\b2" + ENTER)  # replace the default 50
    child.expect("Draw the paragraphs from:")
    child.send(DOWN + ENTER)  # the last articles only
    child.expect("Engines")
    child.send(ENTER)
    expect_text(child, "last-articles=5", timeout=300)
    child.expect("Save the report")
    child.send("n")
    _choose(child, "Exit", ITEMS_AFTER_A_COMPARISON)
    child.expect(pexpect.EOF)
