"""What an engine adds beyond learn / ask / clear: its own actions, declared once, by it.

An engine package lists its actions in a module-level ``ACTIONS`` tuple that its registry spec
names (``EngineSpec.actions_path``). Each declaration serves both faces: the menu shows an item
per action with a ``label`` while that engine is active and asks its inputs' ``prompt``; the
command line gets ``continual-learning <EngineSpec.command> <action.command>`` with an argument
per input. Both run the same ``run(session, answers, on_event)`` and render what it returns (a
message, a table, files, a forgetting curve) the same way (``ui/render.py``), and ``--json``
prints its ``data``. So the faces know the session, the registry and these types, never an
engine's internals, and an engine knows no screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from continual_learning.types import ProgressCallback

if TYPE_CHECKING:
    from continual_learning.engines.session import Session

Answers = Mapping[str, Any]
"""An action's inputs by name: ``str`` (text, path, choice), ``list[str]`` (paths), ``float``
or None (number), ``bool`` (flag); an optional input left out is None."""


@dataclass(frozen=True, kw_only=True)
class ActionInput:
    """One value an action takes."""

    name: str
    help: str
    """The command line's help for the argument."""
    prompt: str = ""
    """What the menu asks; empty: the menu does not ask, and the input is left out."""
    kind: Literal["text", "path", "paths", "choice", "number", "flag"] = "text"
    """``paths``: one or more on the command line, one in the menu. ``number`` and ``flag``
    are ``--options`` on the command line; the others are positional."""
    optional: bool = False
    """Whether the command line may leave it out (a positional with ``nargs="?"``)."""
    as_option: bool = False
    """On the command line a ``--name`` option rather than a positional."""
    must_exist: bool = True
    """For a path: whether it must exist already (an input file), or is written (an output)."""
    choices: Callable[[Session], tuple[str, ...]] | None = None
    """The menu's choices for a ``choice`` input, read from the session when asked."""
    default: Callable[[Session], str] | None = None
    """The menu's pre-filled answer, read from the session when asked."""


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
    data: Any = None
    """What ``--json`` prints (JSON-ready); None: the table's rows as objects."""


@dataclass(frozen=True, kw_only=True)
class EngineAction:
    command: str
    """The command line's verb, e.g. ``add`` in ``continual-learning refresh add``."""
    help: str
    run: Callable[[Session, Answers, ProgressCallback | None], ActionOutcome]
    """``run(session, answers, on_event)``: the inputs by name, and where to report progress."""
    label: str = ""
    """The menu's item; empty: the action is the command line's only (e.g. a scheduler that
    runs until stopped)."""
    inputs: tuple[ActionInput, ...] = ()
