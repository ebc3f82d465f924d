"""What an engine adds to the menu beyond learn / ask / clear: its own actions, declared by it.

An engine package names a function ``menu_actions(bench) -> list[EngineAction]`` in its registry
spec (``EngineSpec.actions_path``); the menu shows those items while that engine is active, asks
for each action's inputs, runs it and prints what it returns. So the menu knows the workbench,
the registry and these types, never an engine's internals, and an action does exactly what the
engine's CLI command does (the same functions, the same locks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


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
    warning: str = ""
    """Shown highlighted, e.g. a refresh cycle that was rolled back."""


@dataclass(frozen=True, kw_only=True)
class EngineAction:
    label: str
    run: Callable[[Mapping[str, str]], ActionOutcome]
    inputs: tuple[ActionInput, ...] = field(default_factory=tuple)
