"""``scripts/bench_scope.py`` as a user runs it: where scope thresholds fall, no model needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import REPO


def test_bench_scope_reports_the_share_in_scope_per_threshold(tmp_path: Path) -> None:
    output = tmp_path / "scope.json"
    command = [sys.executable, str(REPO / "scripts" / "bench_scope.py")]
    command += ["--squad", str(tmp_path / "no-squad.json"), "--json", str(output)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "the fact set only" in " ".join(done.stdout.split())  # no SQuAD: said, skipped
    facts = json.loads(output.read_text())["facts"]
    learned = facts["learned questions"]
    assert len(learned["similarities"]) == 48
    assert learned["in_scope"]["0.2"] == 1.0  # every question about a learned fact is in scope
    # Without SQuAD the held-out texts are the 10 shipped general paragraphs: one reaches 0.2.
    assert facts["held-out paragraphs"]["in_scope"]["0.2"] <= 0.1
