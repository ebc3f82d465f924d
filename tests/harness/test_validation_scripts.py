"""The GPU validation scripts' quick mode on the real model, as CI runs them on a CPU: each
prints its table, writes JSON, and exits non-zero when a check fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

pytestmark = pytest.mark.real_model
SHORT_ANSWERS = {"CL__GENERATION__MAX_NEW_TOKENS": "24"}
"""The facts' answers are a short sentence: 24 tokens hold them (the default is 64)."""


def _run(
    script: str, tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> tuple[int, dict]:
    out = tmp_path / f"{script}.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / f"{script}.py"), "--quick", "--device", "cpu",
         "--json", str(out), *options],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert out.is_file(), done.stdout + done.stderr
    return done.returncode, json.loads(out.read_text())


@pytest.mark.slow
def test_validate_ttt_fails_only_the_check_whose_threshold_is_impossible(tmp_path: Path) -> None:
    code, result = _run("validate_ttt", tmp_path, "--max-forgetting", "0.0")
    failed = [c["name"] for c in result["checks"] if not c["passed"]]
    assert code == 1 and result["passed"] is False
    assert failed == ["held-out perplexity after / before"], result["checks"]
    assert "lime green" in result["figures"]["answer"].lower()


@pytest.mark.slow
def test_validate_jitrl_passes(tmp_path: Path) -> None:
    code, result = _run("validate_jitrl", tmp_path, env=SHORT_ANSWERS)
    assert code == 0 and result["passed"], result["checks"]
    assert result["figures"]["jitrl-mvp"]["contains"] >= 0.5


@pytest.mark.slow
def test_validate_doc2lora_passes(tmp_path: Path) -> None:
    code, result = _run("validate_doc2lora", tmp_path, env=SHORT_ANSWERS)
    assert code == 0 and result["passed"], result["checks"]
    assert (
        result["figures"]["gold_answer_loss_lora"]
        < result["figures"]["gold_answer_loss_closed_book"]
    )
