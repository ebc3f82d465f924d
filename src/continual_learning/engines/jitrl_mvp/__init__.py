"""``jitrl-mvp``: TF-IDF retrieval of chunks, prepended as context, with a logit bias."""

from continual_learning.engines.jitrl_mvp.config import JitrlMvpConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "JitrlMvpConfig"]

SPEC = EngineSpec(
    key="jitrl_mvp",
    summary="JitRL MVP: TF-IDF chunk retrieval, context prepending, logit bias",
    kind="context",
    learns="token chunks indexed with TF-IDF",
    answers="retrieved chunks prepended; a logit bias toward their salient words",
    config_cls=JitrlMvpConfig,
    engine_class_path="continual_learning.engines.jitrl_mvp.engine:JitrlMvpEngine",
)
