"""``scripts/train_hypernetwork.py`` as a user runs it: a subprocess, a SQuAD file, a run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from continual_learning.engines.doc2lora.weights_file import load_hypernetwork

from helpers import REPO, require_real_model, squad_article, write_squad

SCRIPT = REPO / "scripts" / "train_hypernetwork.py"


def _squad_file(folder: Path) -> Path:
    data = [
        squad_article(
            "Velmoria",
            "Zorblax Quentaro is the capital of Velmoria. Its money is the drem.",
            [("What is the capital of Velmoria?", "Zorblax Quentaro"), ("Who rules Mars?", None)],
        ),
        squad_article(
            "Plume",
            "Ardent Plume founded Zorblax Quentaro in 1843.",
            [("Who founded Zorblax Quentaro?", "Ardent Plume")],
        ),
        squad_article(
            "Drem", "The drem is the money of Velmoria.", [("What is the drem?", "money")]
        ),
    ]
    return write_squad(folder / "squad.json", data)


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CL__MODEL__DEVICE="cpu", CL__GENERATION__MAX_NEW_TOKENS="8")
    command = [sys.executable, str(SCRIPT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def test_unanswerable_questions_need_teacher_answers(tmp_path: Path) -> None:
    result = _run("--squad", tmp_path / "x.json", "--run-dir", tmp_path, "--include-unanswerable")
    assert result.returncode == 2
    assert "--include-unanswerable needs --answers teacher" in result.stderr


@pytest.mark.real_model
@pytest.mark.slow
def test_training_on_teacher_replies_writes_them_once_and_ships_a_card(tmp_path: Path) -> None:
    require_real_model()
    squad, run_dir, output = _squad_file(tmp_path), tmp_path / "run", tmp_path / "out.safetensors"
    common = ["--squad", squad, "--heldout-articles", "2", "--eval-examples", "1"]
    common += ["--answers", "teacher"]
    common += ["--include-unanswerable", "--run-dir", run_dir, "--output", output]
    first = _run(*common, "--steps", "2", "--eval-every", "1")
    assert first.returncode == 0, first.stderr
    replies = json.loads((run_dir / "teacher_answers.json").read_text(encoding="utf-8"))
    assert [q for q, _ in replies[0]["qa"]] == [
        "What is the capital of Velmoria?",
        "Who rules Mars?",
    ]
    assert all(reply for _, reply in replies[0]["qa"])  # the teacher's words, not the gold span
    # Of the two held-out paragraphs only the one evaluated (--eval-examples 1) is answered.
    heldout = json.loads((run_dir / "heldout_teacher_answers.json").read_text(encoding="utf-8"))
    assert [row["qa"][0][0] for row in heldout] == ["Who founded Zorblax Quentaro?"]
    _, card = load_hypernetwork(output)
    assert card.steps == 2 and "teacher's own replies" in card.data
    assert [row["step"] for row in card.evaluation["heldout_kl"]] == [0, 1, 2]

    # A resumed run trains on the replies already written (here marked), never writes new ones.
    replies[0]["qa"][0][1] = "Zorblax Quentaro, as the teacher said earlier."
    cache = run_dir / "teacher_answers.json"
    cache.write_text(json.dumps(replies), encoding="utf-8")
    resumed = _run(*common, "--steps", "3", "--eval-every", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(cache.read_text(encoding="utf-8")) == replies
    assert load_hypernetwork(output)[1].steps == 3


@pytest.mark.real_model
def test_training_on_the_first_paragraphs_only(tmp_path: Path) -> None:
    """``--train-paragraphs N``: the overfitting check trains on N paragraphs, and says so."""
    require_real_model()
    articles = [
        squad_article(
            "Drem", "The drem is the money of Velmoria.", [("What is the drem?", "money")]
        ),
        squad_article("Empty", "Nobody asked about this.", [("Who rules Mars?", None)]),
        squad_article("Plume", "Ardent Plume founded it in 1843.", [("When?", "1843")]),
        squad_article("Held", "Held out.", [("What is held?", "out")]),
    ]
    squad = write_squad(tmp_path / "squad.json", articles)
    output = tmp_path / "out.safetensors"
    result = _run(
        *("--squad", squad, "--heldout-articles", "1", "--train-paragraphs", "1"),
        *("--steps", "1", "--eval-every", "1", "--run-dir", tmp_path / "run", "--output", output),
    )
    assert result.returncode == 0, result.stderr
    _, card = load_hypernetwork(output)
    assert "1 SQuAD questions" in card.data
    assert "1 training paragraphs (the first answerable ones only)" in card.data
