"""Safe files and names: atomic writes, validated names, JSON that is checked when read.

Everything the workbench persists goes through here so that a crash mid-write never leaves a
half-written file, and a user-supplied name can never point outside its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from continual_learning.errors import StateError, WorkbenchError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def safe_name(name: str, *, what: str = "name") -> str:
    """Return ``name`` if it is a plain file name (letters, digits, ``._-``), else raise.

    Rejecting separators and ``..`` here means ``folder / name`` always stays inside ``folder``.
    """
    if not _NAME.match(name) or ".." in name:
        raise WorkbenchError(
            f"invalid {what} {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The permissions ``open(path, "w")`` would leave: the file's own when it exists, else the
    user's umask applied to 0o666. mkstemp makes its file private (0o600), and a report or
    checkpoint written through it should not become unreadable to the rest of a shared group."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path, *, what: str) -> Any:
    """Read JSON written by the workbench; a missing or corrupt file is a :class:`StateError`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{what} is missing: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{what} is corrupt ({path}): {exc}") from None


def replace_directory(staging: Path, target: Path) -> None:
    """Move a fully written ``staging`` folder to ``target``, replacing any older one.

    The old folder is renamed aside first and removed only after the new one is in place, so at
    every moment either the old or the new state is complete on disk.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    backup = target.with_name(f".{target.name}.old")
    if backup.exists():
        shutil.rmtree(backup)
    if target.exists():
        os.replace(target, backup)
    os.replace(staging, target)
    if backup.exists():
        shutil.rmtree(backup)


def staging_directory(target: Path) -> Path:
    """A fresh empty folder beside ``target`` to write into before :func:`replace_directory`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the final folder should not be
    return staging


def require_folder(path: Path, *, what: str) -> None:
    """Refuse a path that exists but is not a folder, before anything is read or written."""
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                raise StateError(f"{what} {path} cannot be used: {place} is a file, not a folder")
            return
