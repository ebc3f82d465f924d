"""The comparison harness: every engine on the same documents and questions, same yardstick.

``compare`` is what ``continual-learning compare``, ``bench squad``, the menu's Compare All
Engines and Run Benchmarks, and the benchmark scripts all call.
"""

from continual_learning.harness.inputs import ComparisonInputs, fictional_fact_inputs, squad_inputs
from continual_learning.harness.runner import BASELINES, EngineRun, compare

__all__ = [
    "BASELINES",
    "ComparisonInputs",
    "EngineRun",
    "compare",
    "fictional_fact_inputs",
    "squad_inputs",
]
