"""The settings the engines that write weights share (``core/self_study.py``, ``core/scope.py``).

TTT-E2E, Replay-LoRA and Doc-to-LoRA sections inherit :class:`SelfStudySettings`; each keeps its
own default for ``guard_share`` (the measured one). TTT-E2E and Replay-LoRA, which learn a whole
document with the same objectives and scope, inherit :class:`ScopedLearningSettings` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from continual_learning.config.fields import setting


@dataclass(frozen=True, kw_only=True)
class SelfStudySettings:
    study_prompts: int = setting(
        24, minimum=1, maximum=4096, help="self-study prompts per document (or chunk)"
    )
    study_top_k: int = setting(
        32, minimum=1, maximum=4096, help="teacher log-probabilities kept per answer token"
    )
    study_answer_tokens: int = setting(
        48, minimum=4, maximum=1024, help="tokens the teacher may write per study prompt"
    )
    study_batch: int = setting(8, minimum=1, maximum=1024, help="study prompts per update")
    guard_share: float = setting(
        0.0,
        minimum=0.0,
        maximum=0.9,
        help="share of every update that is general text held to the frozen model (KL to base)",
    )
    guard_samples: int = setting(
        16, minimum=1, maximum=10_000, help="general paragraphs the guard cycles through"
    )


@dataclass(frozen=True, kw_only=True)
class ScopedLearningSettings(SelfStudySettings):
    """What the weights are trained on, and which prompts they answer (TTT-E2E, Replay-LoRA)."""

    objective: Literal["nll", "distill", "mixed"] = setting(
        "nll",
        help="nll: next-token loss on the document | distill: KL to the in-context teacher on "
        "self-study prompts | mixed: both",
    )
    scope_threshold: float = setting(  # measured: docs/results.md#scoped-learning
        0.2,
        minimum=0.0,
        maximum=1.0,
        help="what was learned answers only prompts whose TF-IDF cosine to a learned passage "
        "is at least this (core/scope.py); 0: every prompt",
    )
    # Self-generated training data (SEAL's self-edit)
    self_edit: bool = setting(False, help="train also on facts and QA the backbone writes")
    self_edit_tokens: int = setting(
        192, minimum=16, maximum=4096, help="tokens the backbone may write per self-edit"
    )
