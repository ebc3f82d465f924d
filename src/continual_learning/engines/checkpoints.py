"""The checkpoint manager: named, verified snapshots of an engine's state.

A checkpoint is one folder, ``<root>/<name>/``, holding ``manifest.json`` (engine, backbone id and
weights fingerprint, engine config, learning history, creation time, and the size and sha256 of
every file) and ``state/``, exactly what ``Engine.save`` writes (safetensors and JSON, never
pickle). Saving writes a staging folder and renames it into place; loading verifies the manifest,
the engine, the backbone and every file's hash before the engine reads anything, so a truncated
or tampered checkpoint is a clear error and never a half-loaded engine.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from continual_learning.core.storage import (
    atomic_write_json,
    read_json,
    replace_directory,
    require_folder,
    safe_name,
    sha256_file,
    staging_directory,
)
from continual_learning.engines.base import Engine
from continual_learning.errors import StateError

MANIFEST = "manifest.json"
STATE = "state"
FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class CheckpointInfo:
    """A checkpoint as ``checkpoints list`` shows it; ``problem`` is set when it is unreadable."""

    name: str
    engine: str = ""
    backbone: str = ""
    created: str = ""
    documents: int = 0
    total_bytes: int = 0
    problem: str = ""


class CheckpointManager:
    """Save, load, list and delete checkpoints under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / safe_name(name, what="checkpoint name")

    def exists(self, name: str) -> bool:
        return (self.path(name) / MANIFEST).is_file()

    def save(self, engine: Engine, name: str, *, overwrite: bool = False) -> CheckpointInfo:
        target = self.path(name)
        require_folder(self.root, what="checkpoints folder")
        if target.exists() and not overwrite:
            raise StateError(
                f"checkpoint '{name}' already exists (delete it or choose another name)"
            )
        staging = staging_directory(target)
        try:
            engine.save(staging / STATE)
            files: dict[str, dict[str, Any]] = {
                str(p.relative_to(staging)): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
                for p in sorted((staging / STATE).rglob("*"))
                if p.is_file()
            }
            manifest = {
                "format": FORMAT,
                "name": name,
                "engine": engine.key,
                "backbone": engine.backbone.name,
                "backbone_fingerprint": engine.backbone.fingerprint(),
                "config": dataclasses.asdict(engine.config),
                "history": [r.to_dict() for r in engine.history],
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": files,
                "total_bytes": sum(f["bytes"] for f in files.values()),
            }
            atomic_write_json(staging / MANIFEST, manifest)
            replace_directory(staging, target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise StateError(
                f"cannot write checkpoint '{name}' in {self.root}: {exc.strerror or exc}"
            ) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self._info(name, manifest)

    def manifest(self, name: str) -> dict[str, Any]:
        folder = self.path(name)
        if not folder.is_dir():
            raise StateError(f"no checkpoint named '{name}' in {self.root}")
        data = read_json(folder / MANIFEST, what=f"manifest of checkpoint '{name}'")
        if not isinstance(data, dict) or data.get("format") != FORMAT or "files" not in data:
            raise StateError(f"checkpoint '{name}' has an unknown or malformed manifest")
        return data

    def engine_of(self, name: str) -> str:
        return str(self.manifest(name).get("engine", ""))

    def load(self, engine: Engine, name: str) -> None:
        """Verify checkpoint ``name`` completely, then restore it into ``engine``."""
        manifest = self.manifest(name)
        if manifest.get("engine") != engine.key:
            held = str(manifest.get("engine", "?")).replace("_", "-")
            raise StateError(
                f"checkpoint '{name}' holds engine {held}, not {engine.key.replace('_', '-')}"
            )
        if manifest.get("backbone_fingerprint") != engine.backbone.fingerprint():
            raise StateError(
                f"checkpoint '{name}' was made for backbone '{manifest.get('backbone')}', "
                f"not the loaded '{engine.backbone.name}'"
            )
        self._verify_files(name, manifest)
        engine.load(self.path(name) / STATE)

    def _verify_files(self, name: str, manifest: dict[str, Any]) -> None:
        folder = self.path(name)
        for relative, expected in manifest["files"].items():
            path = (folder / relative).resolve()
            if folder.resolve() not in path.parents:
                raise StateError(f"checkpoint '{name}' lists a file outside its folder: {relative}")
            if not path.is_file():
                raise StateError(f"checkpoint '{name}' is incomplete: {relative} is missing")
            if path.stat().st_size != expected.get("bytes") or sha256_file(path) != expected.get(
                "sha256"
            ):
                raise StateError(
                    f"checkpoint '{name}' is corrupt: {relative} does not match its hash"
                )

    def list(self) -> list[CheckpointInfo]:
        if not self.root.is_dir():
            return []
        infos = []
        for folder in sorted(
            p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            try:
                infos.append(self._info(folder.name, self.manifest(folder.name)))
            except Exception as exc:  # one unreadable checkpoint must not hide the others
                infos.append(CheckpointInfo(name=folder.name, problem=str(exc)))
        return infos

    def delete(self, name: str) -> None:
        folder = self.path(name)
        if not folder.is_dir():
            raise StateError(f"no checkpoint named '{name}' in {self.root}")
        shutil.rmtree(folder)

    @staticmethod
    def _info(name: str, manifest: dict[str, Any]) -> CheckpointInfo:
        return CheckpointInfo(
            name=name,
            engine=str(manifest.get("engine", "")).replace("_", "-"),
            backbone=str(manifest.get("backbone", "")),
            created=str(manifest.get("created", "")),
            documents=len(manifest.get("history", [])),
            total_bytes=int(manifest.get("total_bytes", 0)),
        )
