"""Shared fixtures.

Two backbones: ``tiny_backbone``, a random-weight Llama built from a config with a small BPE
tokenizer trained here (plumbing only: it cannot learn or answer anything), and ``real_backbone``,
the provisioned SmolLM2-135M-Instruct, loaded once per session, for anything about generation or
learning. Real-model tests skip with a message when the model is not provisioned, except under
CI, where ``install.sh`` provisions it and its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone

from helpers import SQUAD_DEV, build_tiny_backbone, make_config, require_real_model


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the whole run: what is cached there (the guard's targets, computed
    once per model) is a pure function of its key, so sharing it changes no result, and every
    test process that learns with a weight engine is spared recomputing it."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cache: Path
) -> None:
    """No test reads or writes the developer's own config, workspace or cache."""
    for variable in list(os.environ):
        if variable.startswith("CL__") or variable == "CL_PROFILE":
            monkeypatch.delenv(variable)
    monkeypatch.setenv("CL_CONFIG", str(tmp_path / "user-config.yaml"))
    monkeypatch.setenv("CL_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("CL_CACHE_DIR", str(shared_cache))
    monkeypatch.setenv("CL__ACE__PLAYBOOK_DIR", str(tmp_path / "playbooks"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture
def app_config() -> AppConfig:
    return make_config()


@pytest.fixture
def tiny_backbone() -> Backbone:
    return build_tiny_backbone()


@pytest.fixture(scope="session")
def real_backbone() -> Backbone:
    require_real_model()
    from continual_learning.config.schema import ModelConfig
    from continual_learning.core.backbone import load_backbone

    from helpers import DEFAULT_MODEL

    return load_backbone(ModelConfig(name=DEFAULT_MODEL, device="cpu"))


@pytest.fixture
def squad_dev_path() -> Path:
    if not SQUAD_DEV.is_file():
        pytest.skip(
            f"SQuAD dev set not found at {SQUAD_DEV} (it lives in ../shared beside the project)"
        )
    return SQUAD_DEV
