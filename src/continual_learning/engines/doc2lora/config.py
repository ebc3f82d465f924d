from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from continual_learning.config.fields import setting
from continual_learning.config.self_study import SelfStudySettings
from continual_learning.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Doc2LoraConfig(SelfStudySettings):
    """The hypernetwork's shape, where its trained weights are, and how documents are read."""

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
    # Refinement: self-study steps from the written LoRA (refine.py)
    refine_steps: int = setting(
        32, minimum=0, maximum=10_000, help="refinement steps per chunk after writing; 0: one pass"
    )
    refine_objective: Literal["nll", "distill", "mixed"] = setting(
        "nll",
        help="nll: next-token loss on the chunk | distill: KL to the in-context teacher on "
        "study prompts | mixed: both",
    )
    refine_from: Literal["hypernetwork", "zero"] = setting(
        "zero",
        help="hypernetwork: refine the written LoRA | zero: start from a zero update",
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
        if not self.target_modules:
            raise ConfigError("config key 'doc2lora.target_modules': name at least one module")
        if self.latent_dim % self.num_heads:
            raise ConfigError(
                f"config key 'doc2lora.latent_dim': {self.latent_dim} is not divisible by "
                f"num_heads ({self.num_heads})"
            )
