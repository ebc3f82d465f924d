"""``ace``: Generate-Reflect-Curate loops evolve a playbook of bullets; no weights change."""

from continual_learning.engines.ace.config import AceConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "AceConfig"]

SPEC = EngineSpec(
    key="ace",
    summary="ACE: Generate-Reflect-Curate loops evolve a playbook (no weight changes)",
    config_cls=AceConfig,
    engine_class_path="continual_learning.engines.ace.engine:AceEngine",
    actions_path="continual_learning.engines.ace.actions:menu_actions",
)
