"""continual-learning: a workbench for measuring how small language models learn and forget.

The public Python API is :class:`Workbench` (config, backbone, engines and their saved state),
:class:`RefreshWheel` (Replay-LoRA's refresh cycles on a workspace),
the engine registry (:func:`engine_names`, :func:`create_engine`) and the typed results in
:mod:`continual_learning.types`. Importing this package does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = [
    "RefreshWheel",
    "Workbench",
    "__version__",
    "create_engine",
    "engine_names",
    "load_config",
]

if TYPE_CHECKING:
    from continual_learning.config.loader import load_config
    from continual_learning.engines.registry import create_engine, engine_names
    from continual_learning.engines.replay_lora.wheel import RefreshWheel
    from continual_learning.workbench import Workbench


def __getattr__(name: str) -> object:
    # Lazy so that `continual-learning --help` and config reading stay fast.
    if name == "Workbench":
        from continual_learning.workbench import Workbench

        return Workbench
    if name in ("create_engine", "engine_names"):
        from continual_learning.engines import registry

        return getattr(registry, name)
    if name == "RefreshWheel":
        from continual_learning.engines.replay_lora.wheel import RefreshWheel

        return RefreshWheel
    if name == "load_config":
        from continual_learning.config.loader import load_config

        return load_config
    raise AttributeError(name)
