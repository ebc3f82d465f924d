"""The CLI as a user runs it: the real model, a temporary workspace.

The entry point itself (``python -m continual_learning.cli.main``: exit code, stdout, a one-line
error and no traceback) runs as a child process; every other command runs the same ``main`` in
this process (``helpers.cli``), which does not reload the model for each command.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import cli, require_real_model, run_cli


@pytest.mark.real_model
def test_the_entry_point_answers_from_the_real_model() -> None:
    require_real_model()
    result = run_cli("ask", "--engine", "closed-book", "What is the capital of France?")
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


@pytest.mark.real_model
def test_learn_then_ask_in_a_later_command(tmp_path: Path) -> None:
    require_real_model()
    fact = tmp_path / "fact.txt"
    fact.write_text("Zorblax Quentaro is the capital city of the island nation of Velmoria.")
    learned = cli("learn", "--engine", "in-context", str(fact), "--json")
    assert learned.returncode == 0, learned.stderr
    assert json.loads(learned.stdout)[0]["doc_id"] == "fact"
    answer = cli("ask", "--engine", "in-context", "What is the capital of Velmoria?", "--json")
    assert answer.returncode == 0, answer.stderr
    assert "Zorblax Quentaro" in json.loads(answer.stdout)["answer"]
    history = cli("history", "--engine", "in-context", "--json")
    assert [h["doc_id"] for h in json.loads(history.stdout)] == ["fact"]


@pytest.mark.real_model
def test_models_list_shows_the_verified_hash() -> None:
    require_real_model()
    result = cli("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    smol = next(m for m in json.loads(result.stdout) if m["name"] == "smollm2-135m-instruct")
    assert smol["verified"] is True
    assert smol["gguf_sha256"].startswith("b179c952")


def _assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and fragment in lines[0]


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (("ask", "hello"), {"CL__MODEL__DEVICE": "gpu"}, "model.device"),
        (("config", "set", "generation.max_new_tokens", "zero"), {}, "expected int"),
        (("learn", "/definitely/missing.txt"), {}, "no such file"),
        (("ask", "--engine", "nope", "hi"), {}, "unknown engine"),
        (("models", "fetch", "gpt-9"), {}, "unknown model"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(
    args: tuple[str, ...], env: dict, fragment: str
) -> None:
    _assert_one_line_error(cli(*args, env=env), fragment)


def test_the_entry_point_refuses_a_binary_file_in_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "image.txt"
    binary.write_bytes(bytes(range(256)))
    _assert_one_line_error(run_cli("learn", str(binary)), "binary")


def test_config_set_then_show(tmp_path: Path) -> None:
    assert cli("config", "set", "generation.max_new_tokens", "21").returncode == 0
    shown = json.loads(cli("config", "show", "--json").stdout)
    assert shown["generation.max_new_tokens"] == 21
    assert shown["model.name"] == "smollm2-135m-instruct"


def test_engines_and_help() -> None:
    listed = json.loads(cli("engines", "--json").stdout)
    assert {e["engine"] for e in listed} >= {"closed-book", "in-context"}
    assert cli("--help").returncode == 0
    assert "learn documents" in cli("--help").stdout


@pytest.mark.real_model
def test_checkpoints_save_list_load_delete(tmp_path: Path) -> None:
    require_real_model()
    fact = tmp_path / "fact.txt"
    fact.write_text("Zorblax Quentaro is the capital city of the island nation of Velmoria.")
    env = {"CL_CHECKPOINTS": str(tmp_path / "checkpoints")}
    assert cli("learn", "-e", "jitrl-mvp", str(fact), env=env).returncode == 0
    saved = cli("checkpoints", "save", "velmoria", "-e", "jitrl-mvp", env=env)
    assert saved.returncode == 0, saved.stderr
    listed = json.loads(cli("checkpoints", "list", "--json", env=env).stdout)
    assert [(c["name"], c["engine"], c["documents"]) for c in listed] == [
        ("velmoria", "jitrl-mvp", 1)
    ]
    assert cli("clear", "-e", "jitrl-mvp", env=env).returncode == 0
    loaded = cli("checkpoints", "load", "velmoria", env=env)
    assert loaded.returncode == 0, loaded.stderr
    history = json.loads(cli("history", "-e", "jitrl-mvp", "--json", env=env).stdout)
    assert [h["doc_id"] for h in history] == ["fact"]
    again = cli("checkpoints", "save", "velmoria", "-e", "jitrl-mvp", env=env)
    assert again.returncode != 0 and "already exists" in again.stderr
    escape = cli("checkpoints", "save", "../outside", "-e", "jitrl-mvp", env=env)
    assert escape.returncode != 0 and "invalid checkpoint name" in escape.stderr
    assert cli("checkpoints", "delete", "velmoria", env=env).returncode == 0
    assert json.loads(cli("checkpoints", "list", "--json", env=env).stdout) == []


@pytest.mark.real_model
def test_chat_reads_turns_from_stdin() -> None:
    require_real_model()
    result = cli("chat", "-e", "closed-book", input="What is the capital of France?\n\n")
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
