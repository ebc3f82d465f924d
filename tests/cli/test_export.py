"""``export``: a learned LoRA as a peft folder that peft itself loads and answers with.

Real CLI processes on the real model learn and export; the folder is then loaded with
``PeftModel.from_pretrained`` on a fresh copy of the base model, which must give the engine's
own answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.core.scoring import without_repetition

from helpers import run_cli

pytestmark = pytest.mark.real_model

FACT = "The Quorvel Bridge in the town of Dask is painted lime green."
QUESTION = "What colour is the Quorvel Bridge?"
FAST = {"CL__REPLAY_LORA__EPOCHS": "2", "CL__REPLAY_LORA__RANK": "4"}


def _peft_answer(directory: Path, question: str, max_new_tokens: int) -> str:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((directory / "adapter_config.json").read_text())
    base_path = config["base_model_name_or_path"]
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


def test_a_replay_lora_export_loads_in_peft_and_answers_as_the_engine(tmp_path: Path) -> None:
    fact = tmp_path / "bridge.txt"
    fact.write_text(FACT)
    env = {"CL_WORKSPACE": str(tmp_path / "ws")} | FAST
    assert run_cli("learn", "--engine", "replay-lora", str(fact), env=env).returncode == 0
    asked = run_cli(
        "ask", "--engine", "replay-lora", QUESTION, "--max-new-tokens", "16", "--json", env=env
    )
    assert asked.returncode == 0, asked.stderr
    engine_answer = json.loads(asked.stdout)["answer"]
    exported = run_cli("export", "--engine", "replay-lora", str(tmp_path / "adapter"), env=env)
    assert exported.returncode == 0, exported.stderr
    adapter = tmp_path / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["r"] == 4 and config["peft_type"] == "LORA"
    assert set(config["target_modules"]) >= {"q_proj", "down_proj"}
    assert (adapter / "adapter_model.safetensors").is_file()
    assert "bridge" in (adapter / "README.md").read_text()  # the card names what was learned
    assert _peft_answer(adapter, QUESTION, 16) == engine_answer


def test_export_refuses_an_engine_without_a_lora_and_a_folder_in_use(tmp_path: Path) -> None:
    env = {"CL_WORKSPACE": str(tmp_path / "ws")}
    refused = run_cli("export", "--engine", "ttt-e2e", str(tmp_path / "out"), env=env)
    assert refused.returncode == 5 and "nothing to export" in refused.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    fact = tmp_path / "bridge.txt"
    fact.write_text(FACT)
    env |= FAST
    assert run_cli("learn", "--engine", "replay-lora", str(fact), env=env).returncode == 0
    taken = run_cli("export", "--engine", "replay-lora", str(busy), env=env)
    assert taken.returncode != 0 and "not an empty folder" in taken.stderr
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    assert not (tmp_path / "out").exists()


def test_a_doc2lora_export_loads_in_peft_and_answers_as_the_engine(tmp_path: Path) -> None:
    fact = tmp_path / "bridge.txt"
    fact.write_text(FACT)
    env = {"CL_WORKSPACE": str(tmp_path / "ws")}
    assert run_cli("learn", "--engine", "doc2lora", str(fact), env=env).returncode == 0
    asked = run_cli(
        "ask", "--engine", "doc2lora", QUESTION, "--max-new-tokens", "16", "--json", env=env
    )
    assert asked.returncode == 0, asked.stderr
    exported = run_cli("export", "--engine", "doc2lora", str(tmp_path / "adapter"), env=env)
    assert exported.returncode == 0, exported.stderr
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["target_modules"] == ["down_proj"] and config["r"] == 8  # rank 8 x 1 chunk
    assert _peft_answer(tmp_path / "adapter", QUESTION, 16) == json.loads(asked.stdout)["answer"]
