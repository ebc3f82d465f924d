"""``jitrl-full``: hidden-state knowledge store and reward-guided logit modulation."""

from continual_learning.engines.jitrl_full.config import JitrlFullConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "JitrlFullConfig"]

SPEC = EngineSpec(
    key="jitrl_full",
    summary="JitRL Full: hidden-state knowledge store, reward-guided logit modulation",
    kind="context",
    learns="standardised hidden states of each chunk stored, with (state, next token) memories",
    answers=(
        "chunks retrieved by cosine similarity; logits modulated by the retrieved memories' "
        "advantage"
    ),
    config_cls=JitrlFullConfig,
    engine_class_path="continual_learning.engines.jitrl_full.engine:JitrlFullEngine",
)
