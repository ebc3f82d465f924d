"""``export``: a learned LoRA as a peft folder that peft itself loads and answers with.

The CLI on the real model learns and exports (one learned workspace per engine, shared by the
tests that only read it); the folder is then loaded with ``PeftModel.from_pretrained`` on a fresh
copy of the base model, which must give the engine's own answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.core.model_store import model_path
from continual_learning.core.scoring import without_repetition

from helpers import DEFAULT_MODEL, cli

pytestmark = pytest.mark.real_model

FACT = "The Quorvel Bridge in the town of Dask is painted lime green."
QUESTION = "What colour is the Quorvel Bridge?"
FAST = {"CL__REPLAY_LORA__EPOCHS": "2", "CL__REPLAY_LORA__RANK": "4"}
FAST |= {"CL__REPLAY_LORA__GUARD_SHARE": "0"}  # what is exported, not what kept it in place


def _learned_workspace(folder: Path, engine: str, env: dict[str, str]) -> dict[str, str]:
    """``engine`` learns the bridge fact in a workspace of its own; returns that environment."""
    fact = folder / "bridge.txt"
    fact.write_text(FACT)
    env = {"CL_WORKSPACE": str(folder / "ws")} | env
    learned = cli("learn", "--engine", engine, str(fact), env=env)
    assert learned.returncode == 0, learned.stderr
    return env


@pytest.fixture(scope="module")
def replay_lora_workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _learned_workspace(tmp_path_factory.mktemp("replay-lora"), "replay-lora", FAST)


@pytest.fixture(scope="module")
def doc2lora_workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _learned_workspace(tmp_path_factory.mktemp("doc2lora"), "doc2lora", {})


def _peft_answer(directory: Path, question: str, max_new_tokens: int) -> str:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((directory / "adapter_config.json").read_text())
    # It names the hub's model; offline, the user loads the workbench's own copy of it.
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    base_path = model_path(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    base = AutoModelForCausalLM.from_pretrained(base_path, torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(directory)).eval()
    messages = [
        {"role": "system", "content": "You are a helpful assistant. Answer the question briefly, "
         "in a few words."},
        {"role": "user", "content": question},
    ]  # fmt: skip
    encoded = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    ids = encoded["input_ids"]
    with torch.inference_mode():
        output = model.generate(
            ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
            do_sample=False, pad_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
    reply = tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True).strip()
    return without_repetition(reply)


def _engine_answer(engine: str, env: dict[str, str]) -> str:
    asked = cli("ask", "--engine", engine, QUESTION, "--max-new-tokens", "16", "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    return json.loads(asked.stdout)["answer"]


def _exported_config(engine: str, env: dict[str, str], adapter: Path) -> dict:
    """``export`` into ``adapter``; the peft config it wrote."""
    exported = cli("export", "--engine", engine, str(adapter), env=env)
    assert exported.returncode == 0, exported.stderr
    assert {p.name: p.stat().st_mode & 0o777 for p in adapter.iterdir()} == {
        name: 0o644 for name in ("adapter_config.json", "adapter_model.safetensors", "README.md")
    }
    assert adapter.stat().st_mode & 0o777 == 0o755
    return json.loads((adapter / "adapter_config.json").read_text())


def test_a_replay_lora_export_loads_in_peft_and_answers_as_the_engine(
    replay_lora_workspace: dict[str, str], tmp_path: Path
) -> None:
    env = replay_lora_workspace
    engine_answer = _engine_answer("replay-lora", env)
    adapter = tmp_path / "adapter"
    config = _exported_config("replay-lora", env, adapter)
    assert config["r"] == 4 and config["peft_type"] == "LORA"
    assert set(config["target_modules"]) >= {"q_proj", "down_proj"}
    assert (adapter / "adapter_model.safetensors").is_file()
    card = " ".join((adapter / "README.md").read_text().split())
    assert "bridge" in card  # the card names what was learned
    assert "dequantised" in card and "loaded with peft it applies to every prompt" in card
    assert _peft_answer(adapter, QUESTION, 16) == engine_answer


def test_export_refuses_an_engine_without_a_lora(tmp_path: Path) -> None:
    env = {"CL_WORKSPACE": str(tmp_path / "ws")}
    refused = cli("export", "--engine", "ttt-e2e", str(tmp_path / "out"), env=env)
    assert refused.returncode == 2 and "(choose from 'doc2lora', 'replay-lora')" in refused.stderr
    empty = cli("export", "--engine", "doc2lora", str(tmp_path / "out"), env=env)
    assert empty.returncode == 5 and "nothing to export" in empty.stderr  # nothing learned yet
    assert not (tmp_path / "out").exists()


def test_the_registry_knows_which_engines_export() -> None:
    from continual_learning.engines.base import Engine
    from continual_learning.engines.registry import engine_specs

    for spec in engine_specs():
        overrides = spec.load_class().lora_adapter is not Engine.lora_adapter
        assert spec.exports_lora == overrides, spec.key


def test_export_refuses_a_folder_in_use(
    replay_lora_workspace: dict[str, str], tmp_path: Path
) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    taken = cli("export", "--engine", "replay-lora", str(busy), env=replay_lora_workspace)
    assert taken.returncode != 0 and "not an empty folder" in taken.stderr
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]


def test_a_doc2lora_export_loads_in_peft_and_answers_as_the_engine(
    doc2lora_workspace: dict[str, str], tmp_path: Path
) -> None:
    env = doc2lora_workspace
    engine_answer = _engine_answer("doc2lora", env)
    adapter = tmp_path / "adapter"
    config = _exported_config("doc2lora", env, adapter)
    assert config["target_modules"] == ["down_proj"] and config["r"] == 8  # rank 8 x 1 chunk
    card = " ".join((adapter / "README.md").read_text().split())
    assert "each a LoRA trained 32 steps from zero on its chunk" in card  # the default
    assert "applied to every prompt" in card  # the engine's routing is not in the folder
    assert _peft_answer(adapter, QUESTION, 16) == engine_answer
