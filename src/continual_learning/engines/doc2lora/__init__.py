"""``doc2lora``: each chunk of a document becomes a LoRA, trained or written by a hypernetwork."""

from continual_learning.engines.doc2lora.config import Doc2LoraConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "Doc2LoraConfig"]

SPEC = EngineSpec(
    key="doc2lora",
    summary="Doc-to-LoRA: each document into LoRA weights, trained or hypernetwork-written",
    kind="weights",
    learns=(
        "a LoRA per chunk, trained 32 steps from zero (lora_source: training), or written in "
        "one pass by a trained Perceiver hypernetwork (lora_source: hypernetwork)"
    ),
    answers=(
        "the LoRA of the chunk most TF-IDF-similar to the question, folded into the weights "
        "(composition: routed); none below the scope threshold"
    ),
    config_cls=Doc2LoraConfig,
    engine_class_path="continual_learning.engines.doc2lora.engine:Doc2LoraEngine",
    actions_path="continual_learning.engines.doc2lora.actions:ACTIONS",
    command="doc2lora",
    command_help="Doc-to-LoRA's mode: doc or text",
    exports_lora=True,
    header_path="continual_learning.engines.doc2lora.actions:header_note",
)
