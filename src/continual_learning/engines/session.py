"""What an engine's own actions may ask of the session that runs them.

The workbench (``continual_learning/workbench.py``) is one such session; an engine package never
imports it. Its actions (``engines/actions.py``), the refresh wheel and the menu header notes are
written against this protocol, so the layers point one way: faces -> workbench -> engines.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from continual_learning.config.schema import AppConfig
    from continual_learning.engines.base import Engine


class Session(Protocol):
    """Engines by name on one backbone, saved in one workspace, under one configuration."""

    config: AppConfig
    workspace: Path

    def engine(self, name: str, *, restore: bool = True) -> Engine:
        """Engine ``name``, restored from the workspace if it was saved there."""
        ...

    def reload(self, name: str) -> Engine:
        """Engine ``name`` rebuilt from the workspace (what another process saved meanwhile)."""
        ...

    def holding(self, name: str) -> AbstractContextManager[None]:
        """Inside: this process alone may change engine ``name``'s saved state."""
        ...

    def persist(self, engine: Engine) -> Path:
        """Save ``engine`` into the workspace, atomically."""
        ...

    def has_saved_state(self, name: str) -> bool: ...

    def state_dir(self, name: str) -> Path:
        """Where engine ``name``'s state is saved in the workspace."""
        ...

    def reconfigure(self, config: AppConfig) -> None:
        """Use ``config`` from now on."""
        ...
