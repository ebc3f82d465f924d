from __future__ import annotations

from dataclasses import dataclass

from continual_learning.config.fields import setting
from continual_learning.core.chunking import check_overlap


@dataclass(frozen=True, kw_only=True)
class JitrlFullConfig:
    """Knowledge store and logit-modulation settings of the JitRL Full engine."""

    # Chunking and retrieval
    chunk_tokens: int = setting(128, minimum=8, maximum=8192, help="tokens per chunk")
    chunk_overlap: int = setting(32, minimum=0, help="tokens shared by consecutive chunks")
    top_k: int = setting(3, minimum=1, maximum=64, help="chunks retrieved per question")
    retrieval_depth: float = setting(
        0.25,
        minimum=0.0,
        maximum=1.0,
        help="relative depth (0 first, 1 last) of the layer whose standardised mean output "
        "embeds chunks and questions",
    )
    # Reward-guided modulation
    modulation: bool = setting(True, help="add advantage / beta to the candidates' logits")
    memory_layer: int = setting(-1, help="decoder layer whose per-token states form the memory")
    candidates: int = setting(8, minimum=2, maximum=256, help="top-k next tokens that get a reward")
    neighbours: int = setting(16, minimum=1, maximum=4096, help="memory states consulted per step")
    temperature: float = setting(
        0.05, minimum=0.001, maximum=10.0, help="softmax temperature over neighbour similarities"
    )
    beta: float = setting(
        0.5, minimum=0.01, maximum=100.0, help="KL strength: logits += advantage / beta"
    )

    def __post_init__(self) -> None:
        check_overlap("jitrl_full", self.chunk_tokens, self.chunk_overlap)
