"""``in-context``: every learned document goes into the prompt, as many as fit. The ceiling."""

from continual_learning.engines.in_context.config import InContextConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "InContextConfig"]

SPEC = EngineSpec(
    key="in_context",
    summary="Ceiling: learned documents are put in the prompt, as many as fit",
    kind="ceiling",
    learns="stores the text",
    answers="the stored documents (the most relevant that fit) go into the prompt",
    config_cls=InContextConfig,
    engine_class_path="continual_learning.engines.in_context.engine:InContextEngine",
)
