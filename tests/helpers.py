"""Test helpers shared by the suite (imported as ``helpers``; see pytest ``pythonpath``)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from continual_learning.config.loader import (
    build_app_config,
    default_config_path,
    merge,
    read_yaml_config,
)
from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone
from continual_learning.core.model_store import is_provisioned
from continual_learning.core.paths import default_models_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SQUAD_DEV = SHARED / "data" / "squad" / "dev-v2.0.json"
DEFAULT_MODEL = "smollm2-135m-instruct"

_TOKENIZER_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Zorblax Quentaro is the capital of Velmoria, founded in 1843 by Ardent Plume.",
    "What is the capital of France? Paris is the capital of France.",
    "Continual learning lets a model absorb new documents without forgetting old ones.",
    "system: user: assistant: Answer the question briefly. Document Question",
]


def squad_article(title: str, context: str, questions: list[tuple[str, str | None]]) -> dict:
    """One SQuAD 2.0 article of one paragraph; a ``None`` answer makes the question unanswerable."""
    qas = [
        {
            "id": f"{title}-{n}",
            "question": question,
            "is_impossible": answer is None,
            "answers": [] if answer is None else [{"text": answer, "answer_start": 0}],
        }
        for n, (question, answer) in enumerate(questions)
    ]
    return {"title": title, "paragraphs": [{"context": context, "qas": qas}]}


def write_squad(path: Path, articles: list[dict]) -> Path:
    """A SQuAD 2.0 file of ``articles``, the layout ``core.squad.load_squad`` reads."""
    path.write_text(json.dumps({"version": "v2.0", "data": articles}), encoding="utf-8")
    return path


def make_config(**sections: dict) -> AppConfig:
    """The tracked defaults with ``sections`` layered on top, validated."""
    defaults = read_yaml_config(default_config_path(), missing_ok=False)
    return build_app_config(merge(defaults, sections))


def _tiny_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_TOKENIZER_CORPUS, trainer=trainer)
    from tokenizers import decoders

    tokenizer.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="</s>",
    )


def build_tiny_backbone(seed: int = 0) -> Backbone:
    """A 2-layer random Llama from a config: milliseconds to build, for plumbing tests."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.requires_grad_(False)
    return Backbone(model=model, tokenizer=tokenizer, name=f"tiny-llama-{seed}")


def real_model_available() -> bool:
    return is_provisioned(DEFAULT_MODEL, default_models_dir())


def require_real_model() -> None:
    if real_model_available():
        return
    message = (
        f"{DEFAULT_MODEL} is not provisioned: run 'continual-learning models fetch {DEFAULT_MODEL}'"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def save_tiny_model(folder: Path) -> Path:
    """The tiny backbone as a Hugging Face folder, so the CLI can load it with ``--model DIR``."""
    backbone = build_tiny_backbone()
    backbone.model.save_pretrained(folder)
    backbone.tokenizer.save_pretrained(folder)
    return folder


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "continual_learning.cli.main", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )


@functools.cache
def plumbing_hypernetwork() -> Path:
    """A FAKE Doc-to-LoRA hypernetwork for the tiny backbone: random weights, never trained.

    Only for plumbing tests (learn / save / load / clear); its card says so, and the engine
    warns that it is untrained. Its ``B`` head is randomised (a fresh one writes zeros) so the
    LoRA it writes really changes the tiny model's outputs.
    """
    import tempfile

    import torch

    from continual_learning.engines.doc2lora.hypernetwork import PerceiverHypernetwork
    from continual_learning.engines.doc2lora.injection import configured_shape
    from continual_learning.engines.doc2lora.weights_file import (
        HypernetworkCard,
        save_hypernetwork,
    )

    settings = make_config().engine("doc2lora")
    backbone = build_tiny_backbone()
    torch.manual_seed(0)
    network = PerceiverHypernetwork(configured_shape(backbone.model, settings))  # type: ignore[arg-type]
    with torch.no_grad():
        for head in network.heads.values():
            head.to_b.weight.normal_(0.0, 0.5)
    path = Path(tempfile.mkdtemp(prefix="plumbing-hypernetwork-")) / "tiny.safetensors"
    card = HypernetworkCard(backbone=backbone.name, data="PLUMBING FAKE: random weights")
    save_hypernetwork(path, network, card)
    return path
