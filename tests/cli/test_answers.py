"""Answers that stop: the loop a user met after TTT-E2E learned one sentence (issue 26).

The CLI on the real model: ``learn``, then ``ask`` in a later command, with the
repetition stop off (the loop, to the token limit) and on, as it is by default (said once,
then done).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.core.scoring import repeats_itself, without_repetition

from helpers import cli

pytestmark = pytest.mark.real_model

FACT = "The Quorvel Bridge in the town of Dask is painted lime green."
QUESTION = "What colour is the Quorvel Bridge?"


@pytest.mark.slow
def test_an_answer_that_starts_repeating_itself_is_stopped_there(tmp_path: Path) -> None:
    fact = tmp_path / "bridge.txt"
    fact.write_text(FACT)
    # Learned as the user learned it then: without the forgetting guard, which now keeps this
    # one-sentence fact from looping in the first place (docs/results.md#self-study).
    env = {"CL_WORKSPACE": str(tmp_path / "ws"), "CL__TTT_E2E__GUARD_SHARE": "0"}
    learned = cli("learn", "--engine", "ttt-e2e", str(fact), env=env)
    assert learned.returncode == 0, learned.stderr
    answers = {}
    for stop in ("false", "true", "default"):
        setting = {} if stop == "default" else {"CL__GENERATION__STOP_REPEATS": stop}
        asked = cli(
            "ask", "--engine", "ttt-e2e", QUESTION, "--max-new-tokens", "64", "--json",
            env=env | setting,
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        answers[stop] = json.loads(asked.stdout)["answer"]
    assert answers["default"] == answers["true"]  # the stop is on unless turned off
    assert repeats_itself(answers["false"]), answers["false"]  # the loop is real
    assert not repeats_itself(answers["true"])
    assert answers["true"] == without_repetition(answers["false"])
    assert "lime green" in answers["true"].lower()
