"""``oracle-context``: each benchmark question is asked with only its own document in the prompt.

The in-context ceiling has to *find* the right documents when they do not all fit; this one is
told (the harness knows each question's ``doc_id``), so it measures how well the model reads,
apart from how well anything finds.
"""

from continual_learning.engines.oracle_context.config import OracleContextConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "OracleContextConfig"]

SPEC = EngineSpec(
    key="oracle_context",
    summary="Reading ceiling: each question with only its own document (benchmarks)",
    kind="reading ceiling",
    learns="stores the text by document id",
    answers=(
        "a benchmark question gets only its own document in the prompt (the harness hands "
        "over its doc_id)"
    ),
    config_cls=OracleContextConfig,
    engine_class_path="continual_learning.engines.oracle_context.engine:OracleContextEngine",
)
