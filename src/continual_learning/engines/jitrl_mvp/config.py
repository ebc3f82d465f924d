from __future__ import annotations

from dataclasses import dataclass

from continual_learning.config.fields import setting
from continual_learning.core.chunking import check_overlap


@dataclass(frozen=True, kw_only=True)
class JitrlMvpConfig:
    """Chunking, retrieval and logit-bias settings of the JitRL MVP engine."""

    chunk_tokens: int = setting(128, minimum=8, maximum=8192, help="tokens per chunk")
    chunk_overlap: int = setting(32, minimum=0, help="tokens shared by consecutive chunks")
    top_k: int = setting(3, minimum=1, maximum=64, help="chunks retrieved per question")
    bias_strength: float = setting(
        1.0, minimum=0.0, maximum=20.0, help="logit added to the top-weighted token; 0 turns it off"
    )
    bias_words: int = setting(
        32, minimum=1, maximum=4096, help="how many of the highest TF-IDF words get a bias"
    )

    def __post_init__(self) -> None:
        check_overlap("jitrl_mvp", self.chunk_tokens, self.chunk_overlap)
