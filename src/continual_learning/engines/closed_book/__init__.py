"""``closed-book``: the backbone alone. It learns nothing: the floor every engine must beat."""

from continual_learning.engines.closed_book.config import ClosedBookConfig
from continual_learning.engines.spec import EngineSpec

__all__ = ["SPEC", "ClosedBookConfig"]

SPEC = EngineSpec(
    key="closed_book",
    summary="Floor: the backbone alone, learns nothing",
    kind="floor",
    learns="nothing",
    answers="the backbone answers alone",
    config_cls=ClosedBookConfig,
    engine_class_path="continual_learning.engines.closed_book.engine:ClosedBookEngine",
)
