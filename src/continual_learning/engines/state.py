"""An engine's saved state: the folder every engine shares, written atomically, checked on load.

``meta.json`` (engine, state version, backbone and its weights' fingerprint), ``config.yaml``,
``history.json``, then the engine's own files (safetensors and JSON, never pickle). A state
made by another engine, by a newer workbench or for other weights is refused with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from continual_learning.core.storage import (
    atomic_write_json,
    atomic_write_text,
    read_json,
    replace_directory,
    staging_directory,
)
from continual_learning.errors import StateError
from continual_learning.types import LearnReport

STATE_META = "meta.json"


def state_meta(engine: str, version: int, backbone: str, fingerprint: str) -> dict[str, Any]:
    return {
        "engine": engine,
        "schema_version": version,
        "backbone": backbone,
        "backbone_fingerprint": fingerprint,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_state(
    directory: Path,
    meta: dict[str, Any],
    config: dict[str, Any],
    history: Sequence[LearnReport],
    write_own: Callable[[Path], None],
) -> None:
    """The whole state into ``directory`` at once: built in a staging folder, then swapped in,
    so an error (or a kill) leaves the old state as it was."""
    staging = staging_directory(directory)
    try:
        atomic_write_json(staging / STATE_META, meta)
        atomic_write_text(staging / "config.yaml", yaml.safe_dump(config, sort_keys=True))
        atomic_write_json(staging / "history.json", [r.to_dict() for r in history])
        write_own(staging)
        replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_meta(
    directory: Path, *, engine: str, version: int, backbone: str, fingerprint: str
) -> None:
    """Refuse a state that is not this engine's, at this version, for these weights."""
    meta = read_json(directory / STATE_META, what="engine state metadata")
    if not isinstance(meta, dict):
        raise StateError(f"engine state metadata in {directory} is not a JSON object")
    if meta.get("engine") != engine:
        raise StateError(
            f"state in {directory} belongs to engine '{meta.get('engine')}', not '{engine}'"
        )
    found = meta.get("schema_version")
    if isinstance(found, int) and found > version:
        raise StateError(
            f"state in {directory} was written by a newer workbench (state version "
            f"{found}; this {engine} engine reads version {version}): "
            "upgrade continual-learning, or clear the engine to start afresh"
        )
    if found != version:
        raise StateError(
            f"state in {directory} has schema version {found}; "
            f"this {engine} engine reads version {version}"
        )
    if meta.get("backbone_fingerprint") != fingerprint:
        raise StateError(
            f"state in {directory} was made for backbone '{meta.get('backbone')}' "
            f"(fingerprint {meta.get('backbone_fingerprint')}), not for the loaded "
            f"'{backbone}' ({fingerprint})"
        )


def read_history(directory: Path) -> list[LearnReport]:
    data = read_json(directory / "history.json", what="learning history")
    try:
        return [LearnReport.from_dict(item) for item in data]
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"learning history in {directory} is malformed: {exc}") from None
