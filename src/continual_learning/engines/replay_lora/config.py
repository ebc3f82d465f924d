from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from continual_learning.config.fields import setting
from continual_learning.config.self_study import ScopedLearningSettings
from continual_learning.core.chunking import check_overlap
from continual_learning.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class ReplayLoraConfig(ScopedLearningSettings):
    """The LoRA adapter, its training, the replay buffer, EWC and the rollback guard."""

    # The LoRA adapter (peft)
    rank: int = setting(16, minimum=1, maximum=1024, help="LoRA rank r")
    lora_alpha: float = setting(32.0, minimum=0.01, help="LoRA scaling numerator (alpha / r)")
    lora_dropout: float = setting(0.0, minimum=0.0, maximum=0.9, help="dropout on the LoRA input")
    target_modules: tuple[str, ...] = setting(
        ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
        help="names of the linear layers that get a LoRA adapter",
    )
    # Training, per refresh cycle
    learning_rate: float = setting(3e-3, minimum=1e-7, maximum=1.0, help="AdamW peak step size")
    epochs: int = setting(8, minimum=1, maximum=1000, help="passes over new data plus replay")
    batch_size: int = setting(1, minimum=1, maximum=1024, help="examples per forward pass")
    gradient_accumulation: int = setting(1, minimum=1, maximum=1024, help="batches per step")
    warmup_ratio: float = setting(
        0.1, minimum=0.0, maximum=1.0, help="share of steps with a linear warmup, then linear decay"
    )
    chunk_tokens: int = setting(256, minimum=16, maximum=8192, help="tokens per training example")
    chunk_overlap: int = setting(32, minimum=0, help="tokens shared by consecutive chunks")
    seed: int = setting(0, minimum=0, help="adapter initialisation, shuffling and sampling")
    # Replay
    buffer: Literal["reservoir", "prioritized", "diverse"] = setting(
        "reservoir", help="reservoir | prioritized | diverse"
    )
    buffer_size: int = setting(1000, minimum=1, maximum=10_000_000, help="examples kept at most")
    min_replay_ratio: float = setting(
        0.5, minimum=0.0, maximum=0.95, help="replayed share of each cycle's training set, at least"
    )
    diverse_buckets: int = setting(64, minimum=1, maximum=65_536, help="hash buckets (diverse)")
    # measured: docs/results.md#keeping-each-document-apart
    adapters: Literal["shared", "per_cycle"] = setting(
        "per_cycle",
        help="per_cycle: each cycle trains a new adapter on its own examples, kept apart, and a "
        "prompt gets the adapter of the cycle that learned the passage most like it "
        "(core/scope.py) | shared: every cycle trains the domain's one adapter, with replay",
    )
    # Elastic Weight Consolidation (online)
    ewc: bool = setting(False, help="penalise moving the LoRA weights that mattered before")
    ewc_lambda: float = setting(100.0, minimum=0.0, help="strength of the EWC penalty")
    ewc_decay: float = setting(
        0.9, minimum=0.0, maximum=1.0, help="online EWC: old Fisher is multiplied by this"
    )
    fisher_samples: int = setting(32, minimum=1, maximum=100_000, help="examples per Fisher pass")
    # Forgetting guard: measured on the anchor set
    anchor_corpus: str = setting(
        "builtin",
        help="anchor texts until 'refresh anchor' sets some: builtin | .txt | SQuAD .json",
    )
    anchor_samples: int = setting(16, minimum=1, maximum=100_000, help="anchor paragraphs used")
    auto_rollback: bool = setting(True, help="undo a cycle whose BWT is below rollback_bwt")
    rollback_bwt: float = setting(
        -50.0, help="BWT (anchor perplexity before - after) below which a cycle is undone"
    )
    krs_lambda: float = setting(0.05, minimum=0.0, help="lambda of KRS = 100 exp(-lambda sum|BWT|)")
    guard_share: float = setting(  # measured: docs/results.md#self-study
        0.5,
        minimum=0.0,
        maximum=0.9,
        help="share of every update that is general text held to the frozen model (paragraphs "
        "after the anchor's, so BWT stays fair)",
    )

    def __post_init__(self) -> None:
        check_overlap("replay_lora", self.chunk_tokens, self.chunk_overlap)
        if not self.target_modules:
            raise ConfigError("config key 'replay_lora.target_modules': name at least one module")
        if self.ewc and self.adapters == "per_cycle":
            raise ConfigError(
                "config key 'replay_lora.ewc' holds nothing with 'adapters: per_cycle': every "
                "cycle starts a new adapter (set ewc: false or adapters: shared)"
            )
