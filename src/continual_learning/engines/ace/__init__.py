"""``ace``: Generate-Reflect-Curate loops evolve a playbook of bullets; no weights change."""

from continual_learning.engines.ace.config import AceConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "AceConfig"]

SPEC = EngineSpec(
    key="ace",
    summary="ACE: Generate-Reflect-Curate loops evolve a playbook (no weight changes)",
    kind="context",
    learns=(
        "the role LLM writes questions; Generate-Reflect-Curate loops edit a playbook of bullets"
    ),
    answers="the playbook and retrieved documents in the Generator's prompt",
    config_cls=AceConfig,
    engine_class_path="continual_learning.engines.ace.engine:AceEngine",
    actions_path="continual_learning.engines.ace.actions:ACTIONS",
    command="playbook",
    command_help="ACE playbooks: list, show, export, import",
)
