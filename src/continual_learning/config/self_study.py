"""The self-study settings the engines that write weights share (``core/self_study.py``).

TTT-E2E, Replay-LoRA and Doc-to-LoRA sections inherit these; each keeps its own default for
``guard_share`` (the measured one) and its own ``objective`` or ``refine_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass

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
