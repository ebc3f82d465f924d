"""Sweeps: a grid of engines x config overrides x seeds x datasets, run as independent jobs on
local worker processes or a Ray cluster, resumable, merged into one report per dataset.

``continual-learning sweep SPEC.yaml`` is the command; :func:`run_sweep` the Python API.
"""

from continual_learning.harness.sweep.executors import Executor, LocalPool, RayExecutor
from continual_learning.harness.sweep.run import SweepResult, run_sweep, sweep_config
from continual_learning.harness.sweep.spec import SweepSpec, parse_spec, read_spec

__all__ = [
    "Executor",
    "LocalPool",
    "RayExecutor",
    "SweepResult",
    "SweepSpec",
    "parse_spec",
    "read_spec",
    "run_sweep",
    "sweep_config",
]
