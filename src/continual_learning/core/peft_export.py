"""A learned LoRA as a standard peft adapter folder, for the tools outside the workbench.

``adapter_config.json`` (peft's ``LoraConfig``: ``base_model_name_or_path``, ``r``,
``lora_alpha``, ``target_modules``), ``adapter_model.safetensors`` (peft's parameter names,
``base_model.model.<module>.lora_A.weight``) and a model card ``README.md`` saying what was
learned and how it measured. ``PeftModel.from_pretrained(base, DIR)`` loads it, and so does
vLLM's ``--lora-modules``. The folder is written beside its target and renamed into place, so a
killed export leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from continual_learning.core.lora import LoraWeights, lora_config
from continual_learning.core.storage import atomic_write_text, replace_directory, staging_directory
from continual_learning.errors import WorkbenchError

PEFT_PREFIX = "base_model.model."


@dataclass(frozen=True, kw_only=True)
class LoraAdapter:
    """What an engine that holds a LoRA hands to :func:`export_peft`."""

    weights: LoraWeights
    rank: int
    alpha: float
    target_modules: tuple[str, ...]
    card: tuple[str, ...] = ()
    """Lines for the model card: what was learned, and the figures measured."""


def export_peft(
    adapter: LoraAdapter, directory: Path, *, base_model: str, engine: str, learned: Sequence[str]
) -> Path:
    """Write ``adapter`` as a peft folder at ``directory`` (which must not hold anything yet)."""
    from safetensors.torch import save_file

    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise WorkbenchError(f"{directory} already exists and is not an empty folder")
    config = lora_config(adapter.rank, adapter.alpha, 0.0, adapter.target_modules)
    config.base_model_name_or_path = base_model
    config.task_type = "CAUSAL_LM"
    config.inference_mode = True
    staging = staging_directory(directory)
    config.save_pretrained(str(staging))
    tensors = {
        PEFT_PREFIX + name: tensor.detach().to(torch.float32).contiguous().cpu()
        for name, tensor in adapter.weights.items()
    }
    save_file(tensors, str(staging / "adapter_model.safetensors"), metadata={"format": "pt"})
    atomic_write_text(staging / "README.md", _card(adapter, base_model, engine, learned))
    for written in staging.iterdir():  # safetensors and the atomic writes make them private
        written.chmod(0o644)
    if directory.exists():
        directory.rmdir()
    replace_directory(staging, directory)
    return directory


def _card(adapter: LoraAdapter, base_model: str, engine: str, learned: Sequence[str]) -> str:
    documents = "\n".join(f"- {doc_id}" for doc_id in learned) or "- (nothing yet)"
    figures = "\n".join(f"- {line}" for line in adapter.card) or "- (none recorded)"
    return f"""---
library_name: peft
base_model: {base_model}
tags: [lora, continual-learning, {engine}]
---

# A {engine} adapter from the continual-learning workbench

LoRA rank {adapter.rank}, alpha {adapter.alpha:g}, on {", ".join(adapter.target_modules)}.

```python
from peft import PeftModel
from transformers import AutoModelForCausalLM

base = AutoModelForCausalLM.from_pretrained("{base_model}")
model = PeftModel.from_pretrained(base, "<this folder>")
```

## Documents learned

{documents}

## Measured while learning

{figures}
"""
