from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from continual_learning.config.fields import setting


@dataclass(frozen=True, kw_only=True)
class InContextConfig:
    """How the in-context baseline fills the prompt."""

    max_prompt_tokens: int = setting(
        0, minimum=0, help="prompt budget in tokens; 0 means the model's context window"
    )
    overflow: Literal["relevance", "recent"] = setting(
        "relevance",
        help="when the documents do not all fit: keep the most relevant to the question "
        "(TF-IDF cosine) or the most recently learned",
    )
