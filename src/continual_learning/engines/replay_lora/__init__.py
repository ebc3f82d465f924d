"""``replay-lora``: LoRA continual fine-tuning with replay buffers, EWC and automatic rollback."""

from continual_learning.engines.replay_lora.config import ReplayLoraConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "ReplayLoraConfig"]

SPEC = EngineSpec(
    key="replay_lora",
    summary="Replay-LoRA: LoRA fine-tuning with a replay buffer, EWC and automatic rollback",
    kind="weights",
    learns=(
        "a refresh cycle: new examples plus a replay sample, a LoRA trained (EWC optional, "
        "self-study optional), BWT/FWT/KRS on the anchor set, rollback when forgetting passes"
        " a threshold"
    ),
    answers=(
        "for a question in the scope, the LoRA of the cycle most like it folded into the "
        "weights; any other, the untouched backbone"
    ),
    config_cls=ReplayLoraConfig,
    exports_lora=True,
    engine_class_path="continual_learning.engines.replay_lora.engine:ReplayLoraEngine",
    actions_path="continual_learning.engines.replay_lora.actions:ACTIONS",
    command="refresh",
    command_help="keep the model fresh: Replay-LoRA cycles with replay, EWC and rollback",
)
