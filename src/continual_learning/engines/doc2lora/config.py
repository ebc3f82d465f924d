from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from continual_learning.config.fields import setting
from continual_learning.config.self_study import SelfStudySettings
from continual_learning.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Doc2LoraConfig(SelfStudySettings):
    """Where each chunk's LoRA comes from, its shape, and how documents are read."""

    mode: Literal["doc", "text"] = setting(
        "doc", help="doc: a document becomes a LoRA | text: a task description does (one chunk)"
    )
    hypernetwork: str = setting(
        "",
        help="trained hypernetwork (.safetensors); empty: the one shipped for the backbone",
    )
    chunk_tokens: int = setting(
        1024, minimum=16, maximum=32_768, help="tokens per chunk read in one pass (doc mode)"
    )
    max_chunks: int = setting(
        64, minimum=1, maximum=4096, help="chunks kept at most; the oldest are dropped past it"
    )
    composition: Literal["routed", "mean", "sum"] = setting(
        "routed",
        help="routed: each prompt gets the LoRA of the chunk most like it, alone | mean: every "
        "chunk's update averaged (scaling 1/chunks) | sum: added as they are",
    )
    scope_threshold: float = setting(
        0.2,
        minimum=0.0,
        maximum=1.0,
        help="routed: a prompt whose TF-IDF similarity to every chunk is below this gets no "
        "LoRA (core/scope.py); 0: always the nearest chunk",
    )
    lora_source: Literal["training", "hypernetwork"] = setting(
        "training",
        help="training: each chunk's LoRA trained from a zero update for refine_steps steps "
        "(no hypernetwork needed) | hypernetwork: the trained hypernetwork writes it in one "
        "pass (the Doc-to-LoRA paper), then refine_steps steps refine it",
    )
    # Gradient steps on each chunk's LoRA (refine.py)
    refine_steps: int = setting(
        32,
        minimum=0,
        maximum=10_000,
        help="gradient steps per chunk: training steps (training) or refinement steps after "
        "the hypernetwork writes (hypernetwork; 0: its one pass alone)",
    )
    refine_objective: Literal["nll", "distill", "mixed"] = setting(
        "nll",
        help="nll: next-token loss on the chunk | distill: KL to the in-context teacher on "
        "study prompts | mixed: both",
    )
    refine_lr: float = setting(1e-3, minimum=1e-7, maximum=1.0, help="Adam step size")
    # The hypernetwork's shape: fixed by the trained weights, checked when they load.
    rank: int = setting(8, minimum=1, maximum=256, help="LoRA rank written per chunk")
    target_modules: tuple[str, ...] = setting(
        ("down_proj",), help="linear layers, in every decoder layer, that get the LoRA"
    )
    latent_dim: int = setting(256, minimum=8, maximum=4096, help="Perceiver latent width")
    num_blocks: int = setting(2, minimum=0, maximum=32, help="self-attention blocks on latents")
    num_heads: int = setting(4, minimum=1, maximum=64, help="attention heads in the Perceiver")

    def __post_init__(self) -> None:
        if self.lora_source == "training" and self.refine_steps == 0:
            raise ConfigError(
                "config key 'doc2lora.refine_steps': lora_source 'training' trains each LoRA "
                "for these steps; 0 would learn nothing (use lora_source: hypernetwork)"
            )
        if not self.target_modules:
            raise ConfigError("config key 'doc2lora.target_modules': name at least one module")
        if self.latent_dim % self.num_heads:
            raise ConfigError(
                f"config key 'doc2lora.latent_dim': {self.latent_dim} is not divisible by "
                f"num_heads ({self.num_heads})"
            )
