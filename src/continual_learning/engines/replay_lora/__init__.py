"""``replay-lora``: LoRA continual fine-tuning with replay buffers, EWC and automatic rollback."""

from continual_learning.engines.replay_lora.config import ReplayLoraConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "ReplayLoraConfig"]

SPEC = EngineSpec(
    key="replay_lora",
    summary="Replay-LoRA: LoRA fine-tuning with a replay buffer, EWC and automatic rollback",
    config_cls=ReplayLoraConfig,
    exports_lora=True,
    engine_class_path="continual_learning.engines.replay_lora.engine:ReplayLoraEngine",
    actions_path="continual_learning.engines.replay_lora.actions:menu_actions",
)
