"""What a report records about where it was made: library versions and the commit."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

_PACKAGES = ("continual-learning", "torch", "transformers", "peft", "numpy", "scikit-learn")


def run_environment() -> dict[str, str]:
    """``{"commit": ..., "torch": "2.13.0", ...}``; "unknown" for what cannot be read."""
    versions = {name: _version(name) for name in _PACKAGES}
    return {"commit": _commit()} | versions


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _commit() -> str:
    """The checkout's commit, with ``+changes`` when files differ from it."""
    source = Path(__file__).resolve().parent
    try:
        head = _git(source, "rev-parse", "HEAD")
        dirty = _git(source, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "") if head else "unknown"


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else ""
