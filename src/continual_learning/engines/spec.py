"""What the registry knows of an engine: its key, config section, class and extra actions.

Each engine package defines ``SPEC = EngineSpec(...)`` in its ``__init__``; the registry
(``engines/registry.py``) lists the packages. Engine classes and actions are imported on first
use, so that reading the config never imports torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from continual_learning.engines.actions import EngineAction
    from continual_learning.engines.base import Engine
    from continual_learning.engines.session import Session


@dataclass(frozen=True, kw_only=True)
class EngineSpec:
    """How to build one engine: its key, its config section class and where its class lives."""

    key: str
    summary: str
    kind: Literal["floor", "ceiling", "reading ceiling", "weights", "context"]
    """Where what it learns lives: the weights, the prompt (context), or a baseline."""
    learns: str
    """What ``learn(document)`` does, in a sentence (the architecture page's table)."""
    answers: str
    """What ``generate(question)`` does with what was learned."""
    config_cls: type
    engine_class_path: str
    """``"package.module:ClassName"``, imported by :meth:`load_class`."""
    actions_path: str = ""
    """``"package.module:NAME"``: the engine's own actions, a tuple of ``EngineAction``
    (``engines/actions.py``) that the menu and the command line both serve; empty for none."""
    command: str = ""
    """The command line's group for those actions (``continual-learning COMMAND ACTION``)."""
    command_help: str = ""
    header_path: str = ""
    """``"package.module:function"``: ``function(session) -> str``, a note for the menu header."""
    exports_lora: bool = False
    """Whether ``export`` can write what it learned as a peft adapter (its class implements
    ``lora_adapter``; a test keeps the two in step)."""

    @property
    def display_name(self) -> str:
        """The key as users type it: ``in-context`` for ``in_context``."""
        return self.key.replace("_", "-")

    def load_class(self) -> type[Engine]:
        return _load(self.engine_class_path)

    def actions(self) -> tuple[EngineAction, ...]:
        """The engine's own actions (imported on first use)."""
        return tuple(_load(self.actions_path)) if self.actions_path else ()

    def header_note(self, bench: Session) -> str:
        return _load(self.header_path)(bench) if self.header_path else ""


def _load(path: str) -> Any:
    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)
