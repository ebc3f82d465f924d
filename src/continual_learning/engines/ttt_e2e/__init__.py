"""``ttt-e2e``: DualMLP test-time training in the last decoder layers, TF-IDF-gated."""

from continual_learning.engines.spec import EngineSpec
from continual_learning.engines.ttt_e2e.config import TttE2eConfig

__all__ = ["SPEC", "TttE2eConfig"]

SPEC = EngineSpec(
    key="ttt_e2e",
    summary="TTT-E2E: DualMLP test-time training in the last layers, TF-IDF-gated updates",
    kind="weights",
    learns=(
        "a calibrated TF-IDF gate opens 5% of the neurons per layer in the last quarter; "
        "DualMLP deltas are trained on the document's next-token loss (or by self-study "
        "distillation, objective: distill), one set per document"
    ),
    answers=(
        "for a question TF-IDF-similar to a learned document (the scope), that document's "
        "deltas folded into the MLP weights as extra neurons, the original tensors put back "
        "after; any other question, the untouched backbone"
    ),
    config_cls=TttE2eConfig,
    engine_class_path="continual_learning.engines.ttt_e2e.engine:TttE2eEngine",
)
