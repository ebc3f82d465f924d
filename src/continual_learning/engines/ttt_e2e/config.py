from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from continual_learning.config.fields import setting
from continual_learning.config.self_study import ScopedLearningSettings
from continual_learning.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class TttE2eConfig(ScopedLearningSettings):
    """Where the DualMLPs go, how they learn, how alpha moves and how the TF-IDF gate selects."""

    # Which decoder layers get a DualMLP: [layers_start, layers_end); -1 means "the last quarter".
    layers_start: int = setting(-1, minimum=-1, help="first DualMLP layer; -1: the last quarter")
    layers_end: int = setting(-1, minimum=-1, help="one past the last DualMLP layer; -1: the end")
    # The learning loop
    learning_rate: float = setting(1e-2, minimum=1e-7, maximum=1.0, help="optimizer step size")
    optimizer: Literal["adam", "sgd"] = setting(
        "adam", help="adam | sgd (no weight decay: masked rows must not move)"
    )
    batch_tokens: int = setting(256, minimum=8, maximum=8192, help="tokens per mini-batch")
    epochs: int = setting(4, minimum=1, maximum=100, help="passes over the training text")
    # Alpha: output = alpha * frozen(x) + (1 - alpha) * trainable(x), set once per document.
    alpha_initial: float = setting(0.5, minimum=0.0, maximum=1.0, help="alpha for document 1")
    alpha_decay: float = setting(0.0, minimum=0.0, maximum=1.0, help="alpha drop per document")
    alpha_floor: float = setting(0.3, minimum=0.0, maximum=1.0, help="alpha never goes below")
    # The TF-IDF gate
    gate: bool = setting(True, help="only the document's top TF-IDF neurons receive gradient")
    gate_fraction: float = setting(  # measured: docs/results.md#keeping-each-document-apart
        0.2, minimum=0.0001, maximum=1.0, help="share of each layer's neurons opened per document"
    )
    protect_learned: float = setting(
        0.0,
        minimum=0.0,
        maximum=1.0,
        help="how much the gate avoids neurons earlier documents changed: their score is scaled "
        "by 1 - this (1: reused only when no other is left; 0: ranked like any other)",
    )
    memory: Literal["shared", "routed"] = setting(  # measured: the same section
        "routed",
        help="shared: every document trains one set of neuron deltas, all of it answers | routed: "
        "each document's deltas are kept apart, trained from the frozen model, and a prompt gets "
        "those of the learned document most like it (core/scope.py)",
    )
    active_fraction: float = setting(
        0.1,
        minimum=0.001,
        maximum=1.0,
        help="a neuron is 'present' in a calibration sample when its mean |activation| ranks "
        "in this top share of its layer",
    )
    calibration_corpus: str = setting(
        "builtin", help="builtin | path to a .txt (paragraphs) or SQuAD .json file"
    )
    calibration_samples: int = setting(
        128, minimum=2, maximum=100_000, help="calibration paragraphs used at most"
    )
    guard_share: float = setting(  # measured: docs/results.md#self-study
        0.7,
        minimum=0.0,
        maximum=0.9,
        help="share of every update that is general text held to the frozen model",
    )

    def __post_init__(self) -> None:
        if self.alpha_floor > self.alpha_initial:
            raise ConfigError(
                f"config key 'ttt_e2e.alpha_floor' ({self.alpha_floor}) is above "
                f"'ttt_e2e.alpha_initial' ({self.alpha_initial})"
            )
        if (
            self.layers_end != -1
            and self.layers_start != -1
            and self.layers_end <= self.layers_start
        ):
            raise ConfigError(
                f"config key 'ttt_e2e.layers_end' ({self.layers_end}) must be above "
                f"'ttt_e2e.layers_start' ({self.layers_start})"
            )
