"""Engine names -> engine classes. The menu, the CLI and the harness know only this module.

Each engine package defines its ``SPEC`` (``engines/spec.py``); :data:`_PACKAGES` lists every
engine explicitly (no folder scanning), so the set of engines is readable here. Engine classes
are imported on first use, so that reading the config never imports torch.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from continual_learning.engines import (
    ace,
    closed_book,
    doc2lora,
    in_context,
    jitrl_full,
    jitrl_mvp,
    oracle_context,
    replay_lora,
    ttt_e2e,
)
from continual_learning.engines.spec import EngineSpec
from continual_learning.errors import EngineError

if TYPE_CHECKING:
    from continual_learning.config.schema import AppConfig
    from continual_learning.core.backbone import Backbone
    from continual_learning.engines.base import Engine

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


# Every engine, explicitly, in the order menus and tables list them: the floor and the ceilings,
# then the methods as the project's mission numbers them.
_PACKAGES = (
    closed_book,
    in_context,
    oracle_context,
    ttt_e2e,
    jitrl_mvp,
    jitrl_full,
    ace,
    doc2lora,
    replay_lora,
)


def _registry(specs: list[EngineSpec]) -> dict[str, EngineSpec]:
    for spec in specs:
        if not _KEY.match(spec.key):
            raise ValueError(f"engine key {spec.key!r} must be snake_case")
    if len({spec.key for spec in specs}) != len(specs):
        raise ValueError("an engine key is listed twice")
    return {spec.key: spec for spec in specs}


_REGISTRY = _registry([package.SPEC for package in _PACKAGES])


def engine_specs() -> list[EngineSpec]:
    return list(_REGISTRY.values())


def engine_names() -> list[str]:
    return [spec.display_name for spec in _REGISTRY.values()]


def get_spec(name: str) -> EngineSpec:
    """Look an engine up by key or display name (``in-context`` and ``in_context`` both work)."""
    key = name.strip().lower().replace("-", "_")
    if key not in _REGISTRY:
        raise EngineError(f"unknown engine '{name}' (available: {', '.join(engine_names())})")
    return _REGISTRY[key]


def create_engine(name: str, backbone: Backbone, config: AppConfig) -> Engine:
    spec = get_spec(name)
    engine_cls = spec.load_class()
    return engine_cls(backbone, config.engine(spec.key), generation=config.generation)
