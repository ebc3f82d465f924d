"""Where things live: the project checkout (when running from one) and the user's data folders."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "continual-learning"


def project_root() -> Path | None:
    """The checkout this package runs from (editable install), or None for a plain install."""
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "configs" / "default.yaml").is_file():
        return root
    return None


def user_data_dir() -> Path:
    from platformdirs import user_data_dir as _user_data_dir

    return Path(_user_data_dir(APP_NAME))


def default_models_dir(configured: str = "") -> Path:
    """``model.models_dir``, else ``$CL_MODELS_DIR``, else ``<checkout>/models``, else user data."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("CL_MODELS_DIR"):
        return Path(os.environ["CL_MODELS_DIR"]).expanduser()
    root = project_root()
    return root / "models" if root else user_data_dir() / "models"


def default_workspace() -> Path:
    """``$CL_WORKSPACE``, else the user's data folder: where engine state persists between runs."""
    if os.environ.get("CL_WORKSPACE"):
        return Path(os.environ["CL_WORKSPACE"]).expanduser()
    return user_data_dir() / "workspace"


def default_cache_dir() -> Path:
    """Downloaded datasets (the official SQuAD file when no path is configured) and targets
    computed once per model (the forgetting guard's, ``core/backbone_cache.py``)."""
    if os.environ.get("CL_CACHE_DIR"):
        return Path(os.environ["CL_CACHE_DIR"]).expanduser()
    return user_data_dir() / "cache"


def default_checkpoints_dir() -> Path:
    """``$CL_CHECKPOINTS``, else ``<checkout>/checkpoints``, else the user's data folder."""
    if os.environ.get("CL_CHECKPOINTS"):
        return Path(os.environ["CL_CHECKPOINTS"]).expanduser()
    root = project_root()
    return root / "checkpoints" if root else user_data_dir() / "checkpoints"


def default_playbooks_dir(configured: str = "playbooks") -> Path:
    """``ace.playbook_dir``; a relative one lives in the checkout, else in the user data folder."""
    path = Path(configured or "playbooks").expanduser()
    if path.is_absolute():
        return path
    root = project_root()
    return (root if root else user_data_dir()) / path
