"""Engine names -> engine classes. The menu, the CLI and the harness know only this module.

Each engine package calls :func:`register_engine` once in its ``__init__``; the imports at the
bottom list every engine explicitly (no folder scanning), so the set of engines is readable here.
Engine classes are imported on first use, so that reading the config never imports torch.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from continual_learning.errors import EngineError

if TYPE_CHECKING:
    from continual_learning.config.schema import AppConfig
    from continual_learning.core.backbone import Backbone
    from continual_learning.engines.actions import EngineAction
    from continual_learning.engines.base import Engine
    from continual_learning.engines.session import Session

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class EngineSpec:
    """How to build one engine: its key, its config section class and where its class lives."""

    key: str
    summary: str
    config_cls: type
    engine_class_path: str
    """``"package.module:ClassName"``, imported by :meth:`load_class`."""
    actions_path: str = ""
    """``"package.module:function"``: ``function(bench) -> list[EngineAction]``, the engine's
    own menu items (``engines/actions.py``); empty for none."""
    header_path: str = ""
    """``"package.module:function"``: ``function(bench) -> str``, a note for the menu header."""

    @property
    def display_name(self) -> str:
        """The key as users type it: ``in-context`` for ``in_context``."""
        return self.key.replace("_", "-")

    def load_class(self) -> type[Engine]:
        return _load(self.engine_class_path)

    def actions(self, bench: Session) -> list[EngineAction]:
        """The engine's own menu actions, built for ``bench``."""
        return _load(self.actions_path)(bench) if self.actions_path else []

    def header_note(self, bench: Session) -> str:
        return _load(self.header_path)(bench) if self.header_path else ""


def _load(path: str):  # type: ignore[no-untyped-def]
    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)


_REGISTRY: dict[str, EngineSpec] = {}


def register_engine(spec: EngineSpec) -> None:
    if not _KEY.match(spec.key):
        raise ValueError(f"engine key {spec.key!r} must be snake_case")
    if spec.key in _REGISTRY:
        raise ValueError(f"engine key {spec.key!r} is registered twice")
    _REGISTRY[spec.key] = spec


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


# Every engine, explicitly, in the order menus and tables list them: the floor and the ceilings,
# then the methods as the project's mission numbers them. Each import runs that package's
# register_engine(...) call.
# isort: off
from continual_learning.engines import closed_book as _closed_book  # noqa: E402, F401
from continual_learning.engines import in_context as _in_context  # noqa: E402, F401
from continual_learning.engines import oracle_context as _oracle_context  # noqa: E402, F401
from continual_learning.engines import ttt_e2e as _ttt_e2e  # noqa: E402, F401
from continual_learning.engines import jitrl_mvp as _jitrl_mvp  # noqa: E402, F401
from continual_learning.engines import jitrl_full as _jitrl_full  # noqa: E402, F401
from continual_learning.engines import ace as _ace  # noqa: E402, F401
from continual_learning.engines import doc2lora as _doc2lora  # noqa: E402, F401
from continual_learning.engines import replay_lora as _replay_lora  # noqa: E402, F401
# isort: on
