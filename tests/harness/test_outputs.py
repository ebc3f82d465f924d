"""What a benchmark records about how it ran."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from continual_learning.harness.outputs import reproducing_command

from helpers import REPO


def test_the_recorded_command_reruns_with_the_same_settings_and_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command a JSON records, pasted into a shell, runs the script with the same ``CL__``
    overrides (values with spaces and brackets intact) and the same arguments."""
    monkeypatch.setenv("CL__DOC2LORA__TARGET_MODULES", "[down_proj, o_proj]")
    monkeypatch.setenv("CL_PROFILE", "configs/qwen2.5-1.5b.yaml")
    monkeypatch.setenv("CL_CONFIG", str(tmp_path / "private.yaml"))  # a file, not a setting
    script = tmp_path / "echo run.py"
    script.write_text(
        "import json, os, sys\n"
        "names = [n for n in sorted(os.environ) if n.startswith('CL')]\n"
        "print(json.dumps([{n: os.environ[n] for n in names}, sys.argv[1:]]))\n",
        encoding="utf-8",
    )
    command = reproducing_command([str(script), "--squad", "dev v2.json", "--steps", "3"])

    # A clean shell (env -i): only what the command itself sets reaches the script.
    ran = subprocess.run(
        ["env", "-i", "bash", "-c", command], cwd=REPO, capture_output=True, text=True, check=True
    )
    settings, arguments = json.loads(ran.stdout)
    assert settings["CL__DOC2LORA__TARGET_MODULES"] == "[down_proj, o_proj]"
    assert settings["CL_PROFILE"] == "configs/qwen2.5-1.5b.yaml"
    assert "CL_CONFIG" not in settings
    assert arguments == ["--squad", "dev v2.json", "--steps", "3"]
    assert ".venv/bin/python" in command
