"""What an engine adds to the menu beyond learn / ask / clear: its own actions, declared by it.

An engine package names a function ``menu_actions(session) -> list[EngineAction]`` in its
registry spec (``EngineSpec.actions_path``); the menu shows those items while that engine is
active, asks for each action's inputs, runs it with a progress callback and renders what it
returns: a message, a table, files, a forgetting curve to draw. So the menu knows the session,
the registry and these types, never an engine's internals, and an engine knows no screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from continual_learning.types import ProgressCallback


@dataclass(frozen=True, kw_only=True)
class ActionInput:
    """One value an action asks for: free text, a path, or one of ``choices``."""

    name: str
    prompt: str
    kind: Literal["text", "path", "choice"] = "text"
    choices: tuple[str, ...] = ()
    default: str = ""


@dataclass(frozen=True, kw_only=True)
class ActionOutcome:
    """What an action reports: a message, a table (``columns`` and ``rows``), files written."""

    message: str = ""
    title: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    files: tuple[Path, ...] = ()
    """Files the action wrote, listed by the face."""
    warning: str = ""
    """Shown highlighted, e.g. a refresh cycle that was rolled back."""
    curve: tuple[Any, ...] = ()
    """Refresh-cycle records (``CycleRecord``) whose forgetting curve the face draws to
    ``curve_path``."""
    curve_path: Path | None = None


@dataclass(frozen=True, kw_only=True)
class EngineAction:
    label: str
    run: Callable[[Mapping[str, str], ProgressCallback | None], ActionOutcome]
    """``run(answers, on_event)``: the inputs by name, and where to report progress."""
    inputs: tuple[ActionInput, ...] = field(default_factory=tuple)
