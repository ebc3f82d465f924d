"""``doc2lora``: a trained Perceiver hypernetwork writes each document into LoRA weights."""

from continual_learning.engines.doc2lora.config import Doc2LoraConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "Doc2LoraConfig"]

SPEC = EngineSpec(
    key="doc2lora",
    summary="Doc-to-LoRA: a trained hypernetwork writes each document into LoRA weights",
    config_cls=Doc2LoraConfig,
    engine_class_path="continual_learning.engines.doc2lora.engine:Doc2LoraEngine",
    actions_path="continual_learning.engines.doc2lora.actions:menu_actions",
    exports_lora=True,
    header_path="continual_learning.engines.doc2lora.actions:header_note",
)
