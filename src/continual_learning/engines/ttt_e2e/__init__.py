"""``ttt-e2e``: DualMLP test-time training in the last decoder layers, TF-IDF-gated."""

from continual_learning.engines.spec import EngineSpec
from continual_learning.engines.ttt_e2e.config import TttE2eConfig

__all__ = ["SPEC", "TttE2eConfig"]

SPEC = EngineSpec(
    key="ttt_e2e",
    summary="TTT-E2E: DualMLP test-time training in the last layers, TF-IDF-gated updates",
    config_cls=TttE2eConfig,
    engine_class_path="continual_learning.engines.ttt_e2e.engine:TttE2eEngine",
)
