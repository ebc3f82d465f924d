"""The comparison harness: every engine on the same documents and questions, same yardstick.

``compare`` is what ``continual-learning compare``, ``bench squad``, the menu's Compare All
Engines and Run Benchmarks, and the benchmark scripts all call. ``stream`` is the
continual-learning protocol (``bench stream``, ``compare --stream``, the menu's stream
benchmark): episode by episode, the accuracy matrix, ACC/BWT/FWT with intervals over orders.
"""

from continual_learning.harness.inputs import ComparisonInputs, fictional_fact_inputs, squad_inputs
from continual_learning.harness.runner import BASELINES, EngineRun, compare
from continual_learning.harness.stream import split_episodes, stream

__all__ = [
    "BASELINES",
    "ComparisonInputs",
    "EngineRun",
    "compare",
    "fictional_fact_inputs",
    "split_episodes",
    "squad_inputs",
    "stream",
]
